"""`mltrack cleanup`: a dry run by default; `--apply` soft-deletes (restorable), never a protected
run, after writing a journal; `--restore JOURNAL` undoes an apply.

Exit codes: 0 planned (dry run), applied or restored; 2 could not run (bad options, store
unreachable, unwritable journal), or an apply/restore that stopped part way (what was done and
how to undo it are printed first).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from mltrack.cli import main
from mltrack.cli.common import fail, handle_errors, tracking_uri_option
from mltrack.errors import UsageError
from mltrack.textsafe import for_terminal as safe

_SHOWN_PROTECTED = 25  # the dry run lists this many protected runs, then counts the rest
_SHOWN_IDS = 50  # an interrupted apply lists this many ids per group, then counts the rest


def restore_command(journal: Path) -> str:
    """The one line that undoes an apply; the URI stays in the environment, never printed."""
    return f'mltrack cleanup --restore {shlex.quote(str(journal))} --tracking-uri "$MLTRACK_TRACKING_URI"'


@click.command("cleanup")
@tracking_uri_option
@click.option("--keep-top", type=click.IntRange(min=0), default=None,
              help="Protect the best N runs by the metric in each experiment (default: policy keep_top, 10).")
@click.option("--older-than", "older_than", type=click.IntRange(min=0), default=None,
              help="Only runs older than DAYS are candidates (default: policy old_run_days, 30).")
@click.option("--apply", "apply_", is_flag=True, help="Soft-delete the candidates (default: dry run).")
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --apply: where to write the journal (default ./mltrack-cleanup-<UTC time>.jsonl).")
@click.option("--restore", "restore_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Restore every run an earlier --apply deleted, from its journal (idempotent).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="Output format.")
@click.option("--config", "config_path", default=None, help="TOML file with the [tool.mltrack] policy.")
@handle_errors
def cleanup_command(tracking_uri: str, keep_top: int | None, older_than: int | None, apply_: bool,
                    journal_path: Path | None, restore_path: Path | None, fmt: str,
                    config_path: str | None) -> None:
    """List (or with --apply, soft-delete) runs nobody needs; protected runs are never touched."""
    if restore_path is not None:
        if apply_ or journal_path is not None:
            raise UsageError("--restore cannot be combined with --apply or --journal")
        _restore(tracking_uri, restore_path, fmt)
        return
    if journal_path is not None and not apply_:
        raise UsageError("--journal needs --apply (a dry run deletes nothing, so it writes no journal)")
    from mltrack.ops.cleanup import apply_cleanup, plan_cleanup
    from mltrack.ops.cleanup_journal import Journal, default_journal_path
    from mltrack.ops.writable import open_for_write
    from mltrack.pressure.policy import load_policy
    from mltrack.pressure.runner import resolve_policy
    from mltrack.uri import redact

    policy = load_policy(config_path)
    adapter, writer = open_for_write(tracking_uri, "cleanup")
    outcome, journal = None, None
    try:
        snapshot = adapter.snapshot()
        # The metric and goal the top-N protection ranks by: the policy's, else inferred from the
        # store, as the artifact-cleanup check does (mltrack.pressure.assumptions).
        policy, _ = resolve_policy(snapshot, policy)
        listed: dict[str, tuple] = {}

        def files_of(run):
            if run.run_id not in listed:
                listed[run.run_id] = run.artifacts if run.artifacts is not None else adapter.list_artifacts(run.run_id)
            return listed[run.run_id]

        plan = plan_cleanup(
            snapshot, metric=policy.metric, goal=policy.metric_goal,
            keep_top=policy.keep_top if keep_top is None else keep_top,
            older_than_days=policy.old_run_days if older_than is None else older_than,
            bytes_of=lambda run: sum(f.size or 0 for f in files_of(run)), files_of=files_of,
        )
        if apply_ and plan.candidates:
            def experiment_of(run_id: str) -> str | None:
                run = snapshot.run(run_id)
                return run.experiment_id if run else None

            journal = Journal.create(
                journal_path or default_journal_path(), redact(tracking_uri),
                {"keep_top": plan.keep_top, "older_than_days": plan.older_than_days, "metric": plan.metric},
                ({"run_id": i.run_id, "name": i.name, "experiment": i.experiment,
                  "experiment_id": experiment_of(i.run_id), "why": list(i.reasons)} for i in plan.candidates))
            try:
                outcome = apply_cleanup(writer, plan, journal)
            finally:
                journal.close()
    finally:
        adapter.close()
    deleted = outcome.deleted if outcome else []
    if fmt == "json":
        click.echo(json.dumps({**plan.to_dict(), "applied": apply_, "deleted": deleted,
                               "journal": str(journal.path) if journal else None,
                               "not_deleted": outcome.not_deleted if outcome else [],
                               "skipped": [list(s) for s in outcome.skipped] if outcome else [],
                               "error": redact(outcome.error) if outcome and outcome.error else None},
                              indent=2))
    else:
        _print_plan(plan, apply_, redact(tracking_uri))
    if outcome is None:
        if apply_ and fmt == "text":
            click.echo("Deleted 0 run(s): nothing to delete, no journal written.")
        return
    assert journal is not None  # an applied cleanup always writes one
    if outcome.error:
        _print_interrupted(outcome, journal.path, err=fmt == "json")
        fail(f"cleanup stopped after {len(outcome.deleted)} of {len(plan.candidates)} deletes: "
             f"{safe(redact(outcome.error))}")
    if fmt == "text":
        click.echo(f"Deleted {len(deleted)} run(s) (MLflow's deleted lifecycle; artifacts kept until `mlflow gc`).")
        for run_id, why in outcome.skipped:
            click.echo(f"  skipped {safe(run_id)}: {safe(why)}")
        click.echo(f"Journal: {safe(journal.path)}")
        click.echo("Restore them all with:")
        click.echo(f"  {safe(restore_command(journal.path))}")


def _print_plan(plan, apply_: bool, uri_redacted: str) -> None:
    from mltrack.report.trend import human_bytes

    title = "Soft-deleting" if apply_ else "Would delete (dry run)"
    click.echo(f"{title}: {len(plan.candidates)} run(s) on {safe(uri_redacted)}")
    if plan.candidates:
        click.echo(f"  {'run id':<32}  {'name':<28}  {'bytes':>10}  why")
        for item in plan.candidates:
            click.echo(f"  {safe(item.run_id):<32}  {safe(item.name or '')[:28]:<28}  {human_bytes(item.bytes):>10}  "
                       f"{safe('; '.join(item.reasons))}")
    click.echo(f"Total reclaimable: {human_bytes(plan.total_bytes)} ({plan.total_bytes} bytes)")
    click.echo(f"Protected: {len(plan.protected)} run(s)")
    for item in plan.protected[:_SHOWN_PROTECTED]:
        click.echo(f"  {safe(item.run_id):<32}  {safe(item.name or '')[:28]:<28}  {safe('; '.join(item.reasons))}")
    if len(plan.protected) > _SHOWN_PROTECTED:
        click.echo(f"  ... and {len(plan.protected) - _SHOWN_PROTECTED} more (use --format json for all)")
    if not apply_ and plan.candidates:
        click.echo("Nothing was changed. Run again with --apply to soft-delete these runs (restorable).")


def _print_interrupted(outcome, journal: Path, *, err: bool) -> None:
    def ids(title: str, run_ids: list[str]) -> None:
        click.echo(f"{title}: {len(run_ids)} run(s)", err=err)
        for run_id in run_ids[:_SHOWN_IDS]:
            click.echo(f"  {safe(run_id)}", err=err)
        if len(run_ids) > _SHOWN_IDS:
            click.echo(f"  ... and {len(run_ids) - _SHOWN_IDS} more (all in the journal)", err=err)

    click.echo("Cleanup stopped part way.", err=err)
    ids("Deleted", outcome.deleted)
    ids("Not deleted", outcome.not_deleted)
    if outcome.uncertain:
        click.echo(f"  ({safe(outcome.uncertain)} may have been deleted: its answer never came)", err=err)
    click.echo(f"Journal: {safe(journal)}", err=err)
    click.echo("Restore what was deleted with:", err=err)
    click.echo(f"  {safe(restore_command(journal))}", err=err)


def _restore(tracking_uri: str, journal: Path, fmt: str) -> None:
    from mltrack.ops.cleanup_journal import read_journal, restore_journal
    from mltrack.ops.writable import open_for_write

    read_journal(journal)  # a bad journal is one line, before touching the store
    adapter, writer = open_for_write(tracking_uri, "cleanup --restore")
    adapter.close()
    outcome = restore_journal(writer, journal)
    if fmt == "json":
        click.echo(json.dumps({"journal": str(journal), "restored": outcome.restored,
                               "already_active": outcome.already_active,
                               "failed": [list(f) for f in outcome.failed]}, indent=2))
    else:
        click.echo(f"Restored {len(outcome.restored)} run(s) from {safe(journal)}"
                   f" ({len(outcome.already_active)} already active).")
        for run_id, why in outcome.failed[:_SHOWN_IDS]:
            click.echo(f"  not restored {safe(run_id)}: {safe(why)}")
    if outcome.failed:
        fail(f"{len(outcome.failed)} run(s) not restored; run the same command again once the store answers")


main.add_command(cleanup_command)
