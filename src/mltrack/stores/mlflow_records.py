"""MLflow entities -> mltrack's frozen records (model.py). Pure conversion, no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from mltrack.conventions import TAG_USER
from mltrack.model import ExperimentRecord, ModelVersionRecord, RegisteredModelRecord, RunRecord

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


def run_record(run: Any, extra_model_ids: Iterable[str] = ()) -> RunRecord:
    """One run. The user is the `mlflow.user` tag when set (MlflowClient.create_run leaves
    `user_id` as "unknown"), else the run's `user_id`."""
    info, data = run.info, run.data
    tags = dict(data.tags or {})
    user = tags.get(TAG_USER) or info.user_id or ""
    outputs = getattr(run, "outputs", None)
    output_ids = [o.model_id for o in (getattr(outputs, "model_outputs", None) or ())]
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
    )


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
