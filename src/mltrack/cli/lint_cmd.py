"""`mltrack-lint [PATHS]`, the same command as `mltrack lint`.

Exit codes: 0 clean (warnings allowed), 1 findings, 2 usage/config error or a file the linter
crashed on. This module stays light: the engine (and libcst) load only when the command runs, and
nothing here imports mlflow, pandas, torch or wandb.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Sequence

import click

from mltrack.cli import main as mltrack_group
from mltrack.cli.common import handle_errors
from mltrack.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE

_FORMATS = ("text", "json", "sarif", "github")


def _split(values: Sequence[str]) -> list[str]:
    return [part for value in values for part in value.replace(",", " ").split()]


def crashed(run) -> bool:
    """Did the linter crash on any file (an `internal-error` finding)?"""
    from mltrack.lint.builtin_codes import INTERNAL_ERROR

    return any(f.code == INTERNAL_ERROR.code for f in run.findings)


def exit_code_for(run, *, exit_zero: bool) -> int:
    """2 when a file crashed the linter; 1 for error findings (0 with --exit-zero); else 0."""
    if crashed(run):
        return EXIT_USAGE
    if not exit_zero and any(f.severity != "warning" for f in run.findings):
        return EXIT_FINDINGS
    return EXIT_OK


def render_diff(run) -> str:
    chunks: list[str] = []
    for result in run.changed:
        chunks.extend(difflib.unified_diff(
            (result.original or "").splitlines(keepends=True),
            (result.fixed or "").splitlines(keepends=True),
            fromfile=f"a/{result.path}", tofile=f"b/{result.path}",
        ))
    text = "".join(chunks)
    return text if not text or text.endswith("\n") else text + "\n"


@click.command(
    "lint",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Exit status: 0 clean (warnings allowed), 1 findings, 2 usage or configuration error "
    "or a file the linter crashed on. Suppress one line with `# noqa: MLT001` (or the rule "
    "name), a whole file with `# mltrack: noqa`. `mltrack explain CODE` documents a rule.",
)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", multiple=True, metavar="RULES",
              help="Only these rules (codes, names or code prefixes; comma-separated). "
              "Replaces `select` from the configuration.")
@click.option("--ignore", multiple=True, metavar="RULES", help="Skip these rules (adds to `ignore`).")
@click.option("--format", "output_format", type=click.Choice(_FORMATS), default="text",
              show_default=True, help="Output format.")
@click.option("--fix", is_flag=True, help="Apply safe fixes to the files.")
@click.option("--diff", is_flag=True, help="Show the fixes as a unified diff; change nothing. "
              "Exit 1 when there is something to fix.")
@click.option("--statistics", is_flag=True, help="Count findings by rule instead of listing them.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: all cores).")
@click.option("--no-cache", is_flag=True, help="Ignore and do not write .mltrack_cache/.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="A pyproject.toml or mltrack TOML file (default: the nearest pyproject.toml).")
@click.option("-o", "--output", "output_file", type=click.Path(dir_okay=False), default=None,
              help="Write the report to this file instead of standard output.")
@handle_errors
def lint_command(paths, select, ignore, output_format, fix, diff, statistics, exit_zero, jobs,
                 no_cache, config_file, output_file):
    """Lint training code (.py and .ipynb) for runs that could not be reproduced or audited."""
    from mltrack.lint.config import load_lint_config
    from mltrack.lint.engine import lint_paths
    from mltrack.lint.formats import render

    config = load_lint_config(config_file).with_overrides(_split(select), _split(ignore))
    run = lint_paths(list(paths) or ["."], config, jobs=jobs, cache=not no_cache,
                     fix=fix and not diff, diff=diff)
    if not run.results:
        where = f" by `exclude` in {config.source}" if config.exclude else ""
        click.echo(f"mltrack-lint: warning: no .py or .ipynb files to lint (excluded{where}?)", err=True)
    if diff:
        text = render_diff(run)
        code = EXIT_USAGE if crashed(run) else (
            EXIT_FINDINGS if run.changed else EXIT_OK)
    else:
        color = (output_format == "text" and output_file is None and sys.stdout.isatty()
                 and "NO_COLOR" not in os.environ)
        text = render(run, output_format, statistics=statistics, color=color)
        code = exit_code_for(run, exit_zero=exit_zero)
    if output_file:
        with open(output_file, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        click.echo(text, nl=False)
    sys.exit(code)


mltrack_group.add_command(lint_command)


def main(argv: Sequence[str] | None = None) -> None:
    """Console script `mltrack-lint`."""
    lint_command.main(args=list(argv) if argv is not None else None, prog_name="mltrack-lint")
