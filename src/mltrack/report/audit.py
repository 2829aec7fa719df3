"""The audit's data from the checks' outcome (mltrack.service.run_audit runs them): the key
numbers, the assumptions and the exit code of a report.json.

Key numbers for the trend come from the same snapshot the checks saw: active runs, distinct
users, active experiments, untracked fields (required reproduction fields missing, summed over
training runs) and the numbers checks declare (`Check.summary_number`: artifact-cleanup's
reclaimable bytes), read from their evidence when they ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mltrack.model import CheckResult, StoreSnapshot
from mltrack.report.schema import is_failing
from mltrack.run_facts import missing_fields
from mltrack.run_kinds import is_inference_run

if TYPE_CHECKING:
    from mltrack.pressure.assumptions import Assumption
    from mltrack.pressure.policy import Policy


def key_numbers(snapshot: StoreSnapshot, policy: Policy, results: Sequence[CheckResult]) -> dict[str, Any]:
    # One pass over the runs, keeping counts and the set of users (bounded by people, not runs).
    active, untracked, users = 0, 0, set()
    for run in snapshot.runs:
        if run.lifecycle_stage != "active":
            continue
        active += 1
        if run.user:
            users.add(run.user)
        if not is_inference_run(run, policy.metric):
            untracked += len(missing_fields(run, policy.required_fields))
    numbers: dict[str, Any] = {
        "runs": active,
        "users": len(users),
        "experiments": sum(1 for e in snapshot.experiments if e.lifecycle_stage == "active"),
        "untracked_fields": untracked,
        **check_numbers(results),
    }
    if snapshot.tracker == "wandb":  # offline runs never uploaded by `wandb sync` are easily lost
        numbers["never_synced_runs"] = len(snapshot.extras.get("never_synced_runs", ()))
        numbers["unreadable_run_logs"] = len(snapshot.extras.get("read_errors", ()))
    return numbers


def check_numbers(results: Sequence[CheckResult]) -> dict[str, int | None]:
    """The summary numbers the checks declare (`Check.summary_number`), read from their results'
    evidence: None for a check that did not run or gave no whole number (skipped, errored)."""
    from mltrack.pressure.registry import BY_NAME, CHECKS

    numbers: dict[str, int | None] = {c.summary_number: None for c in CHECKS if c.summary_number}
    for result in results:
        check = BY_NAME.get(result.name)
        key = check.summary_number if check is not None else None
        value = result.evidence.get(key) if key else None
        if key and isinstance(value, (int, float)):
            numbers[key] = int(value)
    return numbers


def with_assumptions(data: dict[str, Any], assumptions: Sequence[Assumption]) -> dict[str, Any]:
    """report.json's `assumptions`: what zero configuration inferred because the policy did not
    say (empty when the policy names everything), masked like the results."""
    from mltrack.secrets import mask_text, mask_value

    listed = []
    for assumption in assumptions:
        item = assumption.to_dict()
        item["value"] = mask_value("value", item["value"])[0]  # names from the store
        item["coverage"] = mask_text(item["coverage"])[0] if item["coverage"] else item["coverage"]
        listed.append(item)
    return {**data, "assumptions": listed}


def exit_code(report: dict[str, Any]) -> int:
    """0 all pass (warn and skip included), 1 a check failed or could not be evaluated."""
    return 1 if any(is_failing(r) for r in report["results"]) else 0
