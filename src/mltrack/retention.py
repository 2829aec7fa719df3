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

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mltrack import conventions
from mltrack.bounded import Smallest
from mltrack.model import ArtifactFile, RunRecord, StoreSnapshot
from mltrack.ranking import finite, rank_key
from mltrack.run_kinds import (inference_signals, kinds_of, lineage, predictions_outputs, training_metrics,
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


# Where a reason comes from, in the order the rules are applied: (run position, step) while the
# runs stream by (0: the run's keep tag, 1: lineage an inference run gives another run, 2: the
# run's own state), then the registry, then the top runs. A run's reasons are listed in this
# order, so they read the same whatever held them.
_STEP_KEEP, _STEP_LINEAGE, _STEP_OWN = 0, 1, 2
Position = tuple[int, int, int]


class RetentionPlan:
    """What cleanup may delete and what must stay, worked out from the snapshot's runs as they
    stream by: it keeps only the protections other records give a run (lineage, registered
    versions, the top runs per experiment: few), and works each run's own out again when asked.

    Streaming, in bounded memory: `walk()` ((run, why it may go | None, why it must stay) per
    active run in read order), `iter_candidates()`, `first_candidates(n)` (oldest first) and the
    counts. `candidates`, `why_candidate`, `protected` and `candidate_ids` hold every candidate
    or protected run: for `mltrack cleanup`, which lists them all."""

    def __init__(self, snapshot: StoreSnapshot, rules: RetentionRules, now_ms: int,
                 inference_by_output: Mapping[str, str]) -> None:
        self.rules = rules
        self._snapshot = snapshot
        self._now_ms = now_ms
        self._by_output = dict(inference_by_output)
        self._live = {e.experiment_id for e in snapshot.experiments if e.lifecycle_stage == "active"}
        self._given, deleted_keep = _given_reasons(snapshot, rules, self._by_output)
        self.deleted_protected: tuple[dict[str, Any], ...] = tuple(
            _deleted_protected(snapshot, self._given, deleted_keep))
        self._counts: tuple[int, int] | None = None
        self._first: dict[int, tuple[RunRecord, ...]] = {}

    # -- streaming -------------------------------------------------------------------------
    def walk(self) -> Iterator[tuple[RunRecord, str | None, tuple[str, ...]]]:
        """(run, why it may go or None, why it must stay) for every active run of an active
        experiment, in read order."""
        rules, snapshot = self.rules, self._snapshot
        for position, (run, kind) in enumerate(kinds_of(snapshot, rules.metric).pairs()):
            if run.lifecycle_stage != "active" or (snapshot.experiments and run.experiment_id not in self._live):
                continue
            inference = kind == "inference" or run.run_id in self._by_output
            reasons = _merged(self._given.get(run.run_id, ()),
                              _own_reasons(run, position, rules, self._by_output, active=True, inference=inference))
            age = None if not run.start_time else (self._now_ms - run.start_time) / DAY_MS
            if age is None or age < rules.older_than_days:
                reasons.append(f"newer than {rules.older_than_days:g} days"
                               + ("" if age is not None else " (no start time)"))
            if reasons:
                yield run, None, tuple(dict.fromkeys(reasons))
                continue
            why = f"older than {rules.older_than_days:g} days ({age:.0f} d)"
            why += (f", not in the top {rules.keep_top} by {rules.metric}" if rules.metric in run.metrics
                    else f", no {rules.metric} logged")
            yield run, why, ()

    def iter_candidates(self) -> Iterator[tuple[RunRecord, str]]:
        """(run, why it may go) for every candidate, in read order."""
        return ((run, why) for run, why, _ in self.walk() if why is not None)

    def first_candidates(self, limit: int | None) -> list[RunRecord]:
        """The first `limit` candidates oldest first (start time, then run id): the order cleanup
        deletes in and lists in."""
        if limit in self._first:
            return list(self._first[limit])
        first: Smallest[RunRecord] = Smallest(limit, _oldest_first)
        protected = 0
        for run, why, _reasons in self.walk():
            if why is None:
                protected += 1
            else:
                first.add(run)
        self._counts = (first.count, protected)  # the walk counted both: no second pass for them
        if limit is not None:  # the check's gather and judge both ask (at most `limit` records)
            self._first[limit] = tuple(first.items())
            return list(self._first[limit])
        return first.items()

    def _count(self) -> tuple[int, int]:
        if self._counts is None:
            candidates = protected = 0
            for _, why, _reasons in self.walk():
                candidates += why is not None
                protected += why is None
            self._counts = (candidates, protected)
        return self._counts

    @property
    def candidate_count(self) -> int:
        return self._count()[0]

    @property
    def protected_count(self) -> int:
        return self._count()[1]

    # -- everything at once (mltrack cleanup lists every run) ---------------------------------
    @functools.cached_property
    def candidates(self) -> tuple[RunRecord, ...]:
        """Every candidate, oldest first."""
        return tuple(self.first_candidates(None))

    @functools.cached_property
    def why_candidate(self) -> Mapping[str, str]:
        """run id -> why it may go, for every candidate."""
        return {run.run_id: why for run, why in self.iter_candidates()}

    @functools.cached_property
    def protected(self) -> Mapping[str, tuple[str, ...]]:
        """run id -> why it must stay, for every protected active run."""
        return {run.run_id: reasons for run, why, reasons in self.walk() if why is None}

    @property
    def candidate_ids(self) -> list[str]:
        return [r.run_id for r in self.candidates]


def _oldest_first(run: RunRecord) -> tuple[int, str]:
    return (run.start_time or 0, run.run_id)


def plan_retention(snapshot: StoreSnapshot, rules: RetentionRules = RetentionRules(), *,
                   inference_by_output: Mapping[str, str] | None = None,
                   now_ms: int | None = None) -> RetentionPlan:
    """Pure. `inference_by_output`: run id -> predictions file, for runs that only their
    artifacts show to be inference runs (`find_output_inference` lists them). `now_ms` defaults
    to when the snapshot was taken, so the check and the command age runs alike."""
    now_ms = snapshot.taken_at if now_ms is None else now_ms
    # The check's gather and judge, and find_output_inference before them, ask for the same plan:
    # worked out once per snapshot (each costs passes over every run); a few are kept.
    cache = snapshot.__dict__.setdefault("_retention_plans", {})  # not a field: never serialised
    key = (rules, now_ms, tuple(sorted((inference_by_output or {}).items())))
    plan = cache.get(key)
    if plan is None:
        if len(cache) >= 4:
            cache.pop(next(iter(cache)))
        plan = cache[key] = RetentionPlan(snapshot, rules, now_ms, inference_by_output or {})
    return plan


def find_output_inference(snapshot: StoreSnapshot, rules: RetentionRules, files_of: FilesOf,
                          now_ms: int | None = None) -> dict[str, str]:
    """run id -> predictions file, for would-be candidates that log no training metric and
    write a predictions artifact: inference runs known only by their output. Lists the
    artifacts of those runs only (few), through `files_of`; the answer is oldest first."""
    found = []
    for run, _why in plan_retention(snapshot, rules, now_ms=now_ms).iter_candidates():
        if training_metrics(run, rules.metric):
            continue
        outputs = predictions_outputs(files_of(run))
        if outputs:
            found.append((_oldest_first(run), run.run_id, outputs[0]))
    return {run_id: output for _, run_id, output in sorted(found)}


def _own_reasons(run: RunRecord, position: int, rules: RetentionRules, by_output: Mapping[str, str],
                 *, active: bool, inference: bool | None = None) -> list[tuple[Position, str, bool]]:
    """The reasons the run itself gives to keep it: (where, why, blamable if it is lost)."""
    own: list[tuple[Position, str, bool]] = []
    if run.tags.get(conventions.TAG_KEEP, "").lower() == "true":
        own.append(((position, _STEP_KEEP, 0), f"tagged {conventions.TAG_KEEP}=true", True))
    if not active:
        return own
    if run.status in {"RUNNING", "SCHEDULED"}:
        own.append(((position, _STEP_OWN, 0), f"still {run.status.lower()}", False))
    if inference is not False:  # None: not known yet, so worked out here
        signals = _signals(run, rules, by_output)
        if signals:
            own.append(((position, _STEP_OWN, 1), "inference run (" + "; ".join(signals) + ")", False))
    return own


def _signals(run: RunRecord, rules: RetentionRules, by_output: Mapping[str, str]) -> list[str]:
    signals = inference_signals(run, rules.metric)
    if run.run_id in by_output:
        signals.append(f"writes predictions {by_output[run.run_id]}")
    return signals


def _merged(given: Iterable[tuple[Position, str, bool]], own: list[tuple[Position, str, bool]]) -> list[str]:
    """A run's reasons in the order the rules gave them."""
    return [why for _, why, _ in sorted((*given, *own), key=lambda entry: entry[0])]


def _given_reasons(snapshot: StoreSnapshot, rules: RetentionRules, by_output: Mapping[str, str]
                   ) -> tuple[dict[str, list[tuple[Position, str, bool]]], dict[str, tuple[int, RunRecord]]]:
    """(run id -> the reasons other records give to keep it: the lineage of an inference run,
    a registered version, the top runs and their sweep parents; run id -> (position, run) of the
    deleted runs tagged to keep). One pass over the runs; memory follows the protections."""
    given: dict[str, list[tuple[Position, str, bool]]] = defaultdict(list)
    deleted_keep: dict[str, tuple[int, RunRecord]] = {}
    kinds = kinds_of(snapshot, rules.metric)  # the inference signals, worked out once per run
    # per experiment, its best runs as (rank key, run id, name, sweep parent): a store may hold
    # thousands of experiments, and records cost KiBs
    top: dict[str, Smallest[tuple[tuple[float, int, str], str, str, str | None]]] = {}
    key = rank_key(rules.metric, rules.goal != "min")
    position = -1
    for position, (run, kind) in enumerate(kinds.pairs()):
        active = run.lifecycle_stage == "active"
        if not active and run.tags.get(conventions.TAG_KEEP, "").lower() == "true":
            deleted_keep[run.run_id] = (position, run)
        inference = kind == "inference" or run.run_id in by_output
        if inference:  # deleted inference runs still say where predictions came from
            for target, how in lineage(run, snapshot):
                given[target].append(((position, _STEP_LINEAGE, 0),
                                      f"lineage of inference run {run.name or run.run_id} ({how})", active))
        if active and not inference and finite(run.metrics.get(rules.metric)):
            top.setdefault(run.experiment_id, Smallest(rules.keep_top, _rank_of)).add(
                (key(run), run.run_id, run.name, run.tags.get(PARENT_TAG)))
    after = position + 1
    step = 0
    for model in snapshot.registered_models:
        for version in model.versions:
            aliases = "".join(f" @{a}" for a in version.aliases)
            stage = f" ({version.current_stage})" if version.current_stage not in ("None", "") else ""
            for run_id in version_run_ids(version, snapshot):
                step += 1
                given[run_id].append(((after, 0, step), f"behind registered version {model.name} "
                                      f"v{version.version}{aliases}{stage}", True))
    for best in top.values():
        holding: set[str] = set()  # sweep parents already protected, by their best trial
        for rank, (_, run_id, name, parent) in enumerate(best.items(), start=1):
            step += 1
            given[run_id].append(((after + 1, 0, step), f"top {rules.keep_top} by {rules.metric} (#{rank})", False))
            seen = {run_id}
            while parent and parent not in seen and parent not in holding:  # nested sweeps: every ancestor
                step += 1
                given[parent].append(((after + 1, 0, step),
                                      f"parent of sweep holding top run {name or run_id} (#{rank})", False))
                holding.add(parent)
                seen.add(parent)
                above = snapshot.run(parent)
                parent = above.tags.get(PARENT_TAG) if above is not None else None
    return dict(given), deleted_keep


def _rank_of(entry: tuple[tuple[float, int, str], str, str, str | None]) -> tuple[float, int, str]:
    return entry[0]


def _deleted_protected(snapshot: StoreSnapshot, given: Mapping[str, list[tuple[Position, str, bool]]],
                       deleted_keep: Mapping[str, tuple[int, RunRecord]]) -> list[dict[str, Any]]:
    """Runs protected for a reason that makes losing them a finding (a keep tag, a registered
    version, the lineage of a live inference run) that are deleted or gone."""
    found = []
    blamed = {rid for rid, reasons in given.items() if any(blame for _, _, blame in reasons)}
    for run_id in blamed | set(deleted_keep):
        run: RunRecord | None
        if run_id in deleted_keep:
            position, run = deleted_keep[run_id]
            own = _own_reasons(run, position, RetentionRules(), {}, active=False)
        else:
            run, own = snapshot.run(run_id), []
            if run is not None and run.lifecycle_stage == "active":
                continue
        why = _merged((g for g in given.get(run_id, ()) if g[2]), own)
        found.append({"run_id": run_id, "name": run.name if run else None,
                      "state": "missing from the store" if run is None else run.lifecycle_stage,
                      "protected_because": list(dict.fromkeys(why))})
    return sorted(found, key=lambda d: d["run_id"])
