"""MLP01 recovery: can we find our best run and rebuild it?"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mltrack import conventions, run_facts, synonyms
from mltrack.model import Status, StoreSnapshot
from mltrack.model_verify import FULL_LOAD, describe_mode
from mltrack.pressure.base import (
    EVIDENCE_LIMIT, Check, GatherContext, Verdict, diverged_ref, missing_fields, ranking, run_ref, shorten,
    training_runs,
)
from mltrack.pressure.typed_evidence import TypedEvidence
from mltrack.pressure.evidence import (
    MODEL_SUFFIXES, artifacts_of, check_model, describe_error, fetch_and_load, reraise_if_store_down,
)
from mltrack.pressure.rerun import rerun
from mltrack.pressure.policy import Policy
from mltrack.ranking import Ranking, describe_diverged

DOC = """\
## What it checks
Finds the best run of the configured experiments by the configured metric (`metric`,
`metric_goal`) and verifies that every required reproduction field is logged on it (learning
rate, batch size, optimizer, random seed, git commit - a param or MLflow's
`mlflow.source.git.commit` tag - and data hash; synonyms such as `lr` count, and so do MLflow's
own records: a dataset input's digest is a data hash, a `random_state` inside autolog's
`estimator` param is a seed, and a sweep's trial takes the data and commit its parent run
recorded when it records none itself), and that its model
or checkpoint downloads and is well-formed. The model is verified without running it (its
`MLmodel` parses, its files are there with the listed sizes, weights are read by a loader that
cannot run code or by a scan of their pickle opcodes); with `load_models` it is also loaded, in a
child process. With `rerun_command` configured it re-trains the run from its logged params in a
scratch experiment and compares the metric within `rerun_tolerance`.

## Why it matters
"Which run was our best, and can we rebuild it?" is the first question asked when a model
misbehaves. A best run without its seed, commit or data version cannot be rebuilt.

## How it fails
`fail` names the best run (id and name) and the exact fields missing, or the artifact that
does not download or is damaged, or the re-run metric that does not match. `warn` when the
best run names its data only by a path or version, not a hash: it can be re-run, but nobody
can prove it would see the same data (the `data-change` check fails on that).

## How to fix
Log every hyperparameter, the seed, the git commit and a data hash in the training script.
Lint rules `missing-seed`, `unlogged-hyperparameters`, `missing-code-version` and
`missing-data-version` catch these before the run.
"""

FIX = ("Log the missing fields from the training script (lint rules missing-seed, "
       "unlogged-hyperparameters, missing-code-version, missing-data-version prevent this)")


def _best(snapshot: StoreSnapshot, policy: Policy):
    return _ranking(snapshot, policy).best


def _ranking(snapshot: StoreSnapshot, policy: Policy) -> Ranking:
    """Finished training runs by the metric; NaN / inf runs diverged and are never best. Only
    the best run and the first diverged ones (by run id) are kept, with the counts of both."""
    # gather and judge both ask: ranked once per snapshot and policy (a pass over every run)
    cache = snapshot.__dict__.setdefault("_recovery_rankings", {})  # not a field: never serialised
    key = (policy.metric, policy.higher_is_better, tuple(policy.experiments))
    order = cache.get(key)
    if order is None:
        finished = (r for r in training_runs(snapshot, policy) if r.status == "FINISHED")
        order = cache[key] = ranking(finished, policy, top=1, diverged_limit=EVIDENCE_LIMIT)
    return order


def _where(policy: Policy) -> str:
    return ", ".join(repr(e) for e in policy.experiments) or "no experiment (experiments is empty)"


@dataclass(frozen=True)
class RecoveryEvidence(TypedEvidence):
    """What gather found for the best run (both absent: no best run)."""

    artifact: dict[str, Any] | None = None  # its model: downloaded, path, bytes, verified_by, error
    rerun: dict[str, Any] | None = None  # the re-run's outcome, only when a rerun_command is set


def gather(ctx: GatherContext) -> dict[str, Any]:
    best = _best(ctx.snapshot, ctx.policy)
    if best is None:
        return RecoveryEvidence().to_dict()
    artifact = _fetch_artifact(ctx, best)
    return RecoveryEvidence(artifact, rerun(ctx, best) if ctx.policy.rerun_command else None).to_dict()


def _fetch_artifact(ctx: GatherContext, run) -> dict[str, Any]:
    if run.logged_model_ids:
        return fetch_and_load(ctx, f"models:/{run.logged_model_ids[0]}", "recovery-model")
    files, how = artifacts_of(ctx, run)
    if files is None:
        return {"downloaded": False, "error": f"artifacts could not be listed ({how})"}
    weights = [f for f in files if f.path.endswith(MODEL_SUFFIXES) or "checkpoint" in f.path]
    if not weights:
        return {"downloaded": False, "error": f"no model or checkpoint among {len(files)} artifact files"}
    target = weights[-1].path
    try:
        dst = ctx.workdir / "recovery-artifact"
        dst.mkdir(parents=True, exist_ok=True)
        local = ctx.adapter.download_artifact(run.run_id, target, dst)
    except Exception as exc:  # noqa: BLE001
        reraise_if_store_down(exc)
        return {"downloaded": False, "path": target, "error": f"download failed: {describe_error(exc)}"}
    listed = {local.name: weights[-1].size} if local.is_file() else None
    return {"downloaded": True, "path": target, "bytes": weights[-1].size,
            **check_model(local, load_models=ctx.policy.load_models, listed=listed, timeout_s=ctx.policy.timeout_s)}


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    gathered = RecoveryEvidence.from_dict(evidence)  # first: a renamed key fails on any store
    order = _ranking(snapshot, policy)
    best = order.best
    diverged = [diverged_ref(r, policy) for r in order.diverged]
    if best is None:
        runs = sum(1 for _ in training_runs(snapshot, policy))
        looked = {"experiments": list(policy.experiments), "metric": policy.metric,
                  "training_runs": runs, "diverged_runs": shorten(diverged)}
        if not runs:  # nothing was trained: there is no best run to rebuild, and that is no failure
            return Verdict(Status.SKIP, f"no training runs to judge (looked in {_where(policy)})", looked)
        why = (f"; {order.diverged_count} diverged "
               f"({describe_diverged(order.diverged, policy.metric, total=order.diverged_count)})"
               if order.diverged_count else "")
        return Verdict(Status.FAIL, f"none of the {runs} training runs in {_where(policy)} finished with a "
                       f"finite {policy.metric!r}{why}", looked,
                       "Log the metric with mlflow.log_metric (lint rule metrics-not-logged)")
    facts: dict[str, Any] = {"best_run": run_ref(best, policy), "metric_goal": policy.metric_goal,
                             "diverged_runs": shorten(diverged), "diverged_count": order.diverged_count}
    parent = run_facts.parent_of(snapshot, best)  # a sweep's trial: the study's data and commit
    missing = missing_fields(best, policy.required_fields, data_reference_ok=True, parent=parent)
    facts["missing_fields"] = missing
    if parent is not None:
        facts["parent_run"] = run_ref(parent)
    script = best.tags.get(synonyms.TAG_SOURCE_NAME) or (parent.tags.get(synonyms.TAG_SOURCE_NAME) if parent else None)
    if script:  # MLflow's record of the entry point that trained it: what to re-run
        facts["source"] = script
    data_names = policy.required_fields.get(conventions.PARAM_DATA_HASH, ())
    if conventions.PARAM_DATA_HASH in policy.required_fields and \
            not run_facts.data_hash(best, data_names, parent):
        facts["data_identified_by"] = run_facts.data_reference(best, parent)  # data-change flags the missing hash
    artifact = gathered.artifact
    if artifact is not None:
        facts["artifact"] = dict(artifact)
    name = f"best run {best.name!r} ({best.run_id}, {policy.metric}={best.metrics[policy.metric]:g})"
    if order.diverged_count:  # named, so a NaN trial is never mistaken for a missing or a best one
        name += (f" [{order.diverged_count} diverged run(s) not ranked: "
                 f"{describe_diverged(order.diverged, policy.metric, limit=3, total=order.diverged_count)}]")
    if missing:
        return Verdict(Status.FAIL, f"{name} cannot be rebuilt: missing {', '.join(missing)}", facts, FIX)
    if artifact is not None and not artifact.get("downloaded"):
        return Verdict(Status.FAIL, f"{name}: its model does not download ({artifact.get('error')})", facts,
                       "Log the model or checkpoint as an artifact (lint rule model-overwrite)")
    if artifact is not None and artifact.get("error") and not artifact.get("loaded"):
        broken = "does not load" if artifact.get("verified_by") == FULL_LOAD else "is damaged or incomplete"
        return Verdict(Status.FAIL, f"{name}: its model {broken} ({artifact.get('error')})", facts,
                       "Log the model with mlflow.pytorch.log_model so it loads")
    rerun_facts = gathered.rerun
    if rerun_facts is not None:
        facts["rerun"] = dict(rerun_facts)
        if not rerun_facts.get("ok"):
            return Verdict(Status.FAIL, f"{name}: re-run failed ({rerun_facts.get('error')})", facts,
                           "Make the training command reproducible from logged params")
        delta = abs(float(rerun_facts["metric"]) - float(best.metrics[policy.metric]))
        facts["rerun"]["delta"] = delta
        if delta > policy.rerun_tolerance:
            return Verdict(Status.FAIL, f"{name}: re-run gives {policy.metric}={rerun_facts['metric']:g} "
                           f"(off by {delta:g} > tolerance {policy.rerun_tolerance:g})", facts,
                           "Seed every RNG and pin nondeterministic ops (lint rules missing-seed, "
                           "nondeterministic-ops)")
    how = "re-run matches" if rerun_facts else _model_how(artifact) if artifact else "fields present"
    if "data_identified_by" in facts:
        # The run names its data by path or version only: it can be re-run, but nobody can prove it
        # saw the same bytes. A warning here; data-change owns the failure.
        return Verdict(Status.WARN, f"{name} can be re-run, but its data is identified only by "
                       f"{facts['data_identified_by']!r}, not by a hash ({how})", facts,
                       "Log a hash of the data files (lint rule missing-data-version; check data-change)")
    return Verdict(Status.PASS, f"{name} is reproducible: all required fields logged, {how}", facts)


def _model_how(artifact: Mapping[str, Any]) -> str:
    """How the model was shown to be there: which verification, never more than was done."""
    if artifact.get("verified_by"):
        return f"model downloads and is verified by {describe_mode(artifact['verified_by'])}"
    return "model downloads"


CHECK = Check("MLP01", "recovery",
              "The best run has every field needed to rebuild it, and its model downloads and verifies.",
              DOC, judge, gather, evidence_type=RecoveryEvidence)
