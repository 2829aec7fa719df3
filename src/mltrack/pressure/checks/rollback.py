"""MLP05 rollback: if production breaks now, what do we roll back to, and how fast?"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from mltrack.model import Status, StoreSnapshot
from mltrack.pressure.base import Check, GatherContext, Verdict, previous_production, production_versions
from mltrack.promotions import read_promotions
from mltrack.pressure.evidence import fetch_and_load
from mltrack.pressure.policy import Policy

DOC = """\
## What it checks
For each registered model, the previous production version is identifiable (the
`mltrack.promotions` record, `mltrack.production_until` version tags, or an Archived stage),
its weights download and load, and the exact rollback - which alias or stage moves to which
version - is reported and timed end to end. All of this only reads, so it works with a read-only
token. With `--mltrack-rollback-drill` (pytest) it also rehearses for real in a sandbox
registered model (copies of the two versions; production moved back and forth there, never in
the real model; target `drill_target_s`), and deletes the sandbox even when the drill fails.

## Why it matters
"Roll back now" is asked at the worst time. MLflow keeps no alias history: without promotion
records nobody can say what production was before.

## How it fails
`fail`: "previous production version cannot be identified", or its weights do not load, or the
drill failed or was slower than the target.

## How to fix
Promote with `mltrack rollback` (or write the `mltrack.promotions` record and
`mltrack.production_since/until` tags yourself) so every promotion is written down.
"""


def _plans(snapshot: StoreSnapshot, policy: Policy) -> list[dict[str, Any]]:
    plans = []
    for name in policy.registered_models:
        model = snapshot.registered_model(name)
        if model is None:
            plans.append({"model": name, "problem": f"registered model {name!r} does not exist"})
            continue
        current, how = production_versions(model, policy.production_alias)
        if not current:  # production-model reports the missing alias; the records still know
            records = read_promotions(model.tags)
            last = model.version(str(records[-1].get("version"))) if records else None
            current, how = ([last], "last promotion record") if last else ([], how)
        if len(current) != 1:
            plans.append({"model": name, "problem": f"{name!r} has no single production version to roll back from"})
            continue
        previous, source = previous_production(model, current[0].version, policy.production_alias)
        plan: dict[str, Any] = {"model": name, "current": current[0].version, "current_found_by": how,
                                "previous": previous, "found_by": source}
        if previous is None:
            plan["problem"] = f"{name!r}: previous production version cannot be identified ({source})"
        else:
            moves = []
            if "alias" in how or model.aliases or read_promotions(model.tags):
                moves.append(f"alias @{policy.production_alias}: v{current[0].version} -> v{previous}")
            if any(v.current_stage.lower() == "production" for v in model.versions):
                moves.append(f"stage Production: v{current[0].version} -> Archived, v{previous} -> Production")
            plan["moves"] = moves
        plans.append(plan)
    return plans


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
    return {"loads": timings, "drills": drills, "drill_requested": ctx.rollback_drill}


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    plans = _plans(snapshot, policy)
    loads = evidence.get("loads", {})
    drills = evidence.get("drills", {})
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
    facts = {"plans": plans, "read_only": not evidence.get("drill_requested", False)}
    if problems:
        return Verdict(Status.FAIL, "; ".join(problems), facts,
                       "Record every promotion (mltrack rollback writes mltrack.promotions and "
                       "production_since/until tags), or archive the old version's stage")
    text = "; ".join(f"{p['model']}: {', '.join(p['moves'])}" for p in plans)
    drilled = " (drill rehearsed in a sandbox)" if drills else ""
    return Verdict(Status.PASS, f"rollback ready: {text}{drilled}", facts)


CHECK = Check("MLP05", "rollback",
              "The previous production version is identifiable and loads; the rollback is planned and timed.",
              DOC, judge, gather)
