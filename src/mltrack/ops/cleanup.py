"""`mltrack cleanup`: which runs can go, which must stay and why; soft delete only.

The plan is pure (snapshot in, plan out) so the dry run and `--apply` cannot disagree. A run is
protected for the reasons in `mltrack.retention` (shared with the artifact-cleanup check) or
when it is newer than the threshold. Every other
active run older than the threshold is a candidate. `--apply` uses MLflow's deleted lifecycle
(restorable with `mlflow runs restore`); artifacts stay on disk until someone runs `mlflow gc`,
which mltrack never does, so "bytes" are what becomes reclaimable.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mltrack import conventions
from mltrack.model import RunRecord, StoreSnapshot
from mltrack.retention import protections

DAY_MS = 86_400_000


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
    older_than_days: int
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
    older_than_days: int = 30,
    bytes_of: Callable[[RunRecord], int | None] | None = None,
    now_ms: int | None = None,
) -> CleanupPlan:
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    names = {e.experiment_id: e.name for e in snapshot.experiments}
    active = [r for r in snapshot.runs if r.lifecycle_stage == "active"]
    reasons: dict[str, list[str]] = defaultdict(
        list, protections(snapshot, metric=metric, goal=goal, keep_top=keep_top))
    candidates, protected = [], []
    for run in active:
        age = (now_ms - run.start_time) / DAY_MS if run.start_time else None
        if age is None or age < older_than_days:
            reasons[run.run_id].append(f"newer than {older_than_days} days"
                                       + ("" if age is not None else " (no start time)"))
        experiment = names.get(run.experiment_id, run.experiment_id)
        if reasons[run.run_id]:
            protected.append(CleanupItem(run.run_id, run.name, experiment, _round(age), tuple(reasons[run.run_id])))
            continue
        why = f"older than {older_than_days} days ({age:.0f} d)"
        why += f", not in the top {keep_top} by {metric}" if metric in run.metrics else f", no {metric} logged"
        size = bytes_of(run) if bytes_of else _listed_bytes(run)
        candidates.append(CleanupItem(run.run_id, run.name, experiment, _round(age), (why,), size))
    candidates.sort(key=lambda i: (-(i.bytes or 0), i.run_id))
    protected.sort(key=lambda i: (i.experiment, i.name, i.run_id))
    return CleanupPlan(tuple(candidates), tuple(protected), keep_top, older_than_days, metric)


def _listed_bytes(run: RunRecord) -> int | None:
    return None if run.artifacts is None else sum(a.size or 0 for a in run.artifacts)


def _round(age: float | None) -> float | None:
    return None if age is None else round(age, 1)


def apply_cleanup(client: Any, plan: CleanupPlan, *, progress: Callable[[int, int, str], None] | None = None) -> list[str]:
    """Soft-delete the plan's candidates; re-read each run first and skip one that became
    protected since the plan (tagged to keep meanwhile). Returns the deleted run ids."""
    deleted = []
    for index, item in enumerate(plan.candidates, start=1):
        run = client.get_run(item.run_id)
        if run.info.lifecycle_stage != "active" or run.data.tags.get(conventions.TAG_KEEP, "").lower() == "true":
            continue
        client.delete_run(item.run_id)
        deleted.append(item.run_id)
        if progress:
            progress(index, len(plan.candidates), item.name or item.run_id)
    return deleted


def restore_hint(uri_redacted: str, run_ids: list[str]) -> list[str]:
    """How to undo `--apply`: one shell line that restores every deleted run."""
    if not run_ids:
        return []
    return [
        "Restore (artifacts included; nothing is freed until someone runs `mlflow gc`):",
        f"  export MLFLOW_TRACKING_URI='{uri_redacted}'",
        "  for id in " + " ".join(run_ids) + "; do mlflow runs restore --run-id $id; done",
    ]
