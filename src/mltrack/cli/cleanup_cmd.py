"""`mltrack cleanup`: a dry run by default; `--apply` soft-deletes (restorable), never a protected run.

Exit codes: 0 planned (dry run) or applied; 2 could not run (bad options, store unreachable).
"""

from __future__ import annotations

import json

import click

from mltrack.cli import main
from mltrack.cli.common import handle_errors, tracking_uri_option

_SHOWN_PROTECTED = 25  # the dry run lists this many protected runs, then counts the rest


@click.command("cleanup")
@tracking_uri_option
@click.option("--keep-top", type=click.IntRange(min=0), default=None,
              help="Protect the best N runs by the metric in each experiment (default: policy keep_top, 10).")
@click.option("--older-than", "older_than", type=click.IntRange(min=0), default=None,
              help="Only runs older than DAYS are candidates (default: policy old_run_days, 30).")
@click.option("--apply", "apply_", is_flag=True, help="Soft-delete the candidates (default: dry run).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format.")
@click.option("--config", "config_path", default=None, help="TOML file with the [tool.mltrack] policy.")
@handle_errors
def cleanup_command(tracking_uri: str, keep_top: int | None, older_than: int | None, apply_: bool,
                    fmt: str, config_path: str | None) -> None:
    """List (or with --apply, soft-delete) runs nobody needs; protected runs are never touched."""
    from mltrack.ops.cleanup import apply_cleanup, plan_cleanup, restore_hint
    from mltrack.ops.writable import open_for_write
    from mltrack.pressure.policy import load_policy
    from mltrack.report.trend import human_bytes
    from mltrack.uri import redact

    policy = load_policy(config_path)
    adapter, client = open_for_write(tracking_uri, "cleanup")
    try:
        snapshot = adapter.snapshot()

        def bytes_of(run):
            files = run.artifacts if run.artifacts is not None else adapter.list_artifacts(run.run_id)
            return sum(f.size or 0 for f in files)

        plan = plan_cleanup(
            snapshot, metric=policy.metric, goal=policy.metric_goal,
            keep_top=policy.keep_top if keep_top is None else keep_top,
            older_than_days=policy.old_run_days if older_than is None else older_than,
            bytes_of=bytes_of,
        )
        deleted = apply_cleanup(client, plan) if apply_ else []
    finally:
        adapter.close()
    if fmt == "json":
        click.echo(json.dumps({**plan.to_dict(), "applied": apply_, "deleted": deleted}, indent=2))
        return
    title = "Soft-deleted" if apply_ else "Would delete (dry run)"
    click.echo(f"{title}: {len(plan.candidates)} run(s) on {redact(tracking_uri)}")
    if plan.candidates:
        click.echo(f"  {'run id':<32}  {'name':<28}  {'bytes':>10}  why")
        for item in plan.candidates:
            click.echo(f"  {item.run_id:<32}  {(item.name or '')[:28]:<28}  {human_bytes(item.bytes):>10}  "
                       f"{'; '.join(item.reasons)}")
    click.echo(f"Total reclaimable: {human_bytes(plan.total_bytes)} ({plan.total_bytes} bytes)")
    click.echo(f"Protected: {len(plan.protected)} run(s)")
    for item in plan.protected[:_SHOWN_PROTECTED]:
        click.echo(f"  {item.run_id:<32}  {(item.name or '')[:28]:<28}  {'; '.join(item.reasons)}")
    if len(plan.protected) > _SHOWN_PROTECTED:
        click.echo(f"  ... and {len(plan.protected) - _SHOWN_PROTECTED} more (use --format json for all)")
    if apply_:
        click.echo(f"Deleted {len(deleted)} run(s) (MLflow's deleted lifecycle; artifacts kept).")
        for line in restore_hint(redact(tracking_uri), deleted):
            click.echo(line)
    elif plan.candidates:
        click.echo("Nothing was changed. Run again with --apply to soft-delete these runs (restorable).")


main.add_command(cleanup_command)
