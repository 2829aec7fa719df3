"""`mltrack cleanup`: which runs can go, which must stay and why; soft delete only, journaled.

The plan comes from `mltrack.retention.plan_retention`, the very function the artifact-cleanup
check calls, so the dry run, `--apply` and the audit cannot disagree. `--apply` first writes
every run it will delete to a journal (`mltrack.ops.cleanup_journal`), then deletes in order,
recording each delete; on any failure it stops and says what was deleted, what was not, and
how to restore. MLflow's deleted lifecycle keeps the artifacts until someone runs `mlflow gc`,
which mltrack never does, so "bytes" are what becomes reclaimable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mltrack import conventions
from mltrack.model import ArtifactFile, RunRecord, StoreSnapshot
from mltrack.ops.cleanup_journal import Journal
from mltrack.retention import DAY_MS, RetentionRules, find_output_inference, plan_retention
from mltrack.stores.base import StoreWriter
from mltrack.stores.retry import call_with_retry
from mltrack.uri import redact

__all__ = ["DAY_MS", "CleanupItem", "CleanupPlan", "ApplyOutcome", "plan_cleanup", "apply_cleanup"]


@dataclass(frozen=True)
class CleanupItem:
    run_id: str
    name: str
    experiment: str
    age_days: float | None
    reasons: tuple[str, ...]  # why it goes, or why it is protected
    bytes: int | None = None


@dataclass(frozen=True)
class CleanupPlan:
    candidates: tuple[CleanupItem, ...]
    protected: tuple[CleanupItem, ...]
    keep_top: int
    older_than_days: float
    metric: str

    @property
    def total_bytes(self) -> int:
        return sum(item.bytes or 0 for item in self.candidates)

    def to_dict(self) -> dict[str, Any]:
        def item(i: CleanupItem) -> dict[str, Any]:
            return {"run_id": i.run_id, "name": i.name, "experiment": i.experiment,
                    "age_days": i.age_days, "reasons": list(i.reasons), "bytes": i.bytes}

        return {"keep_top": self.keep_top, "older_than_days": self.older_than_days, "metric": self.metric,
                "total_bytes": self.total_bytes, "candidates": [item(i) for i in self.candidates],
                "protected": [item(i) for i in self.protected]}


def plan_cleanup(
    snapshot: StoreSnapshot,
    *,
    metric: str = conventions.METRIC,
    goal: str = conventions.METRIC_GOAL,
    keep_top: int = 10,
    older_than_days: float = 30,
    bytes_of: Callable[[RunRecord], int | None] | None = None,
    files_of: Callable[[RunRecord], tuple[ArtifactFile, ...] | None] | None = None,
    now_ms: int | None = None,
) -> CleanupPlan:
    """The retention plan, with names, ages and bytes. `files_of` lists a run's artifacts: it
    finds inference runs known only by their predictions file (the check does the same)."""
    rules = RetentionRules(metric, goal, keep_top, older_than_days)
    by_output = find_output_inference(snapshot, rules, files_of, now_ms) if files_of else {}
    plan = plan_retention(snapshot, rules, inference_by_output=by_output, now_ms=now_ms)
    now_ms = snapshot.taken_at if now_ms is None else now_ms
    names = {e.experiment_id: e.name for e in snapshot.experiments}

    def item(run: RunRecord, reasons: tuple[str, ...], size: int | None = None) -> CleanupItem:
        age = None if not run.start_time else round((now_ms - run.start_time) / DAY_MS, 1)
        return CleanupItem(run.run_id, run.name, names.get(run.experiment_id, run.experiment_id), age,
                           reasons, size)

    candidates = [item(r, (why,), bytes_of(r) if bytes_of else _listed_bytes(r))
                  for r, why in plan.iter_candidates()]
    protected = [item(r, reasons) for r, why, reasons in plan.walk() if why is None]
    candidates.sort(key=lambda i: (-(i.bytes or 0), i.run_id))
    protected.sort(key=lambda i: (i.experiment, i.name, i.run_id))
    return CleanupPlan(tuple(candidates), tuple(protected), keep_top, older_than_days, metric)


def _listed_bytes(run: RunRecord) -> int | None:
    return None if run.artifacts is None else sum(a.size or 0 for a in run.artifacts)


@dataclass
class ApplyOutcome:
    deleted: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (run id, why not deleted)
    not_deleted: list[str] = field(default_factory=list)  # planned, never reached
    uncertain: str | None = None  # the delete that failed: the server may have done it
    error: str | None = None  # what stopped the apply


def apply_cleanup(writer: StoreWriter, plan: CleanupPlan, journal: Journal, *,
                  progress: Callable[[int, int, str], None] | None = None) -> ApplyOutcome:
    """Soft-delete the plan's candidates in order, each recorded in the journal before and
    after. Re-read each run first and skip one that became protected since the plan (tagged to
    keep, or no longer active). Stops at the first failure; never raises for a store error.
    Requests fail fast (`writer.fail_fast`); ours are retried, bounded: 3 attempts."""
    outcome = ApplyOutcome()
    items = list(plan.candidates)
    with writer.fail_fast():
        for index, item in enumerate(items, start=1):
            started = False
            try:
                run = call_with_retry(lambda: writer.run(item.run_id))
                if run is None:
                    raise LookupError(f"run {item.run_id} does not exist")
                if run.lifecycle_stage != "active":
                    outcome.skipped.append((item.run_id, f"already {run.lifecycle_stage}"))
                    continue
                if run.tags.get(conventions.TAG_KEEP, "").lower() == "true":
                    outcome.skipped.append((item.run_id, f"tagged {conventions.TAG_KEEP}=true since the plan"))
                    continue
                journal.record("deleting", item.run_id)
                started = True
                call_with_retry(lambda: writer.delete_run(item.run_id))
                journal.record("deleted", item.run_id)
                outcome.deleted.append(item.run_id)
            except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - any failure or Ctrl-C: stop, say where
                # redacted: it goes into the journal file, and MLflow's texts quote the URL
                outcome.error = redact(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
                outcome.not_deleted = [i.run_id for i in items[index - 1:]]
                outcome.uncertain = item.run_id if started else None
                journal.record("stopped", item.run_id, error=outcome.error)
                return outcome
            if progress:
                progress(index, len(items), item.name or item.run_id)
    journal.record("finished", None)
    return outcome
