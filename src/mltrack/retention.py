"""Which runs must never be cleaned up, and why: one rule for `mltrack cleanup` and the
`artifact-cleanup` pressure check, so the dry run, `--apply` and the audit cannot disagree.

A run is protected when it is tagged `mltrack.keep=true`, still running, itself an inference
run (prediction lineage), among the top N by the metric in its experiment, behind a registered
model version, or referenced by an inference run (`training_run_id`). Deleted runs keep their
reasons too: a protected run that is already deleted is itself a finding.
"""

from __future__ import annotations

from collections import defaultdict

from mltrack import conventions
from mltrack.model import RunRecord, StoreSnapshot


def protections(snapshot: StoreSnapshot, *, metric: str = conventions.METRIC,
                goal: str = conventions.METRIC_GOAL, keep_top: int = 10,
                references_from_deleted: bool = True) -> dict[str, list[str]]:
    """run id -> why it must stay (ids of runs missing from the store may appear: a registered
    version or an inference run can name a run that is gone).

    `references_from_deleted`: whether a deleted inference run still protects its training run
    (cleanup errs on the safe side; the check does not blame a run deleted along with its user)."""
    reasons: dict[str, list[str]] = defaultdict(list)
    by_experiment: dict[str, list[RunRecord]] = defaultdict(list)
    for run in snapshot.runs:
        if run.tags.get(conventions.TAG_KEEP, "").lower() == "true":
            reasons[run.run_id].append(f"tagged {conventions.TAG_KEEP}=true")
        if run.lifecycle_stage != "active":
            continue
        if run.status in {"RUNNING", "SCHEDULED"}:
            reasons[run.run_id].append(f"still {run.status.lower()}")
        if run.tags.get(conventions.TAG_RUN_TYPE) == conventions.RUN_TYPE_INFERENCE:
            reasons[run.run_id].append("inference run (prediction lineage)")
        elif metric in run.metrics:
            by_experiment[run.experiment_id].append(run)
    for runs in by_experiment.values():
        ranked = sorted(runs, key=lambda r: r.metrics[metric], reverse=goal != "min")
        for rank, run in enumerate(ranked[:keep_top], start=1):
            reasons[run.run_id].append(f"top {keep_top} by {metric} (#{rank})")
    for model in snapshot.registered_models:
        for version in model.versions:
            run_id = version.run_id or version.tags.get(conventions.VERSION_TAG_RUN_ID)
            if run_id:
                reasons[run_id].append(f"behind registered version {model.name} v{version.version}")
    for run in snapshot.runs:  # deleted inference runs still say where predictions came from
        if run.lifecycle_stage != "active" and not references_from_deleted:
            continue
        source = run.params.get("training_run_id") or run.tags.get("training_run_id")
        if source:
            reasons[source].append(f"referenced by inference run {run.name or run.run_id}")
    return {run_id: list(dict.fromkeys(why)) for run_id, why in reasons.items()}
