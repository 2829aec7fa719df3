"""MLP06 prediction-audit: which model and which data made this prediction?

An inference run is judged by what MLflow itself recorded, whatever the team called things: the
model it loaded (a `models:/name/version` URI, a model name + version param or tag, a `runs:/`
URI, a logged-model id, or a training run id), the training run that version resolves to, its
input (a dataset input, or an input hash) and its output (a predictions artifact, or a hash).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mltrack import conventions, synonyms
from mltrack.bounded import Smallest
from mltrack.model import DatasetInputRecord, RunRecord, Status, StoreSnapshot
from mltrack.pressure.base import EVIDENCE_LIMIT, Check, GatherContext, Verdict, field_value, inference_runs
from mltrack.pressure.evidence import artifacts_of, local_root, prefetch_artifacts
from mltrack.pressure.typed_evidence import TypedEvidence
from mltrack.pressure.policy import Policy
from mltrack.run_kinds import ModelRef, model_references, predictions_outputs, source_run_ids, version_run_ids

DOC = """\
## What it checks
Every inference run (a run that loads a model and writes predictions with no training metric,
a run in `inference_experiments`, or one tagged `mltrack.run_type=inference`) can be traced by
MLflow's own records, end to end:
- **model**: it names the model it used - a `models:/name/3` URI, a model name and version
  param or tag, a `runs:/<id>/model` URI, a logged-model id (`models:/m-...`) or a training run
  id - and that version resolves to a training run that is still in the store. A run that
  recorded only an alias or a stage (`models:/name@production`) is not traceable: the alias
  may have moved since it ran, so which version answered is unknown;
- **input**: a dataset input (`mlflow.log_input`) or an input hash (`input_data_hash`);
- **output**: a predictions artifact (`predictions.csv`, `preds.parquet`, ...) or a predictions
  hash (`predictions_hash`).
Fields listed in a non-default `inference_fields` are required as well.

## Why it matters
"Which model and which data made prediction 12345?" is an audit question with a deadline. A
predictions file without lineage cannot be explained.

## How it fails
`fail` names each untraceable inference run and its exact missing link.

## How to fix
Record the pinned version you loaded (`models:/name/3`, or the alias's version at load time
via `MlflowClient().get_model_version_by_alias`), log the input with `mlflow.log_input(dataset,
context="inference")` and the predictions with `mlflow.log_artifact`; lint rule
`unversioned-predictions` flags prediction files written without them.
"""

FIX = ("Record the pinned model version, log the input dataset (mlflow.log_input) and the predictions "
       "artifact with every inference run (lint rule unversioned-predictions)")

INPUT_HASH_KEYS = synonyms.INPUT_HASH
OUTPUT_HASH_KEYS = synonyms.PREDICTIONS_HASH
TRAINING_RUN_KEYS = synonyms.TRAINING_RUN_ID


@dataclass(frozen=True)
class PredictionEvidence(TypedEvidence):
    # run id -> its predictions outputs, or None when its artifacts cannot be listed
    predictions_files: dict[str, Any] = field(default_factory=dict)


def gather(ctx: GatherContext) -> dict[str, Any]:
    """The predictions files of the inference runs that name no output hash (one listing per run,
    shared with other checks through the context cache)."""
    # Local listings are cheap; listings through the API stop at cleanup_list_limit runs (the
    # rest are reported as not verified, never as untraceable). Runs stream by in batches.
    remote = 0
    batch: list[RunRecord] = []
    outputs: dict[str, Any] = {}
    for run in inference_runs(ctx.snapshot, ctx.policy):
        if field_value(run, OUTPUT_HASH_KEYS) is not None:
            continue
        if run.artifacts is None and local_root(run.artifact_uri) is None:
            remote += 1
            if remote > ctx.policy.cleanup_list_limit:
                continue
        batch.append(run)
        if len(batch) >= _LIST_BATCH:
            _list_outputs(ctx, batch, outputs)
    _list_outputs(ctx, batch, outputs)
    return PredictionEvidence(outputs).to_dict()


_LIST_BATCH = 256  # runs listed concurrently at a time


def _list_outputs(ctx: GatherContext, runs: list[RunRecord], outputs: dict[str, Any]) -> None:
    prefetch_artifacts(ctx, runs)
    for run in runs:
        files, _how = artifacts_of(ctx, run)
        outputs[run.run_id] = None if files is None else predictions_outputs(files)
    runs.clear()


def _in_time_order(run: RunRecord) -> tuple[int, str, str]:
    return (run.start_time or 0, run.name or "", run.run_id)


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    files = PredictionEvidence.from_dict(evidence).predictions_files
    # Every inference run is traced as it streams by; what is shown is the first few in time
    # order (start time, name, run id), and counts.
    total = 0
    broken: Smallest[dict[str, Any]] = Smallest(EVIDENCE_LIMIT, lambda t: t["_order"])
    unverified: Smallest[dict[str, Any]] = Smallest(EVIDENCE_LIMIT, lambda t: t["_order"])
    traced: Smallest[dict[str, Any]] = Smallest(1, lambda t: t["_order"])
    alias_only: Smallest[dict[str, Any]] = Smallest(EVIDENCE_LIMIT, lambda t: t["_order"])
    for run in inference_runs(snapshot, policy):
        total += 1
        t = trace(run, snapshot, policy, files[run.run_id] if run.run_id in files else _listed(run))
        t["_order"] = _in_time_order(run)
        if t.get("alias_only"):
            alias_only.add(t)
        if t["missing"]:
            broken.add(t)
        elif t.get("unverified"):
            unverified.add(t)
        else:
            traced.add(t)
    if not total:
        return Verdict(Status.SKIP, _nothing_to_audit(policy), {"experiments": list(policy.inference_experiments)})
    shown_broken, first_unverified, first_traced = broken.items(), unverified.items(), traced.items()
    for t in (*shown_broken, *first_unverified, *first_traced):
        t.pop("_order", None)
    facts = {"inference_runs": total, "traceable": traced.count, "untraceable_count": broken.count,
             "untraceable": [{k: t[k] for k in ("run_id", "name", "missing")} for t in shown_broken],
             "alias_only": [t["run_id"] for t in alias_only.items()],
             "output_not_verified": [t["run_id"] for t in first_unverified],
             "example_chain": first_traced[0] if first_traced else None}
    if broken.count:
        named = "; ".join(f"{t['name'] or t['run_id']}: {' and '.join(t['missing'])}" for t in shown_broken[:3])
        more = f"; and {broken.count - 3} more" if broken.count > 3 else ""
        return Verdict(Status.FAIL, f"{broken.count} of {total} inference runs cannot be traced - "
                       f"{named}{more}", facts, FIX)
    if unverified.count:
        first = first_unverified[0]
        return Verdict(Status.WARN, f"{unverified.count} of {total} inference runs trace to their model and input, "
                       f"but their predictions output was not verified (e.g. {first['name'] or first['run_id']}: "
                       f"{first['unverified']})", facts, "Log a predictions hash with each inference run, or raise cleanup_list_limit")
    return Verdict(Status.PASS, f"all {total} inference runs trace to their model version's training run, "
                   f"their input and their predictions (e.g. {_chain_text(first_traced[0])})", facts)


def _listed(run: RunRecord) -> list[str] | None:
    """Predictions files from the snapshot's own listing (None: not listed)."""
    return None if run.artifacts is None else predictions_outputs(run.artifacts)


def _nothing_to_audit(policy: Policy) -> str:
    where = (f"none in {', '.join(repr(e) for e in policy.inference_experiments)}, "
             if policy.inference_experiments else "")
    return (f"no inference runs to audit: {where}no run loads a model and writes predictions without "
            f"logging a training metric, and none is tagged {conventions.TAG_RUN_TYPE}={conventions.RUN_TYPE_INFERENCE}")


def trace(run: RunRecord, snapshot: StoreSnapshot, policy: Policy, outputs: list[str] | None) -> dict[str, Any]:
    """The lineage of one inference run and every link that is missing (empty: traceable).
    `outputs`: its predictions files (None when its artifacts were not listed)."""
    chain: dict[str, Any] = {"run_id": run.run_id, "name": run.name, "missing": []}
    _model_link(run, snapshot, chain)
    _input_link(run, chain)
    _output_link(run, outputs, chain)
    if policy.is_set("inference_fields"):  # the team names its own lineage fields: they are required too
        absent = [f for f in policy.inference_fields if field_value(run, (f,)) is None]
        if absent:
            chain["missing"].append(f"no {', '.join(absent)} (required by inference_fields)")
    return chain


def _model_link(run: RunRecord, snapshot: StoreSnapshot, chain: dict[str, Any]) -> None:
    refs = model_references(run)
    claimed = field_value(run, TRAINING_RUN_KEYS)
    pinned = [r for r in refs if r.version or r.model_id or r.run_id]
    floating = [r for r in refs if r.alias or r.stage]
    problems: list[str] = []
    for ref in pinned:  # a pinned reference that resolves is enough; otherwise report the first break
        training, problem, behind = _resolve(ref, snapshot)
        if training is not None and claimed and claimed not in behind:  # two records that disagree
            problem, training = f"its training run id {claimed} is not the run behind {ref.text} ({training})", None
        if training is not None:
            chain.update(model=ref.text, training_run=training)
            _describe_training(snapshot, training, chain)
            return
        problems.append(problem)
    if claimed and not problems:  # no pinned model reference, but the training run is named
        if snapshot.run(claimed) is not None:
            chain.update(model=f"training run {claimed}", training_run=claimed)
            _describe_training(snapshot, claimed, chain)
            return
        problems.append(f"its training run {claimed} is not in the store (purged)")
    if problems:
        chain["missing"].append(problems[0])
    elif floating:
        ref = floating[0]
        chain["alias_only"] = True
        chain["missing"].append(f"loaded {ref.text} but recorded no version: {_floating_today(ref, snapshot)}")
    else:
        chain["missing"].append("names no model (no models:/ or runs:/ URI, no model name and version, "
                                "no logged-model id, no training run id)")


def _resolve(ref: ModelRef, snapshot: StoreSnapshot) -> tuple[str | None, str, list[str]]:
    """The training run id a pinned reference resolves to (in the store), or why it does not,
    and every run id the records put behind it."""
    if ref.run_id:
        if snapshot.run(ref.run_id) is None:
            return None, f"{ref.text}: run {ref.run_id} is not in the store (purged)", [ref.run_id]
        return ref.run_id, "", [ref.run_id]
    if ref.model_id:
        ids = list(snapshot.runs.owners_of_logged_model(ref.model_id))
        ids += [rid for m in snapshot.registered_models for v in m.versions if v.model_id == ref.model_id
                for rid in version_run_ids(v, snapshot)]
        return _present(snapshot, ids, f"logged model {ref.model_id}")
    said = f"{ref.text}: " if ref.text.startswith("models:/") else ""  # the URI as logged, when it was one
    model = snapshot.registered_model(ref.name or "")
    if model is None:
        return None, f"{said}no registered model {ref.name!r}", []
    version = model.version(ref.version or "")
    if version is None:
        return None, f"{said}{ref.name} v{ref.version} is not registered", []
    return _present(snapshot, source_run_ids(version, snapshot), f"{ref.name} v{ref.version}")


def _present(snapshot: StoreSnapshot, run_ids: Iterable[str], what: str) -> tuple[str | None, str, list[str]]:
    ids = list(dict.fromkeys(run_ids))
    for run_id in ids:
        if snapshot.run(run_id) is not None:
            return run_id, "", ids
    if not ids:
        return None, f"{what} names no training run", ids
    return None, f"{what}'s training run {ids[0]} is not in the store (purged)", ids


def _floating_today(ref: ModelRef, snapshot: StoreSnapshot) -> str:
    model = snapshot.registered_model(ref.name or "")
    if ref.alias:
        now = model.aliases.get(ref.alias) if model else None
        today = f"@{ref.alias} points to v{now} today" if now else f"@{ref.alias} resolves to no version today"
        return f"{today} but may have moved since the run"
    held = [v.version for v in model.versions if v.current_stage.lower() == (ref.stage or "").lower()] if model else []
    today = f"stage {ref.stage} holds {' and '.join('v' + v for v in held)} today" if held else \
        f"stage {ref.stage} holds no version today"
    return f"{today} but may have changed since the run"


def _describe_training(snapshot: StoreSnapshot, run_id: str, chain: dict[str, Any]) -> None:
    """The far end of the chain, for the report: a training run's own missing fields are judged by
    recovery and data-change (one property, one check), so they do not fail the audit trail."""
    training = snapshot.run(run_id)
    if training is None:
        return
    if training.lifecycle_stage != "active":
        chain["training_run_state"] = training.lifecycle_stage
    digest = next((d.digest for d in training.datasets if d.digest), None)
    chain[conventions.PARAM_DATA_HASH] = (field_value(training, conventions.REQUIRED_FIELDS[conventions.PARAM_DATA_HASH])
                                          or digest or "not logged (see data-change)")
    chain[conventions.PARAM_GIT_COMMIT] = (field_value(training, conventions.REQUIRED_FIELDS[conventions.PARAM_GIT_COMMIT])
                                           or "not logged (see recovery)")


def _input_link(run: RunRecord, chain: dict[str, Any]) -> None:
    datasets = [d for d in run.datasets if d.digest or d.name or d.source]
    if datasets:
        chain["input"] = _dataset_text(datasets[0])
        return
    value = field_value(run, INPUT_HASH_KEYS)
    if value is not None:
        chain["input"] = f"input hash {value}"
        return
    chain["missing"].append(f"no input identity (no dataset input, no input hash such as {INPUT_HASH_KEYS[0]})")


def _dataset_text(dataset: DatasetInputRecord) -> str:
    digest = f" (digest {dataset.digest})" if dataset.digest else " (no digest)"
    return f"dataset {dataset.name or dataset.source}{digest}"


def _output_link(run: RunRecord, outputs: list[str] | None, chain: dict[str, Any]) -> None:
    value = field_value(run, OUTPUT_HASH_KEYS)
    if value is not None:
        chain["output"] = f"predictions hash {value}"
    elif outputs:
        chain["output"] = f"artifact {outputs[0]}"
    elif outputs is None:  # not a missing link: unknown (listing limit, offline judge, listing error)
        chain["unverified"] = "no predictions hash, and its artifacts were not listed"
    else:
        chain["missing"].append(f"no predictions output (no predictions artifact, no hash such as {OUTPUT_HASH_KEYS[0]})")


def _chain_text(chain: Mapping[str, Any]) -> str:
    return (f"{chain['name'] or chain['run_id']}: {chain['model']} -> run {chain['training_run']}, "
            f"{chain['input']}, {chain['output']}")


CHECK = Check("MLP06", "prediction-audit",
              "Every inference run traces to its model version's training run, its input and its predictions.",
              DOC, judge, gather, evidence_type=PredictionEvidence)
