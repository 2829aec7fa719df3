"""MLP10 onboarding: could a new team member find their way around this store?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mltrack.model import Status, StoreSnapshot
from mltrack.pressure.base import MISSING_USERS, Check, Verdict, experiment_ids, is_inference
from mltrack.pressure.policy import Policy

DOC = """\
## What it checks
Every active experiment is browsable: it has finished runs, and those runs have names, users
and metrics (inference runs need no metrics). Reports run counts per experiment and where the
UI is (`ui_url`, or the server URL, or the `mlflow ui` command for a local store). MLflow's
`Default` experiment is ignored while it is empty; another empty experiment is a warning.

## Why it matters
A newcomer opens the UI and sees experiments full of unnamed, unfinished, metric-less runs: the
store stops being the team's memory.

## How it fails
`fail` names each experiment and what it lacks (finished runs, names, users, metrics).

## How to fix
Name runs (`mlflow.start_run(run_name=...)`), log metrics, end runs (lint rule `unclosed-run`),
and delete or archive scratch experiments.
"""


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    inference_ids = experiment_ids(snapshot, policy.inference_experiments)
    counts: dict[str, dict[str, int]] = {exp.experiment_id: {} for exp in snapshot.experiments}
    for run in snapshot.runs:
        if run.lifecycle_stage != "active" or run.experiment_id not in counts:
            continue
        c = counts[run.experiment_id]
        c["runs"] = c.get("runs", 0) + 1
        if run.status != "FINISHED":
            continue
        c["finished"] = c.get("finished", 0) + 1
        c["unnamed"] = c.get("unnamed", 0) + (not (run.name or "").strip())
        c["no_user"] = c.get("no_user", 0) + ((run.user or "").strip().lower() in MISSING_USERS)
        needs_metrics = not (is_inference(run) or run.experiment_id in inference_ids)
        c["no_metrics"] = c.get("no_metrics", 0) + (needs_metrics and not run.metrics)
    per_experiment, problems, empty = {}, [], []
    for exp in snapshot.experiments:
        if exp.lifecycle_stage != "active":
            continue
        c = counts[exp.experiment_id]
        per_experiment[exp.name] = {"runs": c.get("runs", 0), "finished": c.get("finished", 0)}
        if not c.get("runs"):
            if exp.name != "Default":
                empty.append(exp.name)
            continue
        lacks = []
        if not c.get("finished"):
            lacks.append(f"no finished runs (all {c['runs']} unfinished)")
        for key, what in (("unnamed", "names"), ("no_user", "users"), ("no_metrics", "metrics")):
            if c.get(key):
                lacks.append(f"{c[key]} finished runs without {what}")
        if lacks:
            problems.append(f"experiment {exp.name!r}: {', '.join(lacks)}")
    ui = policy.ui_url or (snapshot.uri if snapshot.uri.startswith("http") else f"mlflow ui --backend-store-uri {snapshot.uri}")
    if snapshot.tracker == "wandb" and not policy.ui_url:  # W&B: the local viewer, and runs never synced
        unsynced = len(snapshot.extras.get("never_synced_runs", ()))
        where = snapshot.uri.partition(":")[2]
        ui = (f"wandb leet {where} ({unsynced} offline runs never synced: `wandb sync` uploads them)"
              if snapshot.uri.startswith("wandb-offline:") else f"https://wandb.ai/{where.lstrip('/')}")
    facts = {"experiments": per_experiment, "ui": ui, "empty_experiments": empty}
    if snapshot.tracker == "wandb":
        facts["never_synced_runs"] = list(snapshot.extras.get("never_synced_runs", ()))[:20]
    if problems:
        return Verdict(Status.FAIL, "; ".join(problems), facts,
                       "Name runs, log metrics, end runs (lint rule unclosed-run); delete scratch experiments")
    if empty:
        return Verdict(Status.WARN, f"empty experiment(s): {', '.join(empty)}", facts, "Delete empty experiments")
    total = sum(v["runs"] for v in per_experiment.values())
    if not total:  # only the empty Default experiment: nothing to browse yet, not "all browsable"
        names = ", ".join(repr(n) for n in per_experiment) or "no active experiment"
        return Verdict(Status.SKIP, f"no runs to browse yet (experiments: {names})", facts)
    return Verdict(Status.PASS, f"{len(per_experiment)} experiments, {total} runs, all browsable; UI: {ui}", facts)


CHECK = Check("MLP10", "onboarding", "Every experiment is browsable: finished runs with names, users and metrics.",
              DOC, judge)
