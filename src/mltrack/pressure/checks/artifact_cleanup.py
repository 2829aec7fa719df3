"""MLP09 artifact-cleanup: what could we delete, what would it free, and is anything protected at risk?"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mltrack.model import RunRecord, Status, StoreSnapshot
from mltrack.pressure.base import Check, GatherContext, Verdict, age_days, shorten, training_runs
from mltrack.pressure.evidence import artifact_bytes, artifacts_of, local_root, prefetch_artifacts
from mltrack.pressure.policy import Policy
from mltrack.retention import protections

DOC = """\
## What it checks
Computes what a cleanup could delete - training runs outside the top `keep_top` by the metric,
not behind a registered model version, not referenced by an inference run (`training_run_id`),
not tagged `mltrack.keep=true` - and the bytes it would free (run artifacts listed recursively
plus their MLflow 3 logged models). Local artifact stores are walked on disk; remote ones are
listed through the API for at most `cleanup_list_limit` runs and the rest estimated (the evidence
says how bytes were counted). It deletes nothing.

## Why it matters
Storage bills grow until someone deletes the wrong run: the one behind the production model.

## How it fails
`fail` when a protected run was already deleted (naming it and why it is protected), or when
artifacts cannot be listed.

## How to fix
Restore the run (`mlflow.tracking.MlflowClient().restore_run(run_id)`), and clean up with
`mltrack cleanup` (dry run unless `--apply`), which never touches a protected run.
"""


@dataclass(frozen=True)
class CleanupPlan:
    protected: dict[str, list[str]]  # run id -> reasons
    candidates: list[RunRecord]
    deleted_protected: list[dict[str, Any]] = field(default_factory=list)


def cleanup_plan(snapshot: StoreSnapshot, policy: Policy, keep_top: int | None = None,
                 older_than_days: float | None = None) -> CleanupPlan:
    """Pure: which runs are protected (and why), which may go. Shared with `mltrack cleanup`."""
    keep_top = policy.keep_top if keep_top is None else keep_top
    reasons = protections(snapshot, metric=policy.metric, goal=policy.metric_goal, keep_top=keep_top,
                          references_from_deleted=False)
    active = training_runs(snapshot, policy)
    deleted = []
    for run_id, why in reasons.items():
        run = snapshot.run(run_id)
        if run is None or run.lifecycle_stage != "active":
            deleted.append({"run_id": run_id, "name": run.name if run else None,
                            "state": "missing from the store" if run is None else run.lifecycle_stage,
                            "protected_because": why})
    candidates = [r for r in active if r.run_id not in reasons and (
        older_than_days is None or (age_days(snapshot, r.start_time) or 0) > older_than_days)]
    return CleanupPlan(reasons, candidates, deleted)


def gather(ctx: GatherContext) -> dict[str, Any]:
    plan = cleanup_plan(ctx.snapshot, ctx.policy)
    prefetch_artifacts(ctx, plan.candidates[: ctx.policy.cleanup_list_limit])
    counted, failures, how_counts, total = 0, [], {}, 0
    estimated = 0
    listed = ctx.cache.get("artifacts", {})
    for run in plan.candidates:
        if run.artifacts is None and local_root(run.artifact_uri) is None and run.run_id not in listed:
            estimated += 1  # beyond cleanup_list_limit: estimated from the listed runs' mean
            continue
        files, how = artifacts_of(ctx, run)
        if files is None:
            failures.append({"run_id": run.run_id, "error": how})
            continue
        counted += 1
        total += artifact_bytes(files)
        how_counts[how] = how_counts.get(how, 0) + 1
    if estimated and counted:
        total += round(total / counted * estimated)
    return {"reclaimable_bytes": total, "runs_counted": counted, "runs_estimated": estimated,
            "listed_by": how_counts, "listing_failures": failures[:20], "listing_failure_count": len(failures)}


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    plan = cleanup_plan(snapshot, policy)
    facts: dict[str, Any] = {
        "candidates": len(plan.candidates), "candidate_runs": shorten([r.run_id for r in plan.candidates]),
        "protected": len(plan.protected), "keep_top": policy.keep_top,
        "deleted_protected": plan.deleted_protected, **dict(evidence),
    }
    facts["how_counted"] = (f"{evidence.get('runs_counted', 0)} runs listed "
                            f"({', '.join(f'{n} via {k}' for k, n in evidence.get('listed_by', {}).items()) or 'none'})"
                            + (f", {evidence['runs_estimated']} estimated from their mean" if evidence.get("runs_estimated") else ""))
    if plan.deleted_protected:
        first = plan.deleted_protected[0]
        return Verdict(Status.FAIL, f"protected run {first['run_id']} ({first['name'] or 'unnamed'}) is "
                       f"{first['state']}; it is protected: {'; '.join(first['protected_because'])}", facts,
                       "Restore it (MlflowClient().restore_run) and clean up only with `mltrack cleanup`, "
                       "which never deletes a protected run")
    if evidence.get("listing_failure_count"):
        return Verdict(Status.FAIL, f"artifacts of {evidence['listing_failure_count']} run(s) cannot be listed: "
                       f"{evidence['listing_failures'][0]['error']}", facts,
                       "Check the artifact store's permissions and reachability")
    mib = evidence.get("reclaimable_bytes", 0) / 2**20
    return Verdict(Status.PASS, f"{len(plan.candidates)} unprotected runs could be cleaned up, freeing "
                   f"{mib:.1f} MiB; {len(plan.protected)} runs protected, none at risk (nothing deleted)", facts)


CHECK = Check("MLP09", "artifact-cleanup",
              "Computes reclaimable bytes outside protected runs; fails if a protected run was deleted.",
              DOC, judge, gather)
