"""The `mltrack` command group. Only the cli package imports click.

Each sub-command lives in its own module and registers itself on `main`; keep vendor SDK
imports (mlflow, wandb, torch) inside the command bodies so `mltrack --help` starts fast.
"""

from __future__ import annotations

import importlib

import click

from mltrack import __version__

# Modules that define sub-commands; each calls `main.add_command(...)` on import.
_COMMAND_MODULES = (
    "lint_cmd",
    "seed_cmd",
    "audit_cmd",
    "report_cmd",
    "rollback_cmd",
    "cleanup_cmd",
    "docs_cmd",
    "snapshot_cmd",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mltrack")
def main() -> None:
    """mltrack: keep ML experiment tracking honest.

    Lint training code for runs that could not be reproduced (`mltrack lint`), seed a reference
    store (`mltrack seed`), and put a live tracking store under pressure (`mltrack audit`,
    `mltrack report`, `pytest --tracking-uri`).
    """


# Every module is imported unguarded: a renamed or broken command module is an ImportError at
# once, not a command that silently disappears. A command's optional SDK (mlflow, wandb, torch)
# is imported in its body, where `handle_errors` names the extra that installs it.
for _name in _COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}")
