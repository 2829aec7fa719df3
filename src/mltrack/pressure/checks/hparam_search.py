"""MLP07 hparam-search: was there a real search, and what won?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mltrack import conventions
from mltrack.model import Status, StoreSnapshot
from mltrack.pressure.base import Check, Verdict, diverged_ref, ranking, run_ref, shorten, training_runs
from mltrack.pressure.policy import Policy
from mltrack.ranking import describe_diverged

DOC = """\
## What it checks
At least `min_search_runs` training runs (default 10) hold the metric, at least one
hyperparameter varied between them, and the leaderboard and best configuration are extracted.
Provenance params (seed, commit, data hash/version/path, library versions) are not
hyperparameters. Runs missing the metric are listed.

## Why it matters
"Did we actually tune this, and which configuration won?" needs every trial logged with its
parameters and the same metric.

## How it fails
`fail`: too few runs with the metric, or "no hyperparameter varied".

## How to fix
Log every trial as its own run with all its hyperparameters (lint rule
`unlogged-hyperparameters`) and the metric (lint rule `metrics-not-logged`).
"""

_PROVENANCE_WORDS = ("seed", "commit", "hash", "version", "path", "dirty", "timestamp", "run_id", "dir")


def _is_hyperparameter(key: str, policy: Policy) -> bool:
    provenance = {s for f in (conventions.PARAM_SEED, conventions.PARAM_GIT_COMMIT, conventions.PARAM_DATA_HASH)
                  for s in policy.required_fields.get(f, ())}
    return key not in provenance and not any(w in key.lower() for w in _PROVENANCE_WORDS)


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    runs = [r for r in training_runs(snapshot, policy) if r.status == "FINISHED"]
    where = ", ".join(repr(e) for e in policy.experiments) or "no experiment (experiments is empty)"
    if not runs:  # no trial at all: there was no search to judge, which is not a failed search
        return Verdict(Status.SKIP, f"no finished training runs in {where}: no search to judge",
                       {"experiments": list(policy.experiments), "runs_with_metric": 0,
                        "leaderboard": [], "best_config": None})
    order = ranking(runs, policy)
    scored = order.best_first  # NaN / inf trials diverged: never best, never on the leaderboard
    without = [r for r in runs if policy.metric not in r.metrics]
    values: dict[str, set[str]] = {}
    for run in scored:
        for key, value in run.params.items():
            if _is_hyperparameter(key, policy):
                values.setdefault(key, set()).add(value)
    varied = sorted(k for k, v in values.items() if len(v) > 1)
    leaderboard = [run_ref(r, policy) | {"params": {k: r.params.get(k) for k in varied}} for r in scored[:10]]
    facts: dict[str, Any] = {
        "runs_with_metric": len(scored), "min_search_runs": policy.min_search_runs,
        "varied": {k: sorted(values[k]) for k in varied}, "leaderboard": leaderboard,
        "best_config": {k: v for k, v in scored[0].params.items() if _is_hyperparameter(k, policy)} if scored else None,
        "runs_missing_metric": shorten([run_ref(r) for r in without]), "missing_metric_count": len(without),
        "diverged_runs": shorten([diverged_ref(r, policy) for r in order.diverged]),
        "diverged_count": len(order.diverged),
    }
    diverged = (f"; {len(order.diverged)} diverged trial(s) not ranked: "
                f"{describe_diverged(order.diverged, policy.metric, limit=3)}" if order.diverged else "")
    if len(scored) < policy.min_search_runs:
        return Verdict(Status.FAIL, f"only {len(scored)} finished training run(s) hold a finite "
                       f"{policy.metric!r}; a search needs at least {policy.min_search_runs}{diverged}", facts,
                       "Log the metric from every trial (lint rule metrics-not-logged)")
    if not varied:
        constant = ", ".join(f"{k}={next(iter(v))}" for k, v in sorted(values.items())) or "no hyperparameter logged"
        return Verdict(Status.FAIL, f"no hyperparameter varied across {len(scored)} runs ({constant}){diverged}", facts,
                       "Log each trial's hyperparameters (lint rule unlogged-hyperparameters)")
    best = scored[0]
    return Verdict(Status.PASS, f"{len(scored)} runs searched over {', '.join(varied)}; best "
                   f"{policy.metric}={best.metrics[policy.metric]:g} ({best.name or best.run_id}: "
                   + ", ".join(f"{k}={best.params.get(k)}" for k in varied) + ")" + diverged, facts)


CHECK = Check("MLP07", "hparam-search",
              "At least N runs hold the metric, a hyperparameter varied, and the leaderboard is extracted.",
              DOC, judge)
