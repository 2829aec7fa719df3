"""What kind of run a run is, told by its content rather than by mltrack's own tags.

A batch-inference script written with plain MLflow loads a model (`models:/name@production`,
`models:/name/3`, `runs:/<id>/model`, a logged-model id) and records where it came from in a
param or tag, writes a predictions file, and logs no training metric. Such a run is evidence
(which model made which predictions), so cleanup must keep it and everything it points to.

- `model_references(run)`: every model a run names in its params and tags.
- `is_inference_run(run, metric)`: mltrack's `mltrack.run_type=inference` tag (one signal among
  others), or a model load / predictions output with no training metric beside it.
- `is_support_run(run)`: a job that neither trains nor predicts: data preparation (W&B job type
  `dataset`, ... with no metric) or model registration / deployment (job type `registration`).
- `run_kind(run, metric)`: "inference", "other" or "training" - the one definition the checks
  (`mltrack.pressure.base.training_runs` / `inference_runs`), reports and cleanup use.
- `lineage(run, snapshot)`: the run ids an inference run's lineage points to, and how.

Pure functions over `mltrack.model` records. A dataset input logged with context "inference"
(or prediction, scoring...) is one more inference signal.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from mltrack import conventions, synonyms
from mltrack.model import ArtifactFile, RegisteredModelRecord, RunRecord, StoreSnapshot
from mltrack.run_facts import named_value

# models:/<name>/<version|stage>, models:/<name>@<alias>, models:/m-<id> (MLflow 3 logged model)
_MODELS_URI = re.compile(r"models:/(?P<body>[^\s'\",;]+)")
_RUNS_URI = re.compile(r"runs:/(?P<run_id>[0-9a-f]{32})(?![0-9a-f])(?:/[^\s'\",;]*)?")
_LOGGED_MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")
# A metric with one of these in its name describes training, not serving.
_TRAINING_METRIC = re.compile(r"loss|^train|^val[_/-]|^valid", re.IGNORECASE)
_PREDICTIONS_FILE = re.compile(r"(^|/)(predictions?|preds|scores|scored|inference[_-]?output)[^/]*$",
                               re.IGNORECASE)
_STAGES = {"production", "staging", "archived", "none"}
# Dataset input contexts (`mlflow.log_input(..., context=...)`) that mean "scored this data".
_INFERENCE_CONTEXTS = frozenset({"inference", "prediction", "predict", "scoring", "serving", "batch_inference"})
# Job types (W&B `job_type`, or a `job_type` tag/param) of runs that prepare data, not models.
_DATA_JOB_TYPES = frozenset({"dataset", "data", "data-prep", "data_prep", "dataprep", "preprocess",
                             "preprocessing", "prepare-data", "prepare_data", "upload", "upload-data",
                             "ingest", "etl", "split"})
# Job types of runs that register, promote or deploy a model trained elsewhere.
_REGISTRY_JOB_TYPES = frozenset({"registration", "register", "promote", "promotion", "deploy",
                                 "deployment", "model-registry", "export"})
_JOB_TYPE_KEYS = ("wandb.job_type", "job_type")


@dataclass(frozen=True)
class ModelRef:
    """One model a run names. Exactly one way of naming is set (name+version, name+alias,
    name+stage, a logged-model id, or a run id)."""

    text: str  # as logged, for messages
    name: str | None = None
    version: str | None = None
    alias: str | None = None
    stage: str | None = None
    model_id: str | None = None
    run_id: str | None = None


def model_references(run: RunRecord) -> list[ModelRef]:
    """Every model a run names in its params and tags (MLflow's own bookkeeping tags excluded)."""
    refs: list[ModelRef] = []
    for key, value in _fields(run):
        for match in _MODELS_URI.finditer(value):
            ref = _parse_models_uri(match.group(0), match.group("body"))
            if ref is not None:
                refs.append(ref)
        for match in _RUNS_URI.finditer(value):
            refs.append(ModelRef(match.group(0), run_id=match.group("run_id")))
    name = named_value(run, synonyms.MODEL_NAME)
    version = named_value(run, synonyms.MODEL_VERSION)
    if name and version and version.isdigit():
        refs.append(ModelRef(f"{name} v{version}", name=name, version=version))
    return list(dict.fromkeys(refs))


def _parse_models_uri(text: str, body: str) -> ModelRef | None:
    body = body.rstrip("/")
    if _LOGGED_MODEL_ID.match(body.split("/")[0]):
        return ModelRef(text, model_id=body.split("/")[0])
    if "@" in body:
        name, _, alias = body.partition("@")
        return ModelRef(text, name=name, alias=alias) if name and alias else None
    name, _, rest = body.partition("/")
    if not name or not rest:
        return None
    rest = rest.split("/")[0]
    if rest.isdigit():
        return ModelRef(text, name=name, version=rest)
    if rest.lower() in _STAGES or rest.lower() == "latest":
        return ModelRef(text, name=name, stage=rest)
    return None


def training_metrics(run: RunRecord, metric: str | None = conventions.METRIC) -> list[str]:
    """The run's metrics that only training produces (the primary metric, losses, train/val);
    `metric=None` when the primary metric is not known yet (it is being inferred)."""
    return sorted(k for k in run.metrics if k == metric or _TRAINING_METRIC.search(k))


def predictions_outputs(files: Iterable[ArtifactFile] | None) -> list[str]:
    """Artifact paths that look like a predictions file (predictions.csv, preds.parquet...)."""
    return sorted(f.path for f in files or () if _PREDICTIONS_FILE.search(f.path))


def inference_signals(run: RunRecord, metric: str | None = conventions.METRIC,
                      files: Iterable[ArtifactFile] | None = None) -> list[str]:
    """Why this run looks like an inference run (empty: it does not). `files`: its artifacts,
    when listed (the snapshot's own listing is used otherwise)."""
    signals = []
    if run.tags.get(conventions.TAG_RUN_TYPE) == conventions.RUN_TYPE_INFERENCE:
        signals.append(f"tagged {conventions.TAG_RUN_TYPE}={conventions.RUN_TYPE_INFERENCE}")
    if training_metrics(run, metric):
        return signals  # it loads a model and trains (fine-tuning): a training run
    refs = model_references(run)
    if refs:
        signals.append(f"loads model {refs[0].text}")
    outputs = predictions_outputs(files if files is not None else run.artifacts)
    if outputs:
        signals.append(f"writes predictions {outputs[0]}")
    if named_value(run, synonyms.PREDICTIONS_HASH):
        signals.append("logs a predictions hash")
    scored = next((d for d in run.datasets if d.context.lower() in _INFERENCE_CONTEXTS), None)
    if scored is not None:  # mlflow.log_input(dataset, context="inference"): the data it scored
        signals.append(f"scores dataset {scored.name or scored.source} (context {scored.context})")
    return signals


def is_inference_run(run: RunRecord, metric: str | None = conventions.METRIC,
                     files: Iterable[ArtifactFile] | None = None) -> bool:
    return bool(inference_signals(run, metric, files))


def is_support_run(run: RunRecord) -> bool:
    """A job that neither trains nor predicts, by its job type: data preparation that logged no
    metric (a `dataset` job that also logs a validation score is judged as training), or the
    registration / deployment of a model (it may log the metric it was promoted on)."""
    job = (named_value(run, _JOB_TYPE_KEYS) or "").strip().lower()
    return (job in _DATA_JOB_TYPES and not run.metrics) or job in _REGISTRY_JOB_TYPES


def run_kind(run: RunRecord, metric: str | None = conventions.METRIC) -> str:
    """"inference", "other" or "training": what the run did, told by its content."""
    if is_inference_run(run, metric):
        return "inference"
    if is_support_run(run):
        return "other"
    return "training"


_KINDS = ("training", "inference", "other")
_KIND_CODE = {kind: code for code, kind in enumerate(_KINDS)}


class RunKinds(Mapping[str, str]):
    """Each run's kind (`run_kind`), one byte per run position in read order: the checks, the
    retention plan and the assumptions all ask, working it out costs tens of µs a run (regexes
    over its params and tags), and a dict keyed by every run id would grow with the store.
    `pairs()` streams (run, kind); looking a kind up by run id reads that run and works it out."""

    def __init__(self, snapshot: StoreSnapshot, metric: str | None) -> None:
        self._snapshot = snapshot
        self._metric = metric
        self._codes = bytearray(_KIND_CODE[run_kind(r, metric)] for r in snapshot.runs)

    def pairs(self) -> Iterator[tuple[RunRecord, str]]:
        """(run, kind) for every run, in read order."""
        return ((run, _KINDS[code]) for run, code in zip(self._snapshot.runs, self._codes))

    def __getitem__(self, run_id: str) -> str:
        run = self._snapshot.run(run_id)
        if run is None:
            raise KeyError(run_id)
        return run_kind(run, self._metric)

    def __iter__(self) -> Iterator[str]:
        return (run.run_id for run in self._snapshot.runs)

    def __len__(self) -> int:
        return len(self._codes)


_KINDS_LOCK = threading.Lock()


def kinds_of(snapshot: StoreSnapshot, metric: str | None) -> RunKinds:
    """Every run's kind, worked out once per snapshot and metric (None: not known yet)."""
    cache = snapshot.__dict__.setdefault("_run_kinds", {})  # not a field: never serialised
    kinds = cache.get(metric)
    if kinds is None:
        with _KINDS_LOCK:  # checks ask from several threads at once: one pass, not one each
            kinds = cache.get(metric)
            if kinds is None:
                kinds = cache[metric] = RunKinds(snapshot, metric)
    return kinds


def lineage(run: RunRecord, snapshot: StoreSnapshot) -> list[tuple[str, str]]:
    """(run id, how) for every run this run's lineage points to: a logged training run id, a
    `runs:/` URI, and the training runs behind every model version it names (by number, alias,
    stage or logged-model id). Ids of runs missing from the store are returned too."""
    found: list[tuple[str, str]] = []
    for key in synonyms.TRAINING_RUN_ID:
        value = run.params.get(key) or run.tags.get(key)
        if value:
            found.append((value, f"its {key}"))
    for ref in model_references(run):
        if ref.run_id:
            found.append((ref.run_id, f"it loads {ref.text}"))
        elif ref.model_id:
            found.extend((rid, f"it loads {ref.text}") for rid in _runs_of_logged_model(snapshot, ref.model_id))
        elif ref.name and (model := snapshot.registered_model(ref.name)) is not None:
            for version in _versions_named(model, ref):
                found.extend((rid, f"it loads {ref.text} (v{version.version})")
                             for rid in version_run_ids(version, snapshot))
    return [(rid, how) for rid, how in dict.fromkeys(found) if rid != run.run_id]


def version_run_ids(version, snapshot: StoreSnapshot) -> list[str]:
    """The run(s) behind a model version: its run_id, the run in a `runs:/` source, the run
    mltrack's registration tag names, and the run that logged its MLflow 3 model."""
    ids = [version.run_id, version.tags.get(conventions.VERSION_TAG_RUN_ID)]
    match = _RUNS_URI.search(version.source or "")
    if match:
        ids.append(match.group("run_id"))
    if version.model_id:
        ids.extend(_runs_of_logged_model(snapshot, version.model_id))
    return list(dict.fromkeys(i for i in ids if i))


def source_run_ids(version, snapshot: StoreSnapshot) -> list[str]:
    """The training run behind a version: its own `run_id` when the registry records one (a run
    that merely logged or linked the same model, e.g. a W&B registration job, does not stand in
    for it once it is gone); otherwise every run `version_run_ids` finds."""
    return [version.run_id] if version.run_id else version_run_ids(version, snapshot)


def _versions_named(model: RegisteredModelRecord, ref: ModelRef) -> Iterator:
    if ref.version:
        if (v := model.version(ref.version)) is not None:
            yield v
    elif ref.alias:
        number = model.aliases.get(ref.alias)
        if number is not None and (v := model.version(number)) is not None:
            yield v
    elif ref.stage and ref.stage.lower() == "latest":
        if model.versions:
            yield model.versions[-1]
    elif ref.stage:
        yield from (v for v in model.versions if v.current_stage.lower() == ref.stage.lower())


def _runs_of_logged_model(snapshot: StoreSnapshot, model_id: str) -> list[str]:
    """The runs that logged an MLflow 3 model, in read order: an indexed lookup, not a scan."""
    return list(snapshot.runs.owners_of_logged_model(model_id))


def _fields(run: RunRecord) -> Iterator[tuple[str, str]]:
    yield from run.params.items()
    # MLflow's own bookkeeping tags (source name, log-model history) name no loaded model.
    yield from ((k, v) for k, v in run.tags.items() if not k.startswith("mlflow."))
