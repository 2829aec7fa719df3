"""MLP07 hparam-search: was there a real search, and what won?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import re

from mltrack import conventions, synonyms
from mltrack.model import RunRecord, Status, StoreSnapshot
from mltrack.bounded import First, Smallest
from mltrack.pressure.base import EVIDENCE_LIMIT, Check, Verdict, diverged_ref, rank_key, run_ref, training_runs
from mltrack.pressure.policy import Policy
from mltrack.ranking import describe_diverged, diverged_value, finite
from mltrack.secrets import is_secret_name

DOC = """\
## What it checks
At least `min_search_runs` training runs (default 10) hold the metric, at least one
hyperparameter varied between them, and the leaderboard and best configuration are extracted.
Provenance params (seed, commit, data hash/version/path, library versions) and a search's
results (`best_*`, logged by autolog on a GridSearchCV parent) are not hyperparameters. The
best configuration shows the varied hyperparameters the best run sets - its own params, a
search parent's `best_*`, or `key=value` inside autolog's `estimator` text - or, when it sets
none of them, every hyperparameter it does set. Runs missing the metric are listed.

## Why it matters
"Did we actually tune this, and which configuration won?" needs every trial logged with its
parameters and the same metric.

## How it fails
`fail`: too few runs with the metric, or "no hyperparameter varied".

## How to fix
Log every trial as its own run with all its hyperparameters (lint rule
`unlogged-hyperparameters`) and the metric (lint rule `metrics-not-logged`).
"""

_PROVENANCE_WORDS = ("seed", "commit", "hash", "version", "path", "dirty", "timestamp", "run_id", "dir",
                     "uri", "url")


def _is_hyperparameter(key: str, policy: Policy) -> bool:
    """A setting of the trial: not provenance (seed, commit, data, where things live), not a
    search's result (`best_*`, which autolog logs on a search's parent run), not a credential
    (`mlflow.log_params(config)` logs each engineer's `api_key`: it varies, it tunes nothing)."""
    if is_secret_name(key):
        return False
    provenance = {s for f in (conventions.PARAM_SEED, conventions.PARAM_GIT_COMMIT, conventions.PARAM_DATA_HASH)
                  for s in policy.required_fields.get(f, ())} | set(synonyms.SEED)
    return (key not in provenance and not key.startswith(synonyms.BEST_PREFIX)
            and not any(w in key.lower() for w in _PROVENANCE_WORDS))


def _setting(run: RunRecord, key: str) -> str | None:
    """The run's value of hyperparameter `key`: its own param; on a search's parent run, the
    `best_<key>` autolog logged; else `key=value` inside autolog's `estimator` param text."""
    for name in (key, synonyms.BEST_PREFIX + key):
        if name in run.params:
            return run.params[name]
    for holder in synonyms.ESTIMATOR_PARAMS:
        match = re.search(rf"\b{re.escape(key)}=([^,()]+)", run.params.get(holder) or "")
        if match:
            return match.group(1).strip()
    return None


def _best_config(run: RunRecord, varied: list[str], policy: Policy) -> dict[str, str]:
    """The winning configuration: the varied hyperparameters the best run sets (directly or as
    a search's `best_*`), else every hyperparameter it sets. Never a varied key it does not set."""
    chosen = {k: v for k in varied if (v := _setting(run, k)) is not None}
    if chosen:
        return chosen
    return {k: v for k, v in sorted(run.params.items())
            if _is_hyperparameter(k, policy) and k not in synonyms.ESTIMATOR_PARAMS and v not in synonyms.UNSET}


def _shown(config: Mapping[str, str], limit: int = 8) -> str:
    items = [f"{k}={v}" for k, v in config.items()]
    more = f", and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more if items else "no hyperparameter logged on it"


LEADERBOARD = 10  # runs on the leaderboard


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    where = ", ".join(repr(e) for e in policy.experiments) or "no experiment (experiments is empty)"
    # One pass: the leaderboard's best, the first diverged and metric-less runs, and every
    # hyperparameter's values over the scored runs (bounded by the distinct values, not the runs).
    total = 0
    leaders: Smallest[RunRecord] = Smallest(LEADERBOARD, rank_key(policy))
    diverged_runs: Smallest[RunRecord] = Smallest(EVIDENCE_LIMIT, lambda r: r.run_id)
    without: First[RunRecord] = First(EVIDENCE_LIMIT)
    values: dict[str, set[str]] = {}
    tuning: dict[str, bool] = {}  # param key -> is it a hyperparameter (asked once per key)
    for run in training_runs(snapshot, policy):
        if run.status != "FINISHED":
            continue
        total += 1
        value = run.metrics.get(policy.metric)
        if policy.metric not in run.metrics:
            without.add(run)
        if diverged_value(value):
            diverged_runs.add(run)
        if not finite(value):
            continue
        leaders.add(run)
        for key, setting in run.params.items():
            hyper = tuning.get(key)
            if hyper is None:
                hyper = tuning[key] = _is_hyperparameter(key, policy)
            if hyper:
                values.setdefault(key, set()).add(setting)
    if not total:  # no trial at all: there was no search to judge, which is not a failed search
        return Verdict(Status.SKIP, f"no finished training runs in {where}: no search to judge",
                       {"experiments": list(policy.experiments), "runs_with_metric": 0,
                        "leaderboard": [], "best_config": None})
    scored = leaders.items()  # NaN / inf trials diverged: never best, never on the leaderboard
    scored_count, diverged_count = leaders.count, diverged_runs.count
    varied = sorted(k for k, v in values.items() if len(v) > 1)
    leaderboard = [run_ref(r, policy) | {"params": {k: v for k in varied if (v := _setting(r, k)) is not None}}
                   for r in scored]
    facts: dict[str, Any] = {
        "runs_with_metric": scored_count, "min_search_runs": policy.min_search_runs,
        "varied": {k: sorted(values[k]) for k in varied}, "leaderboard": leaderboard,
        "best_config": ({k: v for k, v in scored[0].params.items() if _is_hyperparameter(k, policy)}
                        | _best_config(scored[0], varied, policy)) if scored else None,
        "runs_missing_metric": [run_ref(r) for r in without.kept], "missing_metric_count": without.count,
        "diverged_runs": [diverged_ref(r, policy) for r in diverged_runs.items()],
        "diverged_count": diverged_count,
    }
    shown_diverged = diverged_runs.items()
    diverged = (f"; {diverged_count} diverged trial(s) not ranked: "
                f"{describe_diverged(shown_diverged, policy.metric, limit=3, total=diverged_count)}"
                if diverged_count else "")
    if scored_count < policy.min_search_runs:
        return Verdict(Status.FAIL, f"only {scored_count} finished training run(s) hold a finite "
                       f"{policy.metric!r}; a search needs at least {policy.min_search_runs}{diverged}", facts,
                       "Log the metric from every trial (lint rule metrics-not-logged)")
    if not varied:
        constant = ", ".join(f"{k}={next(iter(v))}" for k, v in sorted(values.items())) or "no hyperparameter logged"
        return Verdict(Status.FAIL, f"no hyperparameter varied across {scored_count} runs ({constant}){diverged}", facts,
                       "Log each trial's hyperparameters (lint rule unlogged-hyperparameters)")
    best = scored[0]
    return Verdict(Status.PASS, f"{scored_count} runs searched over {', '.join(varied)}; best "
                   f"{policy.metric}={best.metrics[policy.metric]:g} ({best.name or best.run_id}: "
                   + _shown(_best_config(best, varied, policy)) + ")" + diverged, facts)


CHECK = Check("MLP07", "hparam-search",
              "At least N runs hold the metric, a hyperparameter varied, and the leaderboard is extracted.",
              DOC, judge)
