"""fixtures/reference/train.py and infer.py, run as a user runs them, into real sqlite stores."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "fixtures" / "reference"
ARGS = ["--learning-rate", "0.03", "--batch-size", "16", "--optimizer", "sgd", "--seed", "5",
        "--data-version", "v1", "--epochs", "4"]


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"reference_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def restore_mlflow_uris() -> Iterator[None]:
    import mlflow

    tracking, registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    yield
    mlflow.set_tracking_uri(tracking)
    mlflow.set_registry_uri(registry)


def _run(uri: str, run_id: str):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    history = {key: [(m.step, m.value) for m in client.get_metric_history(run_id, key)]
               for key in ("train_loss", "val_loss", "val_acc")}
    return client, run, history


def test_same_arguments_give_identical_metrics(tmp_path: Path, restore_mlflow_uris: None) -> None:
    train = _script("train")
    uris = [f"sqlite:///{tmp_path / name / 'mlflow.db'}" for name in ("a", "b")]
    histories, params = [], []
    for uri in uris:
        (Path(uri[len("sqlite:///"):]).parent).mkdir()
        run_id = train.main([*ARGS, "--tracking-uri", uri])
        client, run, history = _run(uri, run_id)
        histories.append(history)
        params.append(run.data.params)
        assert [step for step, _ in history["val_acc"]] == [0, 1, 2, 3]
        assert [a.path for a in client.list_artifacts(run_id, "checkpoints")] == ["checkpoints/best.pt"]
        # Artifacts went beside the database, not into ./mlruns.
        assert run.info.artifact_uri.startswith(str(tmp_path))
    assert histories[0] == histories[1]  # to the last digit
    assert params[0] == params[1]
    from mltrack import conventions as cv

    for name in (cv.PARAM_LEARNING_RATE, cv.PARAM_BATCH_SIZE, cv.PARAM_EPOCHS, cv.PARAM_OPTIMIZER,
                 cv.PARAM_ARCHITECTURE, cv.PARAM_SEED, cv.PARAM_GIT_COMMIT, cv.PARAM_GIT_DIRTY,
                 cv.PARAM_DATA_HASH, cv.PARAM_DATA_VERSION, cv.PARAM_PYTHON_VERSION,
                 cv.PARAM_TORCH_VERSION):
        assert params[0][name], name


def test_register_then_infer_logs_full_lineage(tmp_path: Path, restore_mlflow_uris: None) -> None:
    import hashlib

    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = _script("train").main([*ARGS, "--tracking-uri", uri, "--register", "clf"])
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.set_registered_model_alias("clf", "production", "1")
    version = client.get_model_version("clf", "1")
    assert version.tags["run_id"] == run_id and version.tags["data_version"] == "v1"

    infer_id = _script("infer").main(["--tracking-uri", uri, "--model", "clf"])
    run = client.get_run(infer_id)
    assert run.info.run_name.startswith("inference-")
    params = run.data.params
    assert params["model_version"] == "1" and params["training_run_id"] == run_id
    local = Path(client.download_artifacts(infer_id, "predictions.csv", str(tmp_path)))
    assert params["predictions_hash"] == hashlib.sha256(local.read_bytes()).hexdigest()
    requests = Path(client.download_artifacts(infer_id, "requests.csv", str(tmp_path)))
    assert params["input_data_hash"] == hashlib.sha256(requests.read_bytes()).hexdigest()
    assert len(local.read_text().splitlines()) == 241
