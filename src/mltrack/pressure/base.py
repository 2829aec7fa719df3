"""What a pressure check is, and the small run/record helpers every check shares.

A check is two functions. `gather(ctx)` talks to the store through the adapter (downloads,
artifact listings, timings) and returns JSON-ready evidence; `judge(snapshot, evidence, policy)`
is pure and returns a `Verdict`. Judges are unit-tested offline from recorded snapshots and
evidence; the runner turns a store that dies during `gather` into an `error` result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mltrack import conventions, run_facts, run_kinds, synonyms
from mltrack.promotions import previous_version, read_promotions
from mltrack.model import CheckResult, ModelVersionRecord, RegisteredModelRecord, RunRecord, Status, StoreSnapshot
from mltrack.pressure.policy import Policy
from mltrack.ranking import Ranking, rank
from mltrack.ranking import rank_key as ranking_key
from mltrack.stores.base import StoreAdapter

Evidence = dict[str, Any]
MISSING_USERS = frozenset({"", "unknown", "root", "none", "null"})


@dataclass(frozen=True)
class Verdict:
    status: Status
    message: str  # one line, names the concrete thing
    evidence: Mapping[str, Any] = field(default_factory=dict)
    fix: str | None = None


@dataclass
class GatherContext:
    """What `gather` may use: the adapter, the snapshot, the policy, a scratch directory, and a
    cache shared by all checks of one run (artifact listings are read once)."""

    adapter: StoreAdapter
    snapshot: StoreSnapshot
    policy: Policy
    workdir: Path
    rollback_drill: bool = False
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    code: str
    name: str
    summary: str
    doc: str  # markdown: What it checks / Why it matters / How it fails / How to fix
    judge: Callable[[StoreSnapshot, Mapping[str, Any], Policy], Verdict]
    gather: Callable[[GatherContext], Evidence] | None = None  # None: the snapshot is enough
    fixable: bool = False
    # the named groups `--checks` accepts besides names and codes (e.g. "monthly": run on a
    # monthly schedule, not every night); registry.GROUPS is derived from these
    groups: tuple[str, ...] = ()
    # the evidence key whose whole number the audit summary (and its trend) reports under the same
    # name, e.g. artifact-cleanup's "reclaimable_bytes"; None when the check adds no summary number
    summary_number: str | None = None
    # the frozen dataclass gather's evidence is built from (None: an untyped dict, for now); a
    # summary_number must be one of its fields, so renaming the field fails at import, not silently
    evidence_type: type | None = None

    def __post_init__(self) -> None:
        if self.summary_number and self.evidence_type is not None:
            names = {f.name for f in fields(self.evidence_type)}
            if self.summary_number not in names:
                raise ValueError(f"check {self.name}: summary_number {self.summary_number!r} is not a field "
                                 f"of {self.evidence_type.__name__} ({', '.join(sorted(names))})")

    def evaluate(self, snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy,
                 duration_s: float = 0.0) -> CheckResult:
        verdict = self.judge(snapshot, evidence, policy)
        return CheckResult(self.code, self.name, verdict.status, verdict.message,
                           dict(verdict.evidence), verdict.fix, duration_s)

    def error(self, message: str, duration_s: float = 0.0, **evidence: Any) -> CheckResult:
        return CheckResult(self.code, self.name, Status.ERROR, message, evidence, None, duration_s)


# --------------------------------------------------------------------------- run helpers


def field_value(run: RunRecord, names: Iterable[str]) -> str | None:
    """The first set param or tag among `names` (synonyms count: `lr` is a learning rate)."""
    return run_facts.named_value(run, names)


# One property, one check: a run that names its data only by path or version still says which
# data it used, so recovery and long-term-repro accept that; data-change alone insists on a hash.
# The names live in mltrack.synonyms (Lightning's data_dir, ...).
DATA_REFERENCES = synonyms.DATA_REFERENCES


def missing_fields(run: RunRecord, fields: Mapping[str, Iterable[str]], *, data_reference_ok: bool = False,
                   parent: RunRecord | None = None) -> list[str]:
    """The fields `run` lacks, by their names and by MLflow's own records (mltrack.run_facts:
    a dataset digest is a data hash, a seed in autolog's estimator text is a seed; `parent`, the
    sweep's parent run, lends its data and commit to a child that records neither)."""
    return run_facts.missing_fields(run, fields, data_reference_ok=data_reference_ok, parent=parent)


def run_ref(run: RunRecord, policy: Policy | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"run_id": run.run_id, "name": run.name}
    if policy is not None and policy.metric in run.metrics:
        ref[policy.metric] = run.metrics[policy.metric]
    return ref


def diverged_ref(run: RunRecord, policy: Policy) -> dict[str, Any]:
    """A diverged run for evidence: its value as text ("nan", "inf"), which strict JSON can hold."""
    return {"run_id": run.run_id, "name": run.name, policy.metric: str(run.metrics.get(policy.metric))}


def is_inference(run: RunRecord, policy: Policy | None = None) -> bool:
    """Told by the run's content (mltrack.run_kinds): a model loaded, predictions written, no
    training metric beside them; mltrack's `mltrack.run_type` tag is one signal among those."""
    return run_kinds.is_inference_run(run, policy.metric if policy is not None else conventions.METRIC)


def is_training(run: RunRecord, policy: Policy | None = None) -> bool:
    """Neither an inference run nor a data-preparation or registration job (mltrack.run_kinds)."""
    return run_kinds.run_kind(run, policy.metric if policy is not None else conventions.METRIC) == "training"


def experiment_ids(snapshot: StoreSnapshot, names: Iterable[str]) -> set[str]:
    return {e.experiment_id for n in names if (e := snapshot.experiment(n)) is not None}


def training_runs(snapshot: StoreSnapshot, policy: Policy, *, include_deleted: bool = False) -> Iterator[RunRecord]:
    """Runs of the configured (or inferred) experiments that trained, streamed in read order:
    inference runs and data-preparation jobs are told apart by content and left out (so are
    deleted runs). A generator: count or keep what you need, never a list of them all."""
    ids = experiment_ids(snapshot, policy.experiments)
    for run, kind in run_kinds_of(snapshot, policy.metric).pairs():
        if run.experiment_id in ids and (include_deleted or run.lifecycle_stage == "active") \
                and kind == "training":
            yield run


def inference_runs(snapshot: StoreSnapshot, policy: Policy) -> Iterator[RunRecord]:
    """Active runs of `inference_experiments`, and every active run whose content says it is
    an inference run (wherever it was logged), streamed in read order."""
    ids = experiment_ids(snapshot, policy.inference_experiments)
    for run, kind in run_kinds_of(snapshot, policy.metric).pairs():
        if run.lifecycle_stage == "active" and (run.experiment_id in ids or kind == "inference"):
            yield run


RunKinds = run_kinds.RunKinds


def run_kinds_of(snapshot: StoreSnapshot, metric: str | None) -> RunKinds:
    """Every run's kind (mltrack.run_kinds.kinds_of), worked out once per snapshot and metric
    (None: not known yet) and kept as one byte per run: every check asks, and a store may hold
    1,000,000 runs."""
    return run_kinds.kinds_of(snapshot, metric)


def ranking(runs: Iterable[RunRecord], policy: Policy, *, top: int | None = None,
            diverged_limit: int | None = None) -> Ranking:
    """The one ranking (mltrack.ranking) by the policy's metric: finite values best first, and
    the diverged runs (NaN, +-inf) beside it, never ranked. `top` / `diverged_limit` keep only
    the best / first of each (with exact counts), for a stream of runs."""
    return rank(runs, policy.metric, policy.higher_is_better, top=top, diverged_limit=diverged_limit)


def ranked(runs: Iterable[RunRecord], policy: Policy, top: int | None = None) -> list[RunRecord]:
    """Runs holding a finite metric, best first (ties: newest first, then run id); the best
    `top` of them only, when given (memory bounded by `top`, whatever the stream)."""
    return ranking(runs, policy, top=top, diverged_limit=0).best_first


def rank_key(policy: Policy) -> Callable[[RunRecord], tuple[float, int, str]]:
    """The ranking's order as a sort key (for a caller keeping its own best per group)."""
    return ranking_key(policy.metric, policy.higher_is_better)


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).isoformat(timespec="seconds")


def age_days(snapshot: StoreSnapshot, ms: int | None) -> float | None:
    return None if ms is None else (snapshot.taken_at - ms) / 86_400_000


EVIDENCE_LIMIT = 20  # items an evidence list shows (`shorten`, `First`): counts are reported beside


def shorten(items: list[Any], limit: int = EVIDENCE_LIMIT) -> list[Any]:
    """Evidence lists stay readable: the first `limit` items (counts are reported beside)."""
    return items[:limit]


# --------------------------------------------------------------------------- registry helpers


def no_model_to_judge(snapshot: StoreSnapshot, policy: Policy, what: str) -> Verdict | None:
    """`skip` when the policy names no registered model: nothing to judge is never an empty pass.
    The reason says what was looked for, and what the store does hold."""
    if policy.registered_models:
        return None
    held = [m.name for m in snapshot.registered_models]
    if held:
        names = ", ".join(repr(n) for n in held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
        reason = (f"no registered model configured (registered_models is empty), so no {what} to judge; "
                  f"the store holds {len(held)}: {names}")
    else:
        reason = (f"no registered model in the store, so no {what} to judge "
                  f"(looked for: any registered model, alias @{policy.production_alias} or stage Production)")
    return Verdict(Status.SKIP, reason, {"registered_models_configured": [], "registered_models_in_store": held[:20],
                                         "production_alias": policy.production_alias})


def production_versions(model: RegisteredModelRecord, alias: str) -> tuple[list[ModelVersionRecord], str]:
    """The production version(s) and how they were found: the alias first, the legacy stage next."""
    version = model.aliases.get(alias)
    if version is None:
        version = next((v.version for v in model.versions if alias in v.aliases), None)
    if version is not None:
        record = model.version(version)
        return ([record] if record else []), f"alias @{alias}"
    staged = [v for v in model.versions if v.current_stage.lower() == "production"]
    return staged, "stage Production"


def previous_production(model: RegisteredModelRecord, current: str,
                        alias: str = conventions.PRODUCTION_ALIAS) -> tuple[str | None, str]:
    """The version production would roll back to, and how we know: the very rule
    `mltrack rollback` follows (after a rollback, the next one goes further back)."""
    listing = [(v.version, v.current_stage, v.tags) for v in model.versions]
    previous, how = previous_version(current, read_promotions(model.tags), listing, alias)
    if previous is not None and model.version(previous) is None:
        return None, f"the records name version {previous}, which does not exist"
    return previous, how
