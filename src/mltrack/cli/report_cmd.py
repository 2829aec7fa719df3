"""`mltrack report`: the onboarding health report, one self-contained HTML file.

Exit codes: 0 written (whatever the checks say: the page reports them), 2 could not run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from mltrack.cli import main
from mltrack.cli.common import handle_errors, tracking_uri_option, validate_checks


@click.command("report")
@tracking_uri_option
@click.option("--out", "out_file", required=True, type=click.Path(path_type=Path),  # checked by check_out_file
              help="HTML file to write, e.g. onboarding.html.")
@click.option("--checks", default="all", show_default=True,
              help="Pressure checks whose verdicts the page shows: all, monthly, names, or none.")
@click.option("--config", "config_path", default=None, help="TOML file with the [tool.mltrack] policy.")
@click.option("--load-models", is_flag=True, default=False,
              help="Also load (unpickle) each model, in a child process. This runs code stored in the "
                   "tracking store: only for stores you trust. Default: verify models without running them.")
@handle_errors
def report_command(tracking_uri: str, out_file: Path, checks: str, config_path: str | None,
                   load_models: bool = False) -> None:
    """Write the onboarding report: experiments, leaderboards, plots, production lineage, checks."""
    from mltrack.pressure.policy import load_policy
    from mltrack.report.progress import ProgressPrinter
    from mltrack.report.writer import check_out_file
    from mltrack.service import write_onboarding
    from mltrack.textsafe import for_terminal

    policy = load_policy(config_path)
    validate_checks(checks, allow_none=True)  # before any store is touched
    if load_models:
        policy = dataclasses.replace(policy, load_models=True)
    check_out_file(out_file)  # an unwritable --out fails now, not after the store was read
    printer = ProgressPrinter()
    try:
        stats = write_onboarding(tracking_uri, out_file, policy=policy,
                                 checks=None if checks == "none" else checks, progress=printer)
    finally:
        printer.finish()
    click.echo(f"Wrote {for_terminal(out_file)} ({stats['bytes'] / 1024:.0f} KiB in {stats['seconds']:.1f} s). "
               f"Open it in a browser: file://{for_terminal(out_file.resolve())}")


main.add_command(report_command)
