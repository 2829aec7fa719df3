"""Zero configuration: what the checks assume about a store when the policy does not say.

The names a store is judged by - which experiments, which metric and whether lower is better,
which registered models, which production alias - are read from the store itself for every
key the user did not set (`Policy.explicit`), and each inference is written down as an
`Assumption`: the value, how it was found, how much of the store it covers, and the policy key
that overrides it. The assumptions travel with the results (the run outcome, `report.json`
`assumptions`, the report headers, the terminal), so a verdict on a store nobody configured
says what it took for granted. A key the user set is never re-inferred.

Pure: a snapshot and a policy in, a resolved policy and the assumptions out. The runs are
read as a stream (two passes at most) and only counts are kept, so a million-run store costs
no more memory than a small one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mltrack.model import StoreSnapshot
from mltrack.pressure.policy import Policy, with_inferred
from mltrack.run_kinds import run_kind

# The keys zero configuration infers, in the order they are resolved (each may use the ones before).
INFERABLE = ("experiments", "inference_experiments", "metric", "metric_goal", "registered_models",
             "production_alias")

# Metric names whose lower values are better (one list: the goal of any metric follows from it).
LOWER_IS_BETTER = ("loss", "error", "rmse", "mae", "mse", "perplexity", "wer")
# Aliases teams give the version that serves, most common first.
PRODUCTION_ALIASES = ("production", "prod", "champion", "live", "prd", "serving", "deployed", "current")

_VALIDATION = re.compile(r"(^|[^a-z])(val|valid|validation|test|eval|evaluation|holdout|dev)([^a-z]|$)", re.I)
_TRAIN = re.compile(r"(^|[^a-z])(train|training)([^a-z]|$)", re.I)
# Numbers trainers log beside the quality metrics: throughput, clocks, counters, schedules.
_BOOKKEEPING = re.compile(r"runtime|per_second|flos|^epoch$|^step$|global_step|(^|_)lr$|learning_rate|"
                          r"grad_norm|timestamp|duration|(^|_)time$|memory|gpu|cpu|(^|_)(n|num|count)_", re.I)


@dataclass(frozen=True)
class Assumption:
    key: str  # the policy key whose value was inferred (or `run_kinds`)
    value: Any  # JSON-ready
    how: str  # how it was inferred, in words
    coverage: str | None  # how much of the store it rests on, e.g. "val_acc, 118 of 132 runs"
    override: str  # the policy key that overrides it

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "how": self.how, "coverage": self.coverage,
                "override": self.override}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Assumption:
        return cls(data["key"], data.get("value"), data.get("how", ""), data.get("coverage"),
                   data.get("override", data["key"]))


def shown_value(value: Any) -> str:
    """An assumption's value as text: a list joined (`none` when empty), a mapping as `key n`."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) if value else "none"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def describe(assumption: Mapping[str, Any] | Assumption) -> str:
    """One line: `metric = val_acc: the metric most ... (val_acc, 118 of 132 ...); override with `metric``."""
    data = assumption.to_dict() if isinstance(assumption, Assumption) else assumption
    coverage = f" ({data['coverage']})" if data.get("coverage") else ""
    return (f"{data['key']} = {shown_value(data.get('value'))}: {data.get('how', '')}{coverage}; "
            f"override with `{data.get('override')}`")


def resolve(snapshot: StoreSnapshot, policy: Policy) -> tuple[Policy, tuple[Assumption, ...]]:
    """The policy with every inferable key the user did not set filled in from the store, and
    what was assumed. A policy that sets them all comes back as it is, with no assumptions."""
    found: list[Assumption] = []
    values: dict[str, Any] = {}

    def current(key: str) -> Any:
        return values.get(key, getattr(policy, key))

    if not policy.is_set("experiments"):
        found.append(_experiments(snapshot))
        values["experiments"] = tuple(found[-1].value)
    tally: list[_Tally] = []  # one pass over the runs serves both inferences below

    def tallied() -> _Tally:
        if not tally:
            tally.append(_Tally.of(snapshot, current("experiments")))
        return tally[0]

    if not policy.is_set("inference_experiments"):
        assumption, kinds = _inference_experiments(snapshot, tallied())
        found += [assumption, kinds]
        values["inference_experiments"] = tuple(assumption.value)
    if not policy.is_set("metric"):
        found.append(_metric(tallied(), policy.metric))
        values["metric"] = found[-1].value
    if not policy.is_set("metric_goal"):
        found.append(_goal(current("metric")))
        values["metric_goal"] = found[-1].value
    if not policy.is_set("registered_models"):
        found.append(_registered_models(snapshot))
        values["registered_models"] = tuple(found[-1].value)
    if not policy.is_set("production_alias"):
        found.append(_production_alias(snapshot, current("registered_models"), policy.production_alias))
        values["production_alias"] = found[-1].value
    return (with_inferred(policy, values) if values else policy), tuple(found)


# --------------------------------------------------------------------------- one key each


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _experiments(snapshot: StoreSnapshot) -> Assumption:
    active = [e for e in snapshot.experiments if e.lifecycle_stage == "active"]
    # one pass over the runs, keeping a count per experiment (never the runs themselves)
    holding = Counter(r.experiment_id for r in snapshot.runs if r.lifecycle_stage == "active")
    with_runs = [e for e in active if holding.get(e.experiment_id)]
    deleted = [e.name for e in snapshot.experiments if e.lifecycle_stage != "active"]
    chosen = with_runs or active
    if with_runs:
        how = "every active experiment holding runs"
        if any(e.name == "Default" for e in with_runs):
            how += " (MLflow's Default included: it holds runs)"
        runs = sum(holding[e.experiment_id] for e in with_runs)
        coverage = f"{len(with_runs)} of {_n(len(active), 'active experiment')}, {_n(runs, 'active run')}"
    else:
        how = "no experiment holds a run yet: every active experiment"
        coverage = f"{_n(len(active), 'active experiment')}, 0 runs"
    if deleted:
        coverage += f"; deleted experiments not judged: {', '.join(deleted[:5])}" + (
            f" and {len(deleted) - 5} more" if len(deleted) > 5 else "")
    return Assumption("experiments", [e.name for e in chosen], how, coverage, "experiments")


@dataclass
class _Tally:
    """What the run-kind and metric inferences need from the active runs of the judged
    experiments, gathered in one streaming pass: counts per experiment and per metric name,
    bounded by experiments and metric names, never by runs."""

    kinds: dict[str, Counter] = field(default_factory=dict)  # experiment id -> run kind -> runs
    training: int = 0
    finished: int = 0
    metrics_training: Counter = field(default_factory=Counter)  # metric name -> training runs logging it
    metrics_finished: Counter = field(default_factory=Counter)  # ... finished training runs

    @classmethod
    def of(cls, snapshot: StoreSnapshot, experiments: Iterable[str]) -> _Tally:
        ids = {e.experiment_id for n in experiments if (e := snapshot.experiment(n)) is not None}
        tally = cls()
        for run in snapshot.runs:
            if run.lifecycle_stage != "active" or run.experiment_id not in ids:
                continue
            # the kind as the policy's metric is not known yet (run_kinds_of(snapshot, None))
            kind = run_kind(run, None)
            tally.kinds.setdefault(run.experiment_id, Counter())[kind] += 1
            if kind != "training":
                continue
            names = [k for k in run.metrics if not k.startswith(("system/", "_"))]
            tally.training += 1
            tally.metrics_training.update(names)
            if run.status == "FINISHED":
                tally.finished += 1
                tally.metrics_finished.update(names)
        return tally


def _inference_experiments(snapshot: StoreSnapshot, tally: _Tally) -> tuple[Assumption, Assumption]:
    """Experiments whose runs are all inference runs, and how the runs were told apart."""
    kinds = tally.kinds
    names = {e.experiment_id: e.name for e in snapshot.experiments}
    only_inference = [names[i] for i, c in kinds.items() if c.get("inference") and set(c) == {"inference"}]
    total: Counter[str] = Counter()
    for counts in kinds.values():
        total.update(counts)
    inference_where = ", ".join(f"{names[i]} ({c['inference']})" for i, c in kinds.items() if c.get("inference"))
    experiments_assumption = Assumption(
        "inference_experiments", sorted(only_inference),
        "experiments whose every run is an inference run" if only_inference
        else "no experiment holds only inference runs",
        _n(total.get("inference", 0), "inference run") + (f" in {inference_where}" if inference_where else ""),
        "inference_experiments")
    kinds_assumption = Assumption(
        "run_kinds", {k: total.get(k, 0) for k in ("training", "inference", "other")},
        "told apart by content: an inference run loads a model (models:/, runs:/, a version param) or "
        "writes predictions and logs no training metric; other runs prepare data or register "
        "models (job type dataset, registration, ...); every other run trained (mltrack's tag mltrack.run_type is one signal)",
        None, "inference_experiments")
    return experiments_assumption, kinds_assumption


def metric_rank(name: str) -> int:
    """0 validation/test-like, 1 neutral, 2 train-like, 3 bookkeeping (runtime, lr, step...)."""
    if _BOOKKEEPING.search(name):
        return 3
    if _VALIDATION.search(name):
        return 0
    if _TRAIN.search(name):
        return 2
    return 1


def _metric(tally: _Tally, fallback: str) -> Assumption:
    if tally.finished:
        pool, shared, described = tally.finished, tally.metrics_finished, "finished training runs"
    else:
        pool, shared, described = tally.training, tally.metrics_training, "training runs"
    if not shared:
        how = (f"no {described[:-1]} logs a metric: kept {fallback!r}" if pool
               else f"no training runs: kept {fallback!r}")
        return Assumption("metric", fallback, how, f"0 of {pool} {described}", "metric")
    name = min(shared, key=lambda k: (-shared[k], metric_rank(k), k))
    how = "the metric most " + described + " share"
    ties = [k for k in shared if shared[k] == shared[name] and k != name]
    if ties:
        shown = ", ".join(sorted(ties)[:4]) + (f" and {len(ties) - 4} more" if len(ties) > 4 else "")
        how += f" (tied with {shown}: validation/test names first, then training, then by name)"
    return Assumption("metric", name, how, f"{name}, {shared[name]} of {pool} {described}", "metric")


def lower_is_better(metric: str) -> bool:
    """Names like val_loss, test_error, rmse, perplexity, wer; `neg_...` (sklearn's negated
    errors) are higher-is-better."""
    parts = [p for p in re.split(r"[^a-z0-9]+", metric.lower()) if p]
    if parts and parts[0] == "neg":
        return False
    return any(p == w or (w in ("loss", "error") and p.endswith(w)) for p in parts for w in LOWER_IS_BETTER)


def _goal(metric: str) -> Assumption:
    if lower_is_better(metric):
        how = f"lower is better: the name names one of {', '.join(LOWER_IS_BETTER)}"
        return Assumption("metric_goal", "min", how, metric, "metric_goal")
    how = f"higher is better: the name names none of {', '.join(LOWER_IS_BETTER)}"
    return Assumption("metric_goal", "max", how, metric, "metric_goal")


def _registered_models(snapshot: StoreSnapshot) -> Assumption:
    names = [m.name for m in snapshot.registered_models]
    how = "every registered model in the store" if names else "the store has no registered model"
    return Assumption("registered_models", names, how, _n(len(names), "registered model"), "registered_models")


def infer_production_alias(snapshot: StoreSnapshot, models: Iterable[str], fallback: str) -> Assumption:
    """The production alias (or the stage, keeping `fallback`) of `models`; `mltrack rollback` asks too."""
    return _production_alias(snapshot, models, fallback)


def _production_alias(snapshot: StoreSnapshot, models: Iterable[str], fallback: str) -> Assumption:
    records = [m for n in models if (m := snapshot.registered_model(n)) is not None]
    held: Counter[str] = Counter()
    for model in records:
        aliases = set(model.aliases) | {a for v in model.versions for a in v.aliases}
        held.update(a for a in aliases if a.lower() in PRODUCTION_ALIASES)
    common = ", ".join(PRODUCTION_ALIASES[:4]) + "..."
    if held:
        alias = max(held, key=lambda a: (held[a], -PRODUCTION_ALIASES.index(a.lower())))
        return Assumption("production_alias", alias, f"the alias found in the registry among {common}",
                          f"@{alias} on {held[alias]} of {len(records)} registered models", "production_alias")
    staged = [m.name for m in records if any(v.current_stage.lower() == "production" for v in m.versions)]
    if staged:
        return Assumption("production_alias", fallback,
                          f"no alias among {common} in the registry: the legacy stage Production is used",
                          f"stage Production on {len(staged)} of {len(records)} registered models",
                          "production_alias")
    how = (f"no alias among {common} and no version in stage Production" if records
           else "no registered model to look in")
    return Assumption("production_alias", fallback, f"{how}: kept @{fallback}",
                      f"0 of {len(records)} registered models", "production_alias")
