"""The write protocols of the store layer (issue 12 item 5), on a real sqlite store written with
plain MLflow: `StoreWriter` (what rollback and cleanup call), `ModelSandbox` (the rollback
drill) and `ModelAccess` (models for the checks and rollback).

ops/ and the drill speak only to these protocols (tests/test_architecture.py proves they import
no vendor SDK); these tests prove the MLflow implementation answers as they expect: a missing
model or run is None (not an exception to parse), reads are fresh, a sandbox writes nothing but
itself.
"""

from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from mltrack.errors import UsageError
from mltrack.model import RegisteredModelRecord, RunRecord
from mltrack.ops.writable import open_for_write
from mltrack.stores.base import ModelAccess, ModelSandbox, StoreWriter
from mltrack.stores.model_access import model_access
from mltrack.stores.writes import open_sandbox
from tests.support.dump import dump_store
from tests.support.stores import empty_database

MODEL = "writer-demo"


@dataclass(frozen=True)
class Store:
    uri: str
    db: Path
    artifacts: Path
    run_ids: tuple[str, ...]


def _build(folder: Path, seeded_root: Path) -> Store:
    """Two runs with a weights file each, registered as v1 and v2 of MODEL; @production -> v2."""
    from mlflow.tracking import MlflowClient

    folder.mkdir(parents=True)
    db = folder / "mlflow.db"
    shutil.copy2(empty_database(seeded_root), db)
    uri = f"sqlite:///{db}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("demo", artifact_location=(folder / "artifacts").as_uri())
    client.create_registered_model(MODEL, tags={"team": "vision"})
    run_ids = []
    for index in (1, 2):
        run = client.create_run(experiment, run_name=f"train-{index}")
        client.log_param(run.info.run_id, "data_version", f"d{index}")
        client.log_metric(run.info.run_id, "val_acc", 0.8 + index / 100)
        weights = folder / f"weights-{index}.pkl"
        weights.write_bytes(b"\x80\x04K\x01.")  # pickle of the int 1: a well-formed file
        client.log_artifact(run.info.run_id, str(weights), "model")
        client.set_terminated(run.info.run_id)
        client.create_model_version(MODEL, f"{run.info.artifact_uri}/model", run.info.run_id)
        run_ids.append(run.info.run_id)
    client.set_registered_model_alias(MODEL, "production", "2")
    return Store(uri, db, folder / "artifacts", tuple(run_ids))


@pytest.fixture
def store(tmp_path: Path, seeded_root: Path) -> Store:
    return _build(tmp_path / "store", seeded_root)


@pytest.fixture
def opened(store: Store):
    adapter, writer = open_for_write(store.uri, "rollback")
    yield adapter, writer
    adapter.close()


def test_the_mlflow_implementations_meet_the_protocols(opened) -> None:
    adapter, writer = opened
    assert isinstance(writer, StoreWriter)
    assert isinstance(model_access(adapter), ModelAccess)
    assert isinstance(open_sandbox(adapter, "mltrack-drill-x"), ModelSandbox)


def test_reads_answer_with_records_and_none_for_what_is_missing(store: Store, opened) -> None:
    _, writer = opened
    model = writer.registered_model(MODEL)
    assert isinstance(model, RegisteredModelRecord)
    assert dict(model.aliases) == {"production": "2"} and [v.version for v in model.versions] == ["1", "2"]
    assert model.versions[0].run_id == store.run_ids[0] and model.tags["team"] == "vision"
    assert writer.model_tags(MODEL) == {"team": "vision"}
    assert writer.registered_model("no-such-model") is None
    run = writer.run(store.run_ids[0])
    assert isinstance(run, RunRecord) and run.lifecycle_stage == "active"
    assert run.params["data_version"] == "d1" and run.metrics["val_acc"] == pytest.approx(0.81)
    assert writer.run("0" * 32) is None


def test_writes_land_and_reads_are_fresh(store: Store, opened) -> None:
    _, writer = opened
    writer.set_alias(MODEL, "production", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the deprecated-stages warning stays inside the writer
        writer.set_stage(MODEL, "1", "Production")
    writer.set_model_tag(MODEL, "lock", "held")
    writer.set_version_tag(MODEL, "1", "production_since", "now")
    model = writer.registered_model(MODEL)
    assert model.aliases["production"] == "1" and model.versions[0].current_stage == "Production"
    assert model.versions[0].tags["production_since"] == "now" and writer.model_tags(MODEL)["lock"] == "held"
    writer.delete_model_tag(MODEL, "lock")
    writer.delete_version_tag(MODEL, "1", "production_since")
    model = writer.registered_model(MODEL)
    assert "lock" not in model.tags and "production_since" not in model.versions[0].tags


def test_soft_delete_restore_and_stages_in_bulk(store: Store, opened) -> None:
    _, writer = opened
    first, second = store.run_ids
    experiment = writer.run(first).experiment_id
    writer.delete_run(first)
    assert writer.run(first).lifecycle_stage == "deleted"
    unsafe = "x' OR '1'='1"  # never quoted into a filter: left for a one-by-one read
    stages = writer.lifecycle_stages({first: experiment, second: experiment, unsafe: experiment})
    assert stages == {first: "deleted", second: "active"}
    writer.restore_run(first)
    assert writer.run(first).lifecycle_stage == "active"


def test_fail_fast_holds_only_inside_the_block(opened, monkeypatch) -> None:
    _, writer = opened
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    with writer.fail_fast():
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "0"
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ


def test_a_sandbox_writes_only_itself(store: Store, opened) -> None:
    adapter, writer = opened
    before = dump_store(store.db, store.artifacts)
    sandbox = open_sandbox(adapter, "mltrack-drill-writer-demo-test")
    sandbox.create(tags={"mltrack.sandbox": "true"})
    copied = sandbox.copy_version(MODEL, "1")
    sandbox.set_alias("production", copied)
    assert sandbox.alias_version("production") == copied == "1"
    local = model_access(adapter).download_model(sandbox.model_uri(copied), store.db.parent / "dl")
    assert model_access(adapter).verify_model(local)["verified"]
    assert sandbox.delete() and sandbox.delete()  # gone, and gone again
    assert writer.registered_model(sandbox.name) is None
    shutil.rmtree(store.db.parent / "dl")
    after = dump_store(store.db, store.artifacts)
    assert after.files == before.files  # the real model's files: untouched
    assert writer.registered_model(MODEL).aliases["production"] == "2"


def test_only_stores_mltrack_writes_to_are_opened(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="MLflow stores only"):
        open_for_write(f"wandb-offline:{tmp_path}", "cleanup")
    assert open_sandbox(None, "mltrack-drill-x") is None
