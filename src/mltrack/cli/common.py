"""Helpers shared by the command modules: error reporting and exit codes."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from mltrack.errors import EXIT_USAGE, MltrackError
from mltrack.uri import redact

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = EXIT_USAGE) -> None:
    """Print one redacted line to stderr and exit (escapes made visible: it may quote store text)."""
    from mltrack.textsafe import for_terminal

    click.echo(f"mltrack: error: {for_terminal(redact(message))}", err=True)
    sys.exit(code)


def handle_errors(func: F) -> F:
    """Turn MltrackError (and unexpected crashes) into one line and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if os.environ.get("MLTRACK_DEBUG"):  # show the DEBUG records, MLflow's own among them
            logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
        try:
            return func(*args, **kwargs)
        except MltrackError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except ModuleNotFoundError as exc:  # an SDK of an extra not installed: name the extra
            from mltrack.extras import missing_extra

            missing = missing_extra(exc)
            fail(str(missing) if missing else f"internal error: {type(exc).__name__}: {exc}", EXIT_USAGE)
        except Exception as exc:  # noqa: BLE001 - last line of defence: no tracebacks for users
            fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_USAGE)

    return wrapper  # type: ignore[return-value]


def validate_checks(checks: str, *, allow_none: bool = False) -> None:
    """`--checks` must name at least one check: an unknown name, or a value naming nothing
    (`--checks ''`, `--checks ,`) that would run no check and pass, is a usage error before any
    store is touched."""
    from mltrack.errors import UsageError
    from mltrack.pressure.registry import select

    if allow_none and checks.strip() == "none":
        return
    if not select(checks):
        raise UsageError(f"--checks {checks!r} names no check",
                         hint="use all, monthly or comma-separated check names"
                         + (", or none" if allow_none else ""))


tracking_uri_option = click.option(
    "--tracking-uri",
    envvar="MLTRACK_TRACKING_URI",
    required=True,
    help="Tracking store: sqlite:///PATH, postgresql://..., http(s)://HOST, "
    "wandb://ENTITY/PROJECT or wandb-offline:PATH. Env: MLTRACK_TRACKING_URI.",
)
