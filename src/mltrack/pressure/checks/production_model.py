"""MLP02 production-model: which model is in production, and can we load it now?"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mltrack.model import RegisteredModelRecord, Status, StoreSnapshot
from mltrack.pressure.base import Check, GatherContext, Verdict, iso, no_model_to_judge, production_versions
from mltrack.model_verify import describe_mode
from mltrack.pressure.evidence import fetch_and_load
from mltrack.pressure.typed_evidence import TypedEvidence
from mltrack.pressure.policy import Policy
from mltrack.run_kinds import source_run_ids

DOC = """\
## What it checks
Each registered model in `registered_models` has exactly one production version (the
`production_alias` alias first, the legacy `Production` stage as fallback). Reports the version,
its source run, creation time and metric; downloads the weights, verifies them without running
them (the `MLmodel` parses, the files are there with the listed sizes, weights are read by a
loader that cannot run code or by a scan of their pickle opcodes), and measures the time to
answer (target: `answer_target_s`, 30 s). With `load_models` the model is also loaded, in a
child process, and the load counts in the time to answer. The evidence says which mode verified
it (`verified_by`: static, weights-only, full load (subprocess)).

## Why it matters
"Which model is in production?" must have one answer, in seconds, that ends with weights you
can actually load - not a guess from a spreadsheet.

## How it fails
`fail` names the model with no production version (or with several), or whose weights do not
download, are damaged or incomplete, or (with `load_models`) do not load. `warn` when
answering took longer than the target, and when the training run behind the production
version, or behind any version holding an alias or the Staging/Production stage, was deleted
or purged (`mlflow gc`): the version still serves, but nobody can say any more how it was made.

## How to fix
Promote exactly one version: `client.set_registered_model_alias(name, "production", version)`
(or `mltrack rollback`), and log models with `mlflow.pytorch.log_model`. Restore a deleted
training run (`mlflow runs restore --run-id ...`) before `mlflow gc` purges it.
"""


def _models(snapshot: StoreSnapshot, policy: Policy):
    return [(name, snapshot.registered_model(name)) for name in policy.registered_models]


@dataclass(frozen=True)
class ProductionEvidence(TypedEvidence):
    # model name -> its single production version's download and verification (fetch_and_load)
    loads: dict[str, Any] = field(default_factory=dict)


def gather(ctx: GatherContext) -> dict[str, Any]:
    loads: dict[str, Any] = {}
    for name, model in _models(ctx.snapshot, ctx.policy):
        if model is None:
            continue
        versions, _ = production_versions(model, ctx.policy.production_alias)
        if len(versions) == 1:
            loads[name] = fetch_and_load(ctx, f"models:/{name}/{versions[0].version}", f"prod-{name}")
    return ProductionEvidence(loads).to_dict()


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    loads = ProductionEvidence.from_dict(evidence).loads  # first: a renamed key fails on any store
    nothing = no_model_to_judge(snapshot, policy, "production version")
    if nothing is not None:
        return nothing
    models: list[dict[str, Any]] = []
    problems: list[str] = []
    slow: list[str] = []
    orphaned: list[dict[str, Any]] = []
    for name, model in _models(snapshot, policy):
        if model is None:
            problems.append(f"registered model {name!r} does not exist")
            continue
        orphaned += _orphaned_versions(snapshot, model, policy.production_alias)
        versions, how = production_versions(model, policy.production_alias)
        if not versions:
            problems.append(f"{name!r} has no production version (no @{policy.production_alias} alias, "
                            "no version in stage Production)")
            models.append({"model": name, "versions": [v.version for v in model.versions]})
            continue
        if len(versions) > 1:
            problems.append(f"{name!r} has {len(versions)} production versions "
                            f"({', '.join('v' + v.version for v in versions)}) via {how}")
            continue
        version = versions[0]
        run = snapshot.run(version.run_id) if version.run_id else None
        facts: dict[str, Any] = {
            "model": name, "version": version.version, "found_by": how, "source_run": version.run_id,
            "source_run_name": run.name if run else None, "created": iso(version.creation_time),
            policy.metric: (run.metrics.get(policy.metric) if run else None)
            or version.tags.get(policy.metric),
        }
        load = loads.get(name)
        if load is not None:
            facts["load"] = dict(load)
            if not load.get("downloaded") or (load.get("error") and not load.get("loaded")):
                problems.append(f"{name!r} v{version.version}: {load.get('error')}")
            elif load.get("answer_s", 0) > policy.answer_target_s:
                slow.append(f"{name!r} v{version.version} took {load['answer_s']:.1f} s to {_steps(load)}")
        models.append(facts)
    evidence_out = {"models": models, "target_s": policy.answer_target_s, "orphaned_versions": orphaned}
    if problems:
        return Verdict(Status.FAIL, "; ".join(problems), evidence_out,
                       f"Promote exactly one version with alias @{policy.production_alias} "
                       "(or `mltrack rollback --model NAME --to VERSION`)")
    warnings = [f"{'; '.join(slow)} (target {policy.answer_target_s:g} s)"] if slow else []
    warnings += [f"{o['model']!r} v{o['version']} ({o['holds']}): its training run {o['run_id']} "
                 f"{'was purged (not in the store)' if o['state'] == 'purged' else 'is deleted'}" for o in orphaned]
    if warnings:
        return Verdict(Status.WARN, "; ".join(warnings), evidence_out,
                       "Restore deleted training runs (mlflow runs restore) before mlflow gc purges them"
                       if orphaned else None)
    summary = ", ".join(f"{m['model']} v{m['version']} (run {m['source_run']}"
                        + (f", {m['load']['answer_s']:.1f} s to {_steps(m['load'])}"
                           if "load" in m and "answer_s" in m["load"] else "")
                        + ")" for m in models)
    return Verdict(Status.PASS, f"in production: {summary}", evidence_out)


def _orphaned_versions(snapshot: StoreSnapshot, model: RegisteredModelRecord, alias: str) -> list[dict[str, Any]]:
    """Versions that serve or may serve (production, any alias, stage Staging/Production) whose
    training run is deleted (still in the snapshot, not active) or purged (absent entirely)."""
    production, _ = production_versions(model, alias)
    found = []
    for version in model.versions:
        holds = [f"@{a}" for a, v in model.aliases.items() if v == version.version]
        holds += [f"@{a}" for a in version.aliases if f"@{a}" not in holds]
        if version.current_stage.lower() in ("production", "staging"):
            holds.append(f"stage {version.current_stage}")
        if version in production and not holds:
            holds.append("production")
        run_ids = source_run_ids(version, snapshot)
        if not holds or not run_ids:
            continue
        runs = [snapshot.run(rid) for rid in run_ids]
        if any(r is not None and r.lifecycle_stage == "active" for r in runs):
            continue
        state = "purged" if runs[0] is None else "deleted"
        found.append({"model": model.name, "version": version.version, "holds": ", ".join(holds),
                      "run_id": run_ids[0], "state": state,
                      "run_name": runs[0].name if runs[0] is not None else None})
    return found


def _steps(load: Mapping[str, Any]) -> str:
    """What the timed answer included, so a fast static check is never read as a load."""
    verb = "load" if load.get("loaded") else "verify"
    return f"download and {verb} by {describe_mode(load.get('verified_by'))}"


CHECK = Check("MLP02", "production-model",
              "Each registered model has exactly one production version whose weights download and verify.",
              DOC, judge, gather, evidence_type=ProductionEvidence)
