"""Which runs cleanup may delete, which must stay and why: ONE planning function,
`plan_retention`, for `mltrack cleanup` (dry run and `--apply`) and the `artifact-cleanup`
check, so the audit reports exactly the candidates the command would delete.

A run is protected, by content rather than by mltrack's own tags, when it is:
- behind any registered model version (its `run_id`, a `runs:/<id>/...` source, the run that
  logged its MLflow 3 model), aliases and stages included;
- an inference run (`mltrack.run_kinds.inference_signals`: it loads a model or writes predictions
  and logs no training metric), or a run an inference run's lineage points to;
- among the best `keep_top` runs by the metric in its experiment, or the parent of a sweep
  (`mlflow.parentRunId`) holding one of them;
- newer than the age threshold, or still running;
- tagged `mltrack.keep=true`.
Every other active run of an active experiment is a candidate. A protected run that is already
deleted is itself a finding (the check fails on it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mltrack import conventions
from mltrack.model import ArtifactFile, RunRecord, StoreSnapshot
from mltrack.ranking import finite, rank as rank_runs
from mltrack.run_kinds import (inference_signals, lineage, predictions_outputs, training_metrics,
                               version_run_ids)

DAY_MS = 86_400_000
PARENT_TAG = "mlflow.parentRunId"

FilesOf = Callable[[RunRecord], "Iterable[ArtifactFile] | None"]


@dataclass(frozen=True)
class RetentionRules:
    metric: str = conventions.METRIC
    goal: str = conventions.METRIC_GOAL
    keep_top: int = 10
    older_than_days: float = 30


@dataclass(frozen=True)
class RetentionPlan:
    candidates: tuple[RunRecord, ...]  # what cleanup would delete, oldest first
    why_candidate: Mapping[str, str]  # run id -> why it may go
    protected: Mapping[str, tuple[str, ...]]  # run id -> why it must stay (active runs)
    deleted_protected: tuple[dict[str, Any], ...] = ()  # protected runs already gone
    rules: RetentionRules = field(default_factory=RetentionRules)

    @property
    def candidate_ids(self) -> list[str]:
        return [r.run_id for r in self.candidates]


def plan_retention(snapshot: StoreSnapshot, rules: RetentionRules = RetentionRules(), *,
                   inference_by_output: Mapping[str, str] | None = None,
                   now_ms: int | None = None) -> RetentionPlan:
    """Pure. `inference_by_output`: run id -> predictions file, for runs that only their
    artifacts show to be inference runs (`find_output_inference` lists them). `now_ms` defaults
    to when the snapshot was taken, so the check and the command age runs alike."""
    now_ms = snapshot.taken_at if now_ms is None else now_ms
    reasons, blamable = _content_reasons(snapshot, rules, inference_by_output or {})
    live_experiments = {e.experiment_id for e in snapshot.experiments if e.lifecycle_stage == "active"}
    pool = [r for r in snapshot.runs if r.lifecycle_stage == "active"
            and (not snapshot.experiments or r.experiment_id in live_experiments)]
    candidates, why_candidate = [], {}
    for run in pool:
        age = None if not run.start_time else (now_ms - run.start_time) / DAY_MS
        if age is None or age < rules.older_than_days:
            reasons[run.run_id].append(f"newer than {rules.older_than_days:g} days"
                                       + ("" if age is not None else " (no start time)"))
        if reasons[run.run_id]:
            continue
        why = f"older than {rules.older_than_days:g} days ({age:.0f} d)"
        why += (f", not in the top {rules.keep_top} by {rules.metric}" if rules.metric in run.metrics
                else f", no {rules.metric} logged")
        candidates.append(run)
        why_candidate[run.run_id] = why
    candidates.sort(key=lambda r: (r.start_time or 0, r.run_id))
    active_ids = {r.run_id for r in pool}
    protected = {rid: tuple(dict.fromkeys(why)) for rid, why in reasons.items() if why and rid in active_ids}
    return RetentionPlan(tuple(candidates), why_candidate, protected,
                         tuple(_deleted_protected(snapshot, blamable)), rules)


def find_output_inference(snapshot: StoreSnapshot, rules: RetentionRules, files_of: FilesOf,
                          now_ms: int | None = None) -> dict[str, str]:
    """run id -> predictions file, for would-be candidates that log no training metric and
    write a predictions artifact: inference runs known only by their output. Lists the
    artifacts of those runs only (few), through `files_of`."""
    found = {}
    for run in plan_retention(snapshot, rules, now_ms=now_ms).candidates:
        if training_metrics(run, rules.metric):
            continue
        outputs = predictions_outputs(files_of(run))
        if outputs:
            found[run.run_id] = outputs[0]
    return found


def _content_reasons(snapshot: StoreSnapshot, rules: RetentionRules, by_output: Mapping[str, str]
                     ) -> tuple[defaultdict[str, list[str]], dict[str, list[str]]]:
    """(run id -> every protection reason, run id -> the reasons a deleted run can be blamed
    for losing: keep tag, registered version, lineage of a live inference run)."""
    reasons: defaultdict[str, list[str]] = defaultdict(list)
    blamable: dict[str, list[str]] = defaultdict(list)

    def protect(run_id: str, why: str, blame: bool = False) -> None:
        reasons[run_id].append(why)
        if blame:
            blamable[run_id].append(why)

    by_experiment: dict[str, list[RunRecord]] = defaultdict(list)
    for run in snapshot.runs:
        if run.tags.get(conventions.TAG_KEEP, "").lower() == "true":
            protect(run.run_id, f"tagged {conventions.TAG_KEEP}=true", blame=True)
        signals = inference_signals(run, rules.metric)
        if run.run_id in by_output:
            signals.append(f"writes predictions {by_output[run.run_id]}")
        inference = bool(signals)
        if inference:  # deleted inference runs still say where predictions came from
            for target, how in lineage(run, snapshot):
                protect(target, f"lineage of inference run {run.name or run.run_id} ({how})",
                        blame=run.lifecycle_stage == "active")
        if run.lifecycle_stage != "active":
            continue
        if run.status in {"RUNNING", "SCHEDULED"}:
            protect(run.run_id, f"still {run.status.lower()}")
        if inference:
            protect(run.run_id, "inference run (" + "; ".join(signals) + ")")
        elif finite(run.metrics.get(rules.metric)):
            by_experiment[run.experiment_id].append(run)
    for model in snapshot.registered_models:
        for version in model.versions:
            aliases = "".join(f" @{a}" for a in version.aliases)
            stage = f" ({version.current_stage})" if version.current_stage not in ("None", "") else ""
            for run_id in version_run_ids(version, snapshot):
                protect(run_id, f"behind registered version {model.name} v{version.version}{aliases}{stage}",
                        blame=True)
    parents = {r.run_id: r.tags.get(PARENT_TAG) for r in snapshot.runs}
    for runs in by_experiment.values():
        ranked = rank_runs(runs, rules.metric, higher_is_better=rules.goal != "min").best_first
        holding: set[str] = set()  # sweep parents already protected, by their best trial
        for rank, run in enumerate(ranked[:rules.keep_top], start=1):
            protect(run.run_id, f"top {rules.keep_top} by {rules.metric} (#{rank})")
            parent, seen = parents.get(run.run_id), {run.run_id}
            while parent and parent not in seen and parent not in holding:  # nested sweeps: every ancestor
                protect(parent, f"parent of sweep holding top run {run.name or run.run_id} (#{rank})")
                holding.add(parent)
                seen.add(parent)
                parent = parents.get(parent)
    return reasons, blamable


def _deleted_protected(snapshot: StoreSnapshot, blamable: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    found = []
    for run_id, why in blamable.items():
        run = snapshot.run(run_id)
        if run is None or run.lifecycle_stage != "active":
            found.append({"run_id": run_id, "name": run.name if run else None,
                          "state": "missing from the store" if run is None else run.lifecycle_stage,
                          "protected_because": list(dict.fromkeys(why))})
    return sorted(found, key=lambda d: d["run_id"])
