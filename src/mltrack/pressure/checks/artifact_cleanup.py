"""MLP09 artifact-cleanup: what could we delete, what would it free, and is anything protected at risk?"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mltrack.bounded import Smallest
from mltrack.model import ArtifactFile, RunRecord, Status, StoreSnapshot
from mltrack.pressure.base import EVIDENCE_LIMIT, Check, GatherContext, Verdict
from mltrack.pressure.evidence import artifact_bytes, artifacts_of, local_root, prefetch_artifacts, walk_local
from mltrack.pressure.typed_evidence import TypedEvidence
from mltrack.pressure.policy import Policy
from mltrack.retention import RetentionPlan, RetentionRules, find_output_inference, plan_retention

DOC = """\
## What it checks
Computes what `mltrack cleanup` would delete - it calls the very planning function the command
calls (`mltrack.retention.plan_retention`) with the policy's `keep_top` and `old_run_days` - and
the bytes that would free (run artifacts listed recursively plus their MLflow 3 logged models).
Protected, by content rather than mltrack's tags: runs behind any registered version or alias
(`run_id`, a `runs:/<id>/...` source), inference runs (they load a model or write predictions
and log no training metric) and every run their lineage points to, the best `keep_top` runs
per experiment and the sweep parents (`mlflow.parentRunId`) holding them, runs newer than
`old_run_days` or still running, and runs tagged `mltrack.keep=true`. Local artifact stores are
walked on disk (the first 10,000 candidates), remote ones listed through the API for at most
`cleanup_list_limit` runs, and the rest estimated from the mean of those counted (the evidence
says how bytes were counted). It deletes nothing.

## Why it matters
Storage bills grow until someone deletes the wrong run: the one behind the production model,
or the inference runs that are the audit trail of every prediction.

## How it fails
`fail` when a protected run was already deleted (naming it and why it is protected), or when
artifacts cannot be listed.

## How to fix
Restore the run (`mlflow.tracking.MlflowClient().restore_run(run_id)`, or
`mltrack cleanup --restore JOURNAL` after an apply), and clean up only with `mltrack cleanup`
(dry run unless `--apply`), which never touches a protected run.
"""


# A local walk costs 1-2 ms a run (a scandir and a stat per file): walking every candidate of a
# million-run store would take half an hour, longer than reading the store. Past this many walks
# the rest are estimated from the walked runs' mean, as runs past cleanup_list_limit are behind
# an API; the evidence says how many were counted and how many estimated.
LOCAL_WALK_LIMIT = 10_000


def rules_of(policy: Policy) -> RetentionRules:
    """The policy's cleanup rules: the defaults of `mltrack cleanup` too."""
    return RetentionRules(policy.metric, policy.metric_goal, policy.keep_top, policy.old_run_days)


def cleanup_plan(snapshot: StoreSnapshot, policy: Policy,
                 inference_by_output: Mapping[str, str] | None = None) -> RetentionPlan:
    """Exactly what `mltrack cleanup` plans with the policy's defaults."""
    return plan_retention(snapshot, rules_of(policy), inference_by_output=inference_by_output)


@dataclass(frozen=True)
class CleanupEvidence(TypedEvidence):
    """What gather measures, by name: the judge and the audit summary (`reclaimable_bytes`) read
    these keys, so a renamed field breaks construction and the Check declaration, not a report.
    The defaults are what a recording without the key meant."""

    reclaimable_bytes: int = 0
    runs_counted: int = 0
    runs_estimated: int = 0
    listed_by: dict[str, int] = field(default_factory=dict)
    listing_failures: list[dict[str, Any]] = field(default_factory=list)
    listing_failure_count: int = 0
    inference_by_output: dict[str, str] | None = None  # None: not looked for


def gather(ctx: GatherContext) -> dict[str, Any]:
    rules = rules_of(ctx.policy)
    by_output = find_output_inference(ctx.snapshot, rules, lambda run: artifacts_of(ctx, run)[0])
    plan = plan_retention(ctx.snapshot, rules, inference_by_output=by_output)
    prefetch_artifacts(ctx, plan.first_candidates(ctx.policy.cleanup_list_limit))
    counted, total, estimated = 0, 0, 0
    # Candidates stream by in read order; what the evidence lists is in cleanup's order (oldest
    # first): the first listing failures, and each way of listing where it was first used.
    failures: Smallest[tuple[tuple[int, str], dict[str, Any]]] = Smallest(EVIDENCE_LIMIT, lambda f: f[0])
    how_counts: dict[str, int] = {}
    how_first: dict[str, tuple[int, str]] = {}
    listed = ctx.cache.get("artifacts", {})
    walks = 0
    for run, _why in plan.iter_candidates():
        if run.artifacts is None and run.run_id not in listed:
            local = local_root(run.artifact_uri) is not None
            if not local or walks >= LOCAL_WALK_LIMIT:
                estimated += 1  # beyond the listing limits: estimated from the listed runs' mean
                continue
            walks += 1
        order = (run.start_time or 0, run.run_id)
        files, how = _files_of(ctx, run, listed)
        if files is None:
            failures.add((order, {"run_id": run.run_id, "error": how}))
            continue
        counted += 1
        total += artifact_bytes(files)
        how_counts[how] = how_counts.get(how, 0) + 1
        how_first[how] = min(how_first.get(how, order), order)
    if estimated and counted:
        total += round(total / counted * estimated)
    return CleanupEvidence(reclaimable_bytes=total, runs_counted=counted, runs_estimated=estimated,
                           listed_by={how: how_counts[how] for how in sorted(how_counts, key=how_first.__getitem__)},
                           listing_failures=[failure for _, failure in failures.items()],
                           listing_failure_count=failures.count, inference_by_output=by_output).to_dict()


def _files_of(ctx: GatherContext, run: RunRecord, listed: Mapping[str, Any]
              ) -> tuple[tuple[ArtifactFile, ...] | None, str]:
    """A candidate's files and how they were listed: from the shared listings when a check (or
    the prefetch) listed it, else from the snapshot or the local disk, not kept in the shared
    cache: on a local store every candidate is walked, and a million of them must not stay."""
    if run.run_id in listed:
        return artifacts_of(ctx, run)
    if run.artifacts is not None:
        return run.artifacts, "snapshot"
    root = local_root(run.artifact_uri)
    return (walk_local(run, root), "local disk") if root is not None else artifacts_of(ctx, run)


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    gathered = CleanupEvidence.from_dict(evidence)  # first: a renamed key fails on any store
    if not snapshot.runs and not snapshot.registered_models:
        # no run (active or deleted) and no version pointing at one: nothing to reclaim or protect
        return Verdict(Status.SKIP, f"no runs and no registered models in the store "
                       f"({len(snapshot.experiments)} experiment(s), all empty): nothing to reclaim or protect",
                       {"experiments": [e.name for e in snapshot.experiments][:20]})
    plan = cleanup_plan(snapshot, policy, gathered.inference_by_output)
    # the candidates' ids, oldest first: the first cleanup_list_limit of them (the count is beside)
    shown = [r.run_id for r in plan.first_candidates(policy.cleanup_list_limit)]
    facts: dict[str, Any] = {
        "candidates": plan.candidate_count, "candidate_run_ids": shown,
        "protected": plan.protected_count, "keep_top": policy.keep_top, "older_than_days": policy.old_run_days,
        "deleted_protected": list(plan.deleted_protected), **dict(evidence),
    }
    facts["how_counted"] = (f"{gathered.runs_counted} runs listed "
                            f"({', '.join(f'{n} via {k}' for k, n in gathered.listed_by.items()) or 'none'})"
                            + (f", {gathered.runs_estimated} estimated from their mean" if gathered.runs_estimated else ""))
    if plan.deleted_protected:
        first = plan.deleted_protected[0]
        more = f" (and {len(plan.deleted_protected) - 1} more)" if len(plan.deleted_protected) > 1 else ""
        return Verdict(Status.FAIL, f"protected run {first['run_id']} ({first['name'] or 'unnamed'}) is "
                       f"{first['state']}; it is protected: {'; '.join(first['protected_because'])}{more}", facts,
                       "Restore it (MlflowClient().restore_run) and clean up only with `mltrack cleanup`, "
                       "which never deletes a protected run")
    if gathered.listing_failure_count:
        return Verdict(Status.FAIL, f"artifacts of {gathered.listing_failure_count} run(s) cannot be listed: "
                       f"{gathered.listing_failures[0]['error']}", facts,
                       "Check the artifact store's permissions and reachability")
    mib = gathered.reclaimable_bytes / 2**20
    return Verdict(Status.PASS, f"{plan.candidate_count} unprotected runs older than {policy.old_run_days} days "
                   f"could be cleaned up, freeing {mib:.1f} MiB; {plan.protected_count} runs protected, "
                   "none at risk (nothing deleted)", facts)


CHECK = Check("MLP09", "artifact-cleanup",
              "Computes reclaimable bytes outside protected runs; fails if a protected run was deleted.",
              DOC, judge, gather, summary_number="reclaimable_bytes", evidence_type=CleanupEvidence,
              groups=("monthly",))
