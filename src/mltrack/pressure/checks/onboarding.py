"""MLP10 onboarding: could a new team member find their way around this store?"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from mltrack.bounded import Smallest
from mltrack.model import Status, StoreSnapshot
from mltrack.pressure.base import (
    EVIDENCE_LIMIT, MISSING_USERS, Check, Verdict, experiment_ids, iso, run_kinds_of, shorten,
)
from mltrack.pressure.policy import Policy
from mltrack.run_kinds import source_run_ids

DOC = """\
## What it checks
Every active experiment is browsable: it has finished runs, and those runs have names and
metrics (inference runs need no metrics). Reports run counts per experiment and where the UI is
(`ui_url`, or the server URL, or the `mlflow ui` command for a local store). MLflow's `Default`
experiment is ignored while it is empty; another empty experiment is a warning. So are runs
stuck `RUNNING` longer than `stuck_run_hours` (default 24: their process died and the UI shows
them as live forever), named; registered versions whose training run is deleted or purged
(the registry points a newcomer at a run that is gone), named with the run; and finished runs by
no real user (`root`, `unknown`, empty): attribution itself is judged by `multi-user`, so they
never fail onboarding.

## Why it matters
A newcomer opens the UI and sees experiments full of unnamed, unfinished, metric-less runs: the
store stops being the team's memory.

## How it fails
`fail` names each experiment and what it lacks (finished runs, names, metrics); `warn` names
the stuck runs, the versions whose training run is gone, the runs by no real user and the
empty experiments.

## How to fix
Name runs (`mlflow.start_run(run_name=...)`), log metrics, end runs (lint rule `unclosed-run`;
a stuck run: `MlflowClient().set_terminated(run_id, "KILLED")`), and delete or archive scratch
experiments.
"""


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    inference_ids = experiment_ids(snapshot, policy.inference_experiments)
    counts: dict[str, dict[str, int]] = {exp.experiment_id: {} for exp in snapshot.experiments}
    active = {exp.experiment_id for exp in snapshot.experiments if exp.lifecycle_stage == "active"}
    unattributed: Counter[str] = Counter()
    # longest-running first (ties in read order); only the first few are shown
    stuck: Smallest[dict[str, Any]] = Smallest(EVIDENCE_LIMIT, lambda s: -s["running_hours"])
    for run, kind in run_kinds_of(snapshot, policy.metric).pairs():
        if run.lifecycle_stage != "active" or run.experiment_id not in counts:
            continue
        c = counts[run.experiment_id]
        c["runs"] = c.get("runs", 0) + 1
        if run.status == "RUNNING" and run.experiment_id in active and (hours := _running_hours(snapshot, run)) \
                is not None and hours > policy.stuck_run_hours:
            stuck.add({"run_id": run.run_id, "name": run.name, "experiment_id": run.experiment_id,
                          "started": iso(run.start_time), "running_hours": round(hours, 1)})
        if run.status != "FINISHED":
            continue
        c["finished"] = c.get("finished", 0) + 1
        c["unnamed"] = c.get("unnamed", 0) + (not (run.name or "").strip())
        if (run.user or "").strip().lower() in MISSING_USERS:
            unattributed[(run.user or "").strip() or "(empty)"] += 1
        # inference runs and data jobs (a W&B `dataset` job) log no metrics by nature
        needs_metrics = kind == "training" and run.experiment_id not in inference_ids
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
        for key, what in (("unnamed", "names"), ("no_metrics", "metrics")):
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
    stuck_shown, stuck_count = stuck.items(), stuck.count
    facts = {"experiments": per_experiment, "ui": ui, "empty_experiments": empty,
             "stuck_runs": stuck_shown, "stuck_run_count": stuck_count, "stuck_run_hours": policy.stuck_run_hours,
             "unattributed_finished_runs": dict(sorted(unattributed.items()))}
    if snapshot.tracker == "wandb":
        facts["never_synced_runs"] = list(snapshot.extras.get("never_synced_runs", ()))[:20]
    if problems:
        return Verdict(Status.FAIL, "; ".join(problems), facts,
                       "Name runs, log metrics, end runs (lint rule unclosed-run); delete scratch experiments")
    # The tracker's own facts (W&B: runs never synced, never ended, crashed), named by the store layer.
    store_warnings = list(snapshot.extras.get("onboarding_warnings", ()))
    facts["store_warnings"] = store_warnings
    parts = []
    if stuck_count:
        names = ", ".join(f"{s['name'] or s['run_id']} ({_duration(s['running_hours'])})" for s in stuck_shown[:5])
        more = f" and {stuck_count - 5} more" if stuck_count > 5 else ""
        parts.append(f"{stuck_count} run(s) stuck RUNNING for more than {policy.stuck_run_hours:g} h: {names}{more}")
    orphans = _versions_without_run(snapshot)
    facts["versions_without_training_run"] = shorten(orphans)
    if orphans:
        named = ", ".join(f"{o['model']} v{o['version']} (run {o['run_id']} {o['state']})" for o in orphans[:5])
        more = f" and {len(orphans) - 5} more" if len(orphans) > 5 else ""
        parts.append(f"{len(orphans)} registered version(s) whose training run is gone: {named}{more}")
    if unattributed:
        who = ", ".join(f"{user} {n}" for user, n in sorted(unattributed.items()))
        parts.append(f"{sum(unattributed.values())} finished run(s) by no real user ({who}); "
                     "attribution is judged by multi-user")
    if empty:
        parts.append(f"empty experiment(s): {', '.join(empty)}")
    parts += store_warnings
    if parts:
        fixes = (["end or kill stuck runs (MlflowClient().set_terminated(run_id, 'KILLED'))"] if stuck_count else []) \
            + (["restore deleted training runs (mlflow runs restore) before mlflow gc purges them"]
               if orphans else []) \
            + (["set mlflow.user when starting runs"] if unattributed else []) \
            + (["delete empty experiments"] if empty else []) \
            + (["sync offline runs (`wandb sync`); end runs"] if store_warnings else [])
        fix = "; ".join(fixes)
        return Verdict(Status.WARN, "; ".join(parts), facts, fix[:1].upper() + fix[1:])
    total = sum(v["runs"] for v in per_experiment.values())
    if not total:  # only the empty Default experiment: nothing to browse yet, not "all browsable"
        names = ", ".join(repr(n) for n in per_experiment) or "no active experiment"
        return Verdict(Status.SKIP, f"no runs to browse yet (experiments: {names})", facts)
    return Verdict(Status.PASS, f"{len(per_experiment)} experiments, {total} runs, all browsable; UI: {ui}", facts)


def _versions_without_run(snapshot: StoreSnapshot) -> list[dict[str, Any]]:
    """Registered versions none of whose training runs is active: deleted (in the snapshot, not
    active) or purged (absent entirely, `mlflow gc`)."""
    found = []
    for model in snapshot.registered_models:
        for version in model.versions:
            run_ids = source_run_ids(version, snapshot)
            runs = [snapshot.run(rid) for rid in run_ids]
            if not run_ids or any(r is not None and r.lifecycle_stage == "active" for r in runs):
                continue
            found.append({"model": model.name, "version": version.version, "run_id": run_ids[0],
                          "state": "purged" if runs[0] is None else "deleted"})
    return found


def _running_hours(snapshot: StoreSnapshot, run) -> float | None:
    return None if run.start_time is None else (snapshot.taken_at - run.start_time) / 3_600_000


def _duration(hours: float) -> str:
    return f"running {hours / 24:.1f} days" if hours >= 48 else f"running {hours:.0f} h"


CHECK = Check("MLP10", "onboarding", "Every experiment is browsable: finished runs with names and metrics, none stuck.",
              DOC, judge)
