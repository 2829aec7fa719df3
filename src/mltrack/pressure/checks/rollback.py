"""MLP05 rollback: if production breaks now, what do we roll back to, and how fast?"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mltrack.model import Status, StoreSnapshot
from mltrack.pressure.base import Check, GatherContext, Verdict, no_model_to_judge, production_versions
from mltrack.promotions import previous_production, read_promotions
from mltrack.pressure.evidence import fetch_and_load
from mltrack.pressure.typed_evidence import TypedEvidence
from mltrack.pressure.policy import Policy

DOC = """\
## What it checks
For each registered model, the previous production version is identifiable from evidence (the
promotion records, else one newest `mltrack.production_until` version tag), by the very rule
`mltrack rollback` follows: after a rollback the next one goes further back. An Archived stage
is not evidence (a version can be archived straight from Staging), so a registry without
records fails, listing the candidates. The previous version's training run is not deleted, its
weights download and verify, and the exact rollback - which alias or stage moves to which
version - is reported and timed end to end. All of this only reads, so it works with a read-only
token. With `--mltrack-rollback-drill` (pytest) it also rehearses for real in a sandbox
registered model (copies of the two versions; production moved back and forth there, never in
the real model; target `drill_target_s`), and deletes the sandbox even when the drill fails.

## Why it matters
"Roll back now" is asked at the worst time. MLflow keeps no alias history: without promotion
records nobody can say what production was before.

## How it fails
`fail`: "previous production version cannot be identified" (with the candidates), only one
version (nothing to roll back to), no single production version (each one named, with how it is
production), the previous version's run deleted, its weights do not verify, or the drill
failed or was slower than the target.

## How to fix
Write every promotion down: a registered-model tag `mltrack.promotion.<stamp>.<id>` holding
`{"version", "alias", "promoted_at", "previous", "by"}` (`mltrack rollback` writes one per
rollback). Until then, a rollback needs a human to choose: `mltrack rollback --to VERSION`.
"""


def _plans(snapshot: StoreSnapshot, policy: Policy) -> list[dict[str, Any]]:
    alias = policy.production_alias
    plans = []
    for name in policy.registered_models:
        model = snapshot.registered_model(name)
        if model is None:
            plans.append({"model": name, "problem": f"registered model {name!r} does not exist"})
            continue
        records = read_promotions(model.tags)
        current, how = production_versions(model, alias)
        if not current:  # production-model reports the missing alias; the records still know
            last = model.version(str(records[-1].get("version"))) if records else None
            current, how = ([last], "last promotion record") if last else ([], how)
        if len(current) != 1:
            plans.append({"model": name, "problem": _no_single_production(name, current, how, alias)})
            continue
        # The very rule `mltrack rollback` follows: evidence only, after a rollback further back.
        listing = [(v.version, v.current_stage, v.tags) for v in model.versions]
        found = previous_production(current[0].version, records, listing, alias)
        previous = found.version if found.version is None or model.version(found.version) else None
        plan: dict[str, Any] = {"model": name, "current": current[0].version, "current_found_by": how,
                                "previous": previous, "found_by": found.how,
                                "candidates": list(found.candidates)}
        if previous is None and found.alone:
            plan["problem"] = (f"{name!r} has only one version (v{current[0].version}, production by {how}): "
                               "nothing to roll back to")
        elif previous is None:
            why = found.how if found.version is None else f"the records name version {found.version}, which does not exist"
            listed = f"; candidates: {', '.join('v' + c for c in found.candidates)}" if found.candidates else ""
            plan["problem"] = f"{name!r}: previous production version cannot be identified ({why}{listed})"
        else:
            version = model.version(previous)
            run_id = version.run_id if version is not None else None
            run = snapshot.run(run_id) if run_id else None
            if run is not None and run.lifecycle_stage == "deleted":
                plan["problem"] = (f"{name!r}: the training run {run_id} of previous version v{previous} is "
                                   "deleted: mltrack rollback would refuse it")
            has_alias = alias in model.aliases or any(alias in v.aliases for v in model.versions)
            staged = current[0].current_stage.lower() == "production"
            moves = []
            if has_alias or not staged:
                moves.append(f"alias @{alias}: v{current[0].version} -> v{previous}")
            if staged:
                moves.append(f"stage Production: v{current[0].version} -> Archived, v{previous} -> Production")
            plan["moves"] = moves
        plans.append(plan)
    return plans


def _no_single_production(name: str, current: list[Any], how: str, alias: str) -> str:
    """Why there is nothing single to roll back from, naming each production version and how."""
    if not current:
        return (f"{name!r} has no production version to roll back from "
                f"(no alias @{alias}, no version in stage Production, no promotion record)")
    named = ", ".join(f"v{v.version} ({how})" for v in current)
    return f"{name!r} has no single production version to roll back from: {len(current)} are production, {named}"


@dataclass(frozen=True)
class RollbackEvidence(TypedEvidence):
    # model name -> the previous version's download and verification, timed end to end
    loads: dict[str, Any] = field(default_factory=dict)
    # model name -> the rollback drill's outcome (only with --rollback-drill)
    drills: dict[str, Any] = field(default_factory=dict)
    drill_requested: bool = False  # False: the store was only read


def gather(ctx: GatherContext) -> dict[str, Any]:
    timings: dict[str, Any] = {}
    drills: dict[str, Any] = {}
    for plan in _plans(ctx.snapshot, ctx.policy):
        if plan.get("problem"):
            continue
        started = time.perf_counter()
        load = fetch_and_load(ctx, f"models:/{plan['model']}/{plan['previous']}", f"rollback-{plan['model']}")
        load["end_to_end_s"] = round(time.perf_counter() - started, 3)
        timings[plan["model"]] = load
        if ctx.rollback_drill:
            from mltrack.pressure.drill import rollback_drill

            drills[plan["model"]] = rollback_drill(ctx, plan["model"], plan["current"], plan["previous"])
    return RollbackEvidence(loads=timings, drills=drills, drill_requested=ctx.rollback_drill).to_dict()


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    gathered = RollbackEvidence.from_dict(evidence)  # first: a renamed key fails on any store
    nothing = no_model_to_judge(snapshot, policy, "rollback")
    if nothing is not None:
        return nothing
    plans = _plans(snapshot, policy)
    loads, drills = gathered.loads, gathered.drills
    problems = [p["problem"] for p in plans if p.get("problem")]
    for plan in plans:
        load = loads.get(plan["model"])
        if load is not None:
            plan["previous_load"] = dict(load)
            if not load.get("downloaded") or (load.get("error") and not load.get("loaded")):
                problems.append(f"{plan['model']!r} v{plan['previous']}: {load.get('error')}")
        drill = drills.get(plan["model"])
        if drill is not None:
            plan["drill"] = dict(drill)
            if not drill.get("ok"):
                problems.append(f"{plan['model']!r} rollback drill failed: {drill.get('error')}")
            elif drill.get("seconds", 0) > policy.drill_target_s:
                problems.append(f"{plan['model']!r} rollback drill took {drill['seconds']:.1f} s "
                                f"(target {policy.drill_target_s:g} s)")
    facts = {"plans": plans, "read_only": not gathered.drill_requested}
    if problems:
        return Verdict(Status.FAIL, "; ".join(problems), facts,
                       "Record every promotion (mltrack rollback writes a promotion record and "
                       "production_since/until tags); where the previous version is unknown, choose it: "
                       "mltrack rollback --tracking-uri \"$MLTRACK_TRACKING_URI\" --model NAME --to VERSION")
    text = "; ".join(f"{p['model']}: {', '.join(p['moves'])}" for p in plans)
    drilled = " (drill rehearsed in a sandbox)" if drills else ""
    return Verdict(Status.PASS, f"rollback ready: {text}{drilled}", facts)


CHECK = Check("MLP05", "rollback",
              "The previous production version is identifiable and loads; the rollback is planned and timed.",
              DOC, judge, gather, evidence_type=RollbackEvidence)
