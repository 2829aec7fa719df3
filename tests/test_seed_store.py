"""The seeded reference store keeps the contract of docs/reference-store.md.

Read back with MlflowClient directly; the metrics are checked against a re-training of the same
configuration, so nothing in the store can be invented.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from mltrack import conventions as cv
from mltrack.seed.recipe import TrainConfig, train
from mltrack.seed.seeder import seed_store
from tests.support.dump import assert_unchanged, dump_store
from tests.support.stores import SeededStore, copy_store, empty_database, normalised_dump

DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def client_runs(reference_store: SeededStore):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=reference_store.uri, registry_uri=reference_store.uri)
    training = client.get_experiment_by_name(cv.REFERENCE_EXPERIMENT)
    inference = client.get_experiment_by_name(cv.INFERENCE_EXPERIMENT)
    runs = client.search_runs([training.experiment_id], max_results=1000)
    infer_runs = client.search_runs([inference.experiment_id], max_results=1000)
    return client, runs, infer_runs


def test_search_users_and_timeline(client_runs) -> None:
    _, runs, infer_runs = client_runs
    assert len(runs) == 120
    assert len({r.data.tags[cv.TAG_USER] for r in runs + infer_runs}) >= 3
    assert {r.data.params[cv.PARAM_DATA_VERSION] for r in runs} == {"v1", "v2"}
    for name in (cv.PARAM_LEARNING_RATE, cv.PARAM_BATCH_SIZE, cv.PARAM_OPTIMIZER):
        assert len({r.data.params[name] for r in runs}) >= 2, name
    now = time.time() * 1000
    ages = [(now - r.info.start_time) / DAY_MS for r in runs]
    assert max(ages) < 245 and sum(age > 180 for age in ages) >= 10 and min(ages) < 30
    v1_newest = max(r.info.start_time for r in runs if r.data.params[cv.PARAM_DATA_VERSION] == "v1")
    v2_oldest = min(r.info.start_time for r in runs if r.data.params[cv.PARAM_DATA_VERSION] == "v2")
    assert v1_newest < v2_oldest
    for run in runs:
        assert run.info.status == "FINISHED" and run.info.end_time > run.info.start_time
        assert run.data.tags[cv.TAG_RUN_TYPE] == cv.RUN_TYPE_TRAINING
        assert run.data.tags[cv.TAG_GIT_COMMIT] == run.data.params[cv.PARAM_GIT_COMMIT]
        missing = {cv.PARAM_LEARNING_RATE, cv.PARAM_BATCH_SIZE, cv.PARAM_EPOCHS, cv.PARAM_OPTIMIZER,
                   cv.PARAM_ARCHITECTURE, cv.PARAM_SEED, cv.PARAM_GIT_COMMIT, cv.PARAM_GIT_DIRTY,
                   cv.PARAM_DATA_HASH, cv.PARAM_DATA_VERSION, cv.PARAM_PYTHON_VERSION,
                   cv.PARAM_TORCH_VERSION} - set(run.data.params)
        assert not missing, (run.info.run_name, missing)
        assert set(run.data.metrics) == {"train_loss", "val_loss", "val_acc"}


def test_metrics_are_what_training_produced(client_runs) -> None:
    client, runs, _ = client_runs
    for run in runs[::40]:
        p = run.data.params
        config = TrainConfig(float(p["learning_rate"]), int(p["batch_size"]), int(p["epochs"]),
                             p["optimizer"], p["model_architecture"], int(p["random_seed"]),
                             p["data_version"])
        expected = train(config).history
        for key in ("train_loss", "val_loss", "val_acc"):
            logged = [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, key)]
            assert logged == [(row["step"], row[key]) for row in expected], (run.info.run_name, key)


def test_registry_and_production_history(client_runs) -> None:
    client, runs, _ = client_runs
    model = client.get_registered_model(cv.REGISTERED_MODEL)
    assert model.aliases == {cv.PRODUCTION_ALIAS: "3"} or model.aliases == {cv.PRODUCTION_ALIAS: 3}
    versions = {str(v.version): client.get_model_version(cv.REGISTERED_MODEL, str(v.version))
                for v in client.search_model_versions(f"name = '{cv.REGISTERED_MODEL}'")}
    assert sorted(versions) == ["1", "2", "3"]
    assert [versions[v].current_stage for v in ("1", "2", "3")] == ["Archived", "Archived", "Production"]
    records = json.loads(model.tags[cv.TAG_PROMOTIONS])
    assert [(r["version"], r["previous"]) for r in records] == [("1", None), ("2", "1"), ("3", "2")]
    assert cv.TAG_PRODUCTION_UNTIL in versions["2"].tags and cv.TAG_PRODUCTION_UNTIL not in versions["3"].tags
    by_id = {r.info.run_id: r for r in runs}
    for number, version in versions.items():
        assert version.tags[cv.VERSION_TAG_RUN_ID] == version.run_id
        source = by_id[version.run_id]
        assert version.tags[cv.VERSION_TAG_METRIC] == repr(source.data.metrics["val_acc"])
        assert version.tags[cv.VERSION_TAG_DATA_VERSION] == source.data.params[cv.PARAM_DATA_VERSION]
    best = max(runs, key=lambda r: r.data.metrics["val_acc"])
    assert sum(r.data.metrics["val_acc"] == best.data.metrics["val_acc"] for r in runs) == 1
    assert best.info.run_id == versions["3"].run_id
    assert time.time() * 1000 - best.info.start_time < 30 * DAY_MS
    training = client.get_experiment_by_name(cv.REFERENCE_EXPERIMENT)
    logged = client.search_logged_models([training.experiment_id])
    assert {m.source_run_id for m in logged} == {v.run_id for v in versions.values()}


def test_inference_lineage(client_runs, tmp_path: Path) -> None:
    client, runs, infer_runs = client_runs
    assert len(infer_runs) >= 10
    sources = {str(v.version): v.run_id for v in client.search_model_versions(f"name = '{cv.REGISTERED_MODEL}'")}
    for run in infer_runs:
        assert run.info.run_name.startswith("inference-")
        assert set(cv.INFERENCE_FIELDS) <= set(run.data.params)
        assert run.data.params["training_run_id"] == sources[run.data.params["model_version"]]
    assert {r.data.params["model_version"] for r in infer_runs} == {"1", "2", "3"}
    sample = infer_runs[0]
    path = Path(client.download_artifacts(sample.info.run_id, "predictions.csv", str(tmp_path)))
    assert sample.data.params["predictions_hash"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_cleanup_material(client_runs) -> None:
    client, runs, _ = client_runs
    many = [r for r in runs if len(client.list_artifacts(r.info.run_id, "checkpoints")) >= 8]
    assert len(many) >= 3
    assert sum(r.data.tags.get(cv.TAG_KEEP) == "true" for r in runs) == 1


def test_two_seedings_are_identical_over_sqlite_and_http(tmp_path: Path, seeded_root: Path,
                                                          fresh_mlflow_server) -> None:
    """Same arguments, two seedings (one into sqlite, one through a server with 4 writer
    threads): identical params, tags, metrics, artifacts and registry, ids and times aside."""
    import shutil

    db = tmp_path / "direct" / "mlflow.db"  # tmp_path itself holds the server's database
    db.parent.mkdir()
    shutil.copy2(empty_database(seeded_root), db)  # skips 2-10 s of schema migrations
    direct = seed_store(f"sqlite:///{db}", runs=12)
    over_http = seed_store(fresh_mlflow_server.url, runs=12)
    assert over_http.production_version == direct.production_version == "3"
    assert over_http.best_run_name == direct.best_run_name
    assert normalised_dump(fresh_mlflow_server.url) == normalised_dump(f"sqlite:///{db}")


def test_copy_store_is_independent(small_reference_store: SeededStore, tmp_path: Path) -> None:
    import mlflow

    from mltrack.seed.registry import fluent_uri

    before = dump_store(small_reference_store.db_path, small_reference_store.artifacts_dir)
    copy = copy_store(small_reference_store, tmp_path / "copy")
    original = normalised_dump(small_reference_store.uri)
    assert normalised_dump(copy.uri) == original  # same history, new ids and paths
    client = mlflow.MlflowClient(tracking_uri=copy.uri, registry_uri=copy.uri)
    experiment = client.get_experiment_by_name(cv.REFERENCE_EXPERIMENT)
    assert experiment.artifact_location.startswith(str(copy.artifacts_dir))
    run = client.search_runs([experiment.experiment_id], max_results=1)[0]
    assert run.info.artifact_uri.startswith(str(copy.artifacts_dir))
    assert {a.path for a in client.list_artifacts(run.info.run_id, "checkpoints")} >= {
        "checkpoints/best.pt", "checkpoints/final.pt"}
    with fluent_uri(copy.uri):
        model = mlflow.pytorch.load_model(f"models:/{cv.REGISTERED_MODEL}/3")
    assert model is not None
    client.delete_run(run.info.run_id)
    client.set_registered_model_alias(cv.REGISTERED_MODEL, cv.PRODUCTION_ALIAS, "2")
    client.log_artifact(run.info.run_id, str(copy.db_path.parent / "mlflow.db"))
    assert_unchanged(before, dump_store(small_reference_store.db_path, small_reference_store.artifacts_dir))
    assert normalised_dump(small_reference_store.uri) == original != normalised_dump(copy.uri)


def test_seeding_ignores_an_active_experiment_set_by_the_caller(tmp_path: Path) -> None:
    """mlflow's fluent API keeps the active experiment process-wide: a caller (a notebook, a
    training script run in-process) that set one must not make seeding fail."""
    import mlflow
    from mlflow.tracking import fluent

    other = f"sqlite:///{tmp_path / 'other.db'}"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(other)
    try:
        for name in ("a", "b", "c"):  # ids 1-3: the active id must differ from the seeded ones
            mlflow.create_experiment(name)
        active = mlflow.set_experiment("someone-elses-experiment").experiment_id
        assert active == "4"
        summary = seed_store(f"sqlite:///{tmp_path / 'seeded.db'}", runs=12)
        assert summary.production_version == "3"
        assert fluent._active_experiment_id == active  # the caller's state is put back
    finally:
        fluent._active_experiment_id = None
        mlflow.set_tracking_uri(previous)
