"""The MLflow reader against a real store, over direct sqlite and over a real `mlflow server`."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from mltrack.errors import UsageError
from mltrack.model import StoreSnapshot
from mltrack.stores import open_store
from mltrack.stores.base import StoreAdapter
from tests.support.small_store import SmallStore, build_small_store


@pytest.fixture(scope="module")
def sqlite_small(tmp_path_factory: pytest.TempPathFactory) -> SmallStore:
    root = tmp_path_factory.mktemp("small-sqlite")
    return build_small_store(f"sqlite:///{root / 'mlflow.db'}", root, root / "artifacts")


@pytest.fixture(scope="module")
def http_small(mlflow_server, tmp_path_factory: pytest.TempPathFactory) -> SmallStore:
    return build_small_store(mlflow_server.url, tmp_path_factory.mktemp("small-http"))


@pytest.fixture(params=["sqlite", "http"])
def small(request: pytest.FixtureRequest) -> SmallStore:
    return request.getfixturevalue(f"{request.param}_small")


@pytest.fixture
def store(small: SmallStore):
    adapter = open_store(small.uri, timeout=10)
    yield adapter
    adapter.close()


def test_adapter_satisfies_protocol(store) -> None:
    assert isinstance(store, StoreAdapter)


def test_snapshot_reads_runs_of_every_lifecycle(store, small: SmallStore) -> None:
    snap = store.snapshot()
    exp = snap.experiment(small.experiment)
    gone = snap.experiment(small.deleted_experiment)
    assert exp.lifecycle_stage == "active" and exp.tags["team"] == "vision"
    assert gone is not None and gone.lifecycle_stage == "deleted"

    best = snap.run(small.run_ids["best"])
    assert (best.name, best.user, best.status) == ("train-best", "alice", "FINISHED")
    assert (best.start_time, best.end_time) == (1_700_000_000_000, 1_700_000_060_000)
    assert dict(best.params) == {"learning_rate": "0.01", "optimizer": "adam"}
    assert dict(best.metrics) == {"val_acc": 0.9}  # the latest value, not the first
    assert best.tags["mltrack.run_type"] == "training"
    assert best.logged_model_ids == (small.model_id,)
    assert best.artifact_uri and best.artifacts is None  # listed only on demand
    assert snap.run(small.run_ids["other"]).user == "bob"
    failed = snap.run(small.run_ids["failed"])
    assert (failed.status, failed.user) == ("FAILED", "carol")
    assert snap.run(small.run_ids["deleted"]).lifecycle_stage == "deleted"
    assert snap.run(small.run_ids["in_deleted_experiment"]).experiment_id == gone.experiment_id
    assert {r.run_id for r in snap.runs_in(exp)} >= {small.run_ids[k] for k in ("best", "other")}


def test_snapshot_reads_the_registry(store, small: SmallStore) -> None:
    model = store.snapshot().registered_model(small.model_name)
    assert model.tags["owner"] == "alice"
    assert dict(model.aliases) == {"production": "3", "previous": "2"}
    assert [v.version for v in model.versions] == ["1", "2", "3"]
    v1, v2, v3 = model.versions
    assert (v1.current_stage, v3.current_stage) == ("Archived", "Production")
    assert v3.aliases == ("production",) and v2.aliases == ("previous",) and v1.aliases == ()
    assert v3.model_id == small.model_id and v1.model_id is None
    assert (v1.run_id, v3.run_id) == (small.run_ids["other"], small.run_ids["best"])
    assert v3.tags["val_acc"] == "0.9"


def test_snapshot_round_trips_through_json(store) -> None:
    snap = store.snapshot()
    again = StoreSnapshot.from_json(snap.to_json())
    assert again == snap
    assert again.to_json() == snap.to_json()


def test_experiment_filter_limits_runs(store, small: SmallStore) -> None:
    snap = store.snapshot([small.experiment])
    exp = snap.experiment(small.experiment)
    assert snap.runs and all(r.experiment_id == exp.experiment_id for r in snap.runs)
    assert snap.experiment(small.deleted_experiment) is not None  # experiments are all listed
    with pytest.raises(UsageError, match="no experiment named 'nope'"):
        store.snapshot(["nope"])


def test_every_search_follows_page_tokens(store, small: SmallStore,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of one or two items force every paged API (experiments, runs, logged models,
    registered models, versions) to follow tokens; the result must not change."""
    from mltrack.stores import mlflow_store

    whole = store.snapshot([small.experiment])
    for name in ("RUN_PAGE_SIZE", "CONCURRENT_RUN_PAGE_SIZE", "EXPERIMENT_PAGE_SIZE", "LOGGED_MODEL_PAGE_SIZE",
                 "REGISTERED_MODEL_PAGE_SIZE", "MODEL_VERSION_PAGE_SIZE"):
        monkeypatch.setattr(mlflow_store, name, 2 if "RUN_PAGE_SIZE" in name else 1)
    pages: list[int] = []
    paged = store.snapshot([small.experiment], progress=lambda done, _, what: pages.append(done)
                           if what == "runs" else None)
    assert pages == [2, 4]
    assert paged.runs == whole.runs and paged.registered_models == whole.registered_models
    assert paged.experiments == whole.experiments


def test_progress_reports_runs(store) -> None:
    calls = []
    store.snapshot(progress=lambda done, total, what: calls.append((done, total, what)))
    assert any(what == "runs" and done >= 5 for done, _, what in calls)


def test_metric_history_in_step_order(store, small: SmallStore) -> None:
    history = store.metric_history(small.run_ids["best"], "val_acc")
    assert [(step, value) for step, value, _ in history] == [(0, 0.5), (1, 0.7), (2, 0.9)]
    assert store.metric_history(small.run_ids["best"], "never_logged") == []


def test_list_artifacts_recursive_with_sizes_and_logged_models(store, small: SmallStore) -> None:
    files = {f.path: f.size for f in store.list_artifacts(small.run_ids["best"])}
    prefix = f"models/{small.model_id}/"
    assert files == {"notes.md": 12, "plots/loss.txt": 12,
                     prefix + "MLmodel": 12, prefix + "weights.bin": 1234}
    assert {f.path for f in store.list_artifacts(small.run_ids["failed"])} == set()


def test_download_artifact_and_model(store, small: SmallStore, tmp_path: Path) -> None:
    local = store.download_artifact(small.run_ids["best"], "plots/loss.txt", tmp_path / "a")
    assert local.read_text() == "0.9 0.5 0.3\n"
    for uri in (f"models:/{small.model_name}@production", f"models:/{small.model_name}/3",
                f"models:/{small.model_id}"):
        model_dir = store.download_model(uri, tmp_path / uri.replace(":", "_").replace("/", "_"))
        assert (model_dir / "weights.bin").stat().st_size == 1234
    old = store.download_model(f"models:/{small.model_name}/1", tmp_path / "v1")
    assert (old / "loss.txt").read_text() == "0.9 0.5 0.3\n"


def test_server_version(store, small: SmallStore) -> None:
    # A 3.17 server answers /version; a direct database read reports the client library.
    assert store.server_version() == mlflow.__version__
    assert store.snapshot().server_version == mlflow.__version__
