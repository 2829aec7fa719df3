"""Optional dependencies: which pip extra installs each SDK a command imports.

`pip install mltrack` holds only what `mltrack-lint` needs (click, libcst), so the pre-commit
hook never installs MLflow. The store side comes with extras; a command used without its extra
fails with one line naming it (exit 2), not an import traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from mltrack.errors import MltrackError

# Top-level module -> the extra of pyproject.toml that installs it.
EXTRA_FOR_MODULE = {
    "mlflow": "mlflow",
    "numpy": "mlflow",
    "pandas": "mlflow",
    "sqlalchemy": "mlflow",
    "wandb": "wandb",
    "torch": "train",
    "psycopg": "postgres",
}


class MissingExtra(MltrackError):
    """A command's optional SDK is not installed: the hint is the pip command that installs it."""


def missing_extra(exc: ModuleNotFoundError) -> MissingExtra | None:
    """The one-line error for an SDK that an extra installs; None for any other missing module
    (a missing mltrack module is a bug, and must stay loud)."""
    module = (exc.name or "").split(".")[0]
    extra = EXTRA_FOR_MODULE.get(module)
    if extra is None:
        return None
    return MissingExtra(f"{module} is not installed", hint=f"pip install 'mltrack[{extra}]'")


@contextlib.contextmanager
def needs_extras(*extras: str) -> Iterator[None]:
    """Within the block, a missing SDK names the extras the COMMAND needs, not the extra that
    happens to hold the first module it imports: `mltrack seed` imports mlflow first, but trains
    with torch, so it needs `[train]` (which holds both), never just `[mlflow]`."""
    try:
        yield
    except ModuleNotFoundError as exc:
        module = (exc.name or "").split(".")[0]
        if module not in EXTRA_FOR_MODULE:
            raise  # a missing mltrack module is a bug: loud
        raise MissingExtra(f"{module} is not installed",
                           hint=f"pip install 'mltrack[{','.join(extras)}]'") from None
