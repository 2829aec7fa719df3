"""`mltrack audit`: the scheduled audit that leaves a record.

Exit codes: 0 every check passed (warn/skip allowed), 1 a check failed or could not be evaluated
(the report says which and why), 2 the audit could not run (bad options or configuration,
store unreachable, output directory not writable).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from mltrack.cli import main
from mltrack.cli.common import handle_errors, tracking_uri_option, validate_checks

_MARK = {"pass": "PASS ", "fail": "FAIL ", "warn": "WARN ", "error": "ERROR", "skip": "SKIP "}


@click.command("audit")
@tracking_uri_option
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),  # checked by check_out_dir
              help="Directory for report.json, report.md, report.html, junit.xml (earlier audits are kept in history/).")
@click.option("--checks", default="all", show_default=True,
              help="all, monthly (data-change, long-term-repro, artifact-cleanup), or comma-separated check names/codes.")
@click.option("--config", "config_path", default=None, help="TOML file with the [tool.mltrack] policy.")
@click.option("--load-models", is_flag=True, default=False,
              help="Also load (unpickle) each model, in a child process. This runs code stored in the "
                   "tracking store: only for stores you trust. Default: verify models without running them.")
@click.option("--progress/--no-progress", default=None,
              help="Force the progress bar on or off (default: a bar on a terminal, plain lines in CI).")
@handle_errors
def audit_command(tracking_uri: str, out_dir: Path, checks: str, config_path: str | None,
                  progress: bool | None, load_models: bool = False) -> None:
    """Run the pressure checks against a live store and write the audit report."""
    from mltrack.pressure.assumptions import describe
    from mltrack.pressure.policy import load_policy
    from mltrack.report.audit import exit_code
    from mltrack.report.progress import ProgressPrinter
    from mltrack.report.trend import describe_number, ordered_numbers
    from mltrack.report.writer import check_out_dir
    from mltrack.service import run_audit
    from mltrack.textsafe import for_terminal

    policy = load_policy(config_path)
    if load_models:
        policy = dataclasses.replace(policy, load_models=True)
    validate_checks(checks)  # before any store is touched
    check_out_dir(out_dir)  # an unwritable --out fails now, not after the whole audit ran
    printer = ProgressPrinter(interactive=progress)
    try:
        report = run_audit(tracking_uri, out_dir, checks=checks, policy=policy, progress=printer)
    finally:
        printer.finish()
    if report.get("assumptions"):  # zero configuration: what the verdicts rest on, and how to change it
        click.echo("Assumed (no policy key set; inferred from the store):")
        for item in report["assumptions"]:
            click.echo(for_terminal(f"  {describe(item)}"))
    for result in report["results"]:
        click.echo(for_terminal(f"{_MARK.get(result['status'], result['status'])} {result['code']} "
                                f"{result['name']:<17} {result['message']}"))  # store text: no raw escapes
    summary = report["summary"]
    click.echo(f"{summary['pass']} passed, {summary['fail']} failed, {summary['warn']} warned, "
               f"{summary['error']} errors, {summary['skip']} skipped in {report['duration_s']:.1f} s")
    trend = report.get("trend")
    if trend:
        click.echo(f"Since {trend['previous_created_at']}: newly failing "
                   f"{', '.join(trend['newly_failing']) or 'none'}; fixed {', '.join(trend['fixed']) or 'none'}")
        for key, change in ordered_numbers(trend["numbers"]):
            if change.get("delta"):
                click.echo(f"  {describe_number(key, change)}")
    click.echo(f"Report: {for_terminal(out_dir / 'report.html')} (also report.md, junit.xml, report.json)")
    raise SystemExit(exit_code(report))


main.add_command(audit_command)
