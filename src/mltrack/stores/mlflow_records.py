"""MLflow entities -> mltrack's frozen records (model.py). Pure conversion, no I/O."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from mltrack import synonyms
from mltrack.conventions import TAG_USER
from mltrack.model import (
    DatasetInputRecord, ExperimentRecord, LoggedModelRecord, ModelVersionRecord, RegisteredModelRecord, RunRecord,
)

# MLflow 3 registers a logged model by `models:/m-<32 hex>` or by its storage location,
# `<experiment artifacts>/models/m-<32 hex>/artifacts`; either names the logged model's id.
_MODEL_ID_IN_SOURCE = (
    re.compile(r"^models:/(m-[0-9a-f]{32})(?:/|$)"),
    re.compile(r"/models/(m-[0-9a-f]{32})/artifacts/?$"),
)


def experiment_record(exp: Any) -> ExperimentRecord:
    return ExperimentRecord(
        experiment_id=str(exp.experiment_id),
        name=exp.name,
        lifecycle_stage=exp.lifecycle_stage or "active",
        artifact_location=exp.artifact_location or "",
        creation_time=exp.creation_time,
        tags=dict(exp.tags or {}),
    )


class DatasetInterner:
    """One DatasetInputRecord per distinct input: a sweep's thousands of runs share the few
    datasets they trained on, so the snapshot holds each once (and builds it once)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, ...], DatasetInputRecord] = {}

    def records(self, run: Any) -> tuple[DatasetInputRecord, ...]:
        inputs = getattr(getattr(run, "inputs", None), "dataset_inputs", None)
        if not inputs:
            return ()
        out = []
        for item in inputs:
            dataset = item.dataset
            context = next((t.value for t in (item.tags or ()) if t.key == synonyms.TAG_DATASET_CONTEXT), "")
            key = (dataset.name or "", dataset.digest or "", dataset.source_type or "", dataset.source or "",
                   context or "")
            record = self._seen.get(key)
            if record is None:
                record = self._seen[key] = DatasetInputRecord(*key)
            out.append(record)
        return tuple(out)


def run_record(run: Any, extra_model_ids: Iterable[str] = (),
               logged_models: Iterable[LoggedModelRecord] = (),
               datasets: DatasetInterner | None = None) -> RunRecord:
    """One run. The user is the `mlflow.user` tag when set (MlflowClient.create_run leaves
    `user_id` as "unknown"), else the run's `user_id`. Dataset inputs come with the run from
    the search; `logged_models` (its MLflow 3 logged-model entities) from one search per
    experiment set; models stored as run artifacts from its `mlflow.log-model.history` tag."""
    info, data = run.info, run.data
    tags = dict(data.tags or {})
    user = tags.get(TAG_USER) or info.user_id or ""
    outputs = getattr(run, "outputs", None)
    output_ids = [o.model_id for o in (getattr(outputs, "model_outputs", None) or ())]
    models = tuple(logged_models) + history_models(tags.get(synonyms.TAG_LOG_MODEL_HISTORY))
    return RunRecord(
        run_id=info.run_id,
        experiment_id=str(info.experiment_id),
        name=info.run_name or tags.get("mlflow.runName", ""),
        user=user,
        status=info.status,
        start_time=info.start_time,
        end_time=info.end_time,
        params=dict(data.params or {}),
        tags=tags,
        metrics=dict(data.metrics or {}),
        lifecycle_stage=info.lifecycle_stage or "active",
        artifact_uri=info.artifact_uri or "",
        logged_model_ids=tuple(sorted(set(output_ids) | set(extra_model_ids))),
        datasets=(datasets or DatasetInterner()).records(run),
        logged_models=models,
    )


def logged_model_record(model: Any) -> LoggedModelRecord:
    """An MLflow 3 logged-model entity. Its flavors live in its MLmodel file (a request), so
    they stay unknown here; its environment files are the ones every `log_model` writes
    (mlflow.models.Model.log -> <flavor>.save_model), unless the model was registered as
    external (no MLflow files) or never finished uploading."""
    status = getattr(model.status, "name", None) or str(model.status or "")
    external = str((model.tags or {}).get("mlflow.model.isExternal", "false")).lower() == "true"
    return LoggedModelRecord(
        model_id=model.model_id, name=model.name or "", kind="logged_model", status=status,
        environment_files=() if external or status == "FAILED" else synonyms.ENVIRONMENT_FILES)


def history_models(text: str | None) -> tuple[LoggedModelRecord, ...]:
    """Models stored among a run's artifacts, from its `mlflow.log-model.history` tag (MLflow 2
    `log_model`): each entry's artifact path, flavors, and the Python version and environment
    files its python_function flavor records. A damaged tag yields nothing."""
    if not text:
        return ()
    try:
        entries = json.loads(text)
    except ValueError:
        return ()
    out = []
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        flavors = found if isinstance(found := entry.get("flavors"), dict) else {}
        pyfunc = found if isinstance(found := flavors.get("python_function"), dict) else {}
        env = pyfunc.get("env")
        env_files = tuple(sorted({v for v in (env.values() if isinstance(env, dict) else [env])
                                  if isinstance(v, str) and v}))
        path = str(entry.get("artifact_path") or "")
        out.append(LoggedModelRecord(
            model_id=path, name=path, kind="run_artifact", flavors=tuple(sorted(flavors)),
            python_version=str(pyfunc["python_version"]) if pyfunc.get("python_version") else None,
            environment_files=env_files))
    return tuple(out)


def model_id_of(version: Any) -> str | None:
    """The MLflow 3 logged-model id behind a model version, from its field or its source."""
    model_id = getattr(version, "model_id", None)
    if model_id:
        return model_id
    for pattern in _MODEL_ID_IN_SOURCE:
        match = pattern.search(version.source or "")
        if match:
            return match.group(1)
    return None


def version_record(version: Any, aliases: Iterable[str] = ()) -> ModelVersionRecord:
    return ModelVersionRecord(
        name=version.name,
        version=str(version.version),
        run_id=version.run_id or None,
        source=version.source or "",
        status=version.status or "READY",
        current_stage=version.current_stage or "None",
        creation_time=version.creation_timestamp,
        last_updated_time=version.last_updated_timestamp,
        tags=dict(version.tags or {}),
        aliases=tuple(sorted(aliases)),
        model_id=model_id_of(version),
    )


def registered_model_record(
    model: Any, aliases: Mapping[str, Any], versions: Iterable[Any]
) -> RegisteredModelRecord:
    """A registered model with its versions; `aliases` (alias -> version) come from
    `get_registered_model`, because searches return versions without them."""
    alias_map = {alias: str(version) for alias, version in aliases.items()}
    by_version: dict[str, list[str]] = {}
    for alias, version in alias_map.items():
        by_version.setdefault(version, []).append(alias)
    records = sorted(
        (version_record(v, by_version.get(str(v.version), ())) for v in versions),
        key=lambda v: int(v.version) if v.version.isdigit() else 0,
    )
    return RegisteredModelRecord(
        name=model.name,
        creation_time=model.creation_timestamp,
        last_updated_time=model.last_updated_timestamp,
        description=model.description or "",
        tags=dict(model.tags or {}),
        aliases=alias_map,
        versions=tuple(records),
    )
