"""Register the reference model versions and write down their production history.

MLflow keeps no alias history, so each promotion is recorded as conventions.py says: version
tags `mltrack.production_since/until` and the registered model's `mltrack.promotions` list.
Stages (deprecated, still served by MLflow 3) are set too, for tools that read them.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator
from typing import Any

from mltrack import conventions as cv
from mltrack.seed.plan import Promotion
from mltrack.seed.recipe import TrainResult


@contextlib.contextmanager
def fluent_uri(uri: str) -> Iterator[None]:
    """Point mlflow's fluent API (log_model, load_model) at `uri`, then put it back.

    The fluent API's active experiment is process-global too: a caller that ran
    `mlflow.set_experiment()` (a training script run in-process, a notebook) would make
    `start_run(run_id=...)` refuse runs of our experiments, so it is cleared meanwhile.
    """
    import mlflow
    from mlflow.tracking import fluent

    previous_tracking, previous_registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    previous_experiment = fluent._active_experiment_id
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    fluent._active_experiment_id = None
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous_tracking)
        mlflow.set_registry_uri(previous_registry)
        fluent._active_experiment_id = previous_experiment


def log_pytorch_model(run_id: str, result: TrainResult, torch_version: str) -> Any:
    """`mlflow.pytorch.log_model` of the final model into an open run; returns its ModelInfo.

    An input example (the pt2 format needs one) and explicit pip requirements (inferring them
    costs ~5 s a call) keep this well under a second.
    """
    import mlflow
    import numpy as np

    with mlflow.start_run(run_id=run_id), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlflow.pytorch.log_model(
            result.final_model, name="model",
            input_example=np.zeros((2, 8), dtype=np.float32),
            pip_requirements=[f"torch=={torch_version}", "numpy"],
        )


def _iso(moment: Any) -> str:
    return moment.isoformat(timespec="seconds")


def register_versions(client: Any, promotions: tuple[Promotion, ...], model_infos: dict[int, Any],
                      run_ids: dict[int, str], results: dict[int, TrainResult], *,
                      record_promotions: bool, archive_stages: bool, production: bool,
                      promoted_by: str) -> list[str]:
    """Create the registered model and its versions; return the version numbers."""
    name = cv.REGISTERED_MODEL
    client.create_registered_model(
        name, description="Reference classifier: a tiny MLP trained by fixtures/reference/train.py.")
    versions = []
    records = []
    previous = None
    for promotion in promotions:
        result = results[promotion.run_index]
        info = model_infos[promotion.run_index]
        tags = {cv.VERSION_TAG_METRIC: repr(result.history[-1]["val_acc"]),
                cv.VERSION_TAG_DATA_VERSION: result.config.data_version,
                cv.VERSION_TAG_RUN_ID: run_ids[promotion.run_index]}
        if record_promotions:
            tags[cv.TAG_PRODUCTION_SINCE] = _iso(promotion.promoted_at)
            if promotion.retired_at is not None:
                tags[cv.TAG_PRODUCTION_UNTIL] = _iso(promotion.retired_at)
        version = client.create_model_version(
            name, source=info.model_uri, run_id=run_ids[promotion.run_index], tags=tags,
            model_id=info.model_id,
            description=f"val_acc {result.history[-1]['val_acc']:.4f} on data {result.config.data_version}")
        versions.append(str(version.version))
        records.append({"version": str(version.version), "alias": cv.PRODUCTION_ALIAS,
                        "promoted_at": _iso(promotion.promoted_at), "previous": previous,
                        "by": promoted_by})
        previous = str(version.version)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stages are deprecated (FutureWarning) but still served
        for version in versions[:-1]:
            if archive_stages:
                client.transition_model_version_stage(name, version, "Archived")
        if production:
            client.transition_model_version_stage(name, versions[-1], "Production")
    if production:
        client.set_registered_model_alias(name, cv.PRODUCTION_ALIAS, versions[-1])
    if record_promotions:
        client.set_registered_model_tag(name, cv.TAG_PROMOTIONS, json.dumps(records))
    return versions


def load_version(version: str) -> Any:
    """Load a registered version back through MLflow (inside `fluent_uri`)."""
    import mlflow

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlflow.pytorch.load_model(f"models:/{cv.REGISTERED_MODEL}/{version}")
