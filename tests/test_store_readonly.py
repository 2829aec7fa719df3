"""The reader never writes: the store's database and artifact files are byte-identical after a
full read (snapshot, metric histories, artifact listings, downloads), over sqlite and HTTP."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from mltrack.errors import StoreUnreachable
from mltrack.stores import open_store
from tests.support.dump import assert_unchanged, dump_store
from tests.support.small_store import build_small_store


def _read_everything(uri: str, dst: Path, experiment: str | None = None) -> int:
    store = open_store(uri, timeout=10)
    try:
        snap = store.snapshot([experiment] if experiment else None)
        for run in snap.runs:
            store.list_artifacts(run.run_id)
            for key in run.metrics:
                store.metric_history(run.run_id, key)
        for model in snap.registered_models:
            for version in model.versions:
                store.download_model(f"models:/{model.name}/{version.version}", dst / version.version)
        store.server_version()
        return len(snap.runs)
    finally:
        store.close()


def test_full_sqlite_read_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, artifacts = tmp_path / "mlflow.db", tmp_path / "artifacts"
    build_small_store(f"sqlite:///{db}", tmp_path, artifacts)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)  # MLflow likes to create ./mlruns or parent folders in the cwd
    before = dump_store(db, artifacts)
    assert _read_everything(f"sqlite:///{db}", tmp_path / "downloads") == 5
    assert_unchanged(before, dump_store(db, artifacts))
    assert list(work.iterdir()) == []


def test_full_http_read_changes_nothing(mlflow_server, tmp_path: Path) -> None:
    small = build_small_store(mlflow_server.url, tmp_path)
    db = Path(mlflow_server.backend_uri.removeprefix("sqlite:///"))
    before = dump_store(db, mlflow_server.artifacts_dir)
    assert _read_everything(mlflow_server.url, tmp_path / "downloads", small.experiment) == 4
    assert_unchanged(before, dump_store(db, mlflow_server.artifacts_dir))


def test_legacy_file_store_is_read_without_writing(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking import MlflowClient

    root = tmp_path / "mlruns"
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # only to write the fixture store
    client = MlflowClient(tracking_uri=str(root))
    exp_id = client.create_experiment("legacy")
    run = client.create_run(exp_id, tags={"mlflow.user": "dana", "mlflow.source.git.commit": "2" * 40})
    client.log_param(run.info.run_id, "lr", "0.1")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    before = dump_store(None, root)
    store = open_store(str(root))
    snap = store.snapshot()
    assert snap.run(run.info.run_id).user == "dana"
    assert snap.run(run.info.run_id).params["lr"] == "0.1"
    assert_unchanged(before, dump_store(None, root))
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ  # our override did not leak


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "mlflow.db"
    with pytest.raises(StoreUnreachable, match="does not exist"):
        open_store(f"sqlite:///{db}")
    assert not db.exists() and not db.parent.exists()


def test_non_mlflow_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    before = dump_store(db)
    with pytest.raises(StoreUnreachable, match="not an MLflow tracking database"):
        open_store(f"sqlite:///{db}")
    assert_unchanged(before, dump_store(db))


def test_dump_detects_a_write(tmp_path: Path) -> None:
    """The proof above is only as good as the dump: show it sees a one-row change."""
    db = tmp_path / "mlflow.db"
    build_small_store(f"sqlite:///{db}", tmp_path, tmp_path / "artifacts")
    before = dump_store(db, tmp_path / "artifacts")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE tags SET value = 'mallory' WHERE key = 'mlflow.user' AND value = 'carol'")
    with pytest.raises(AssertionError, match="database contents changed"):
        assert_unchanged(before, dump_store(db, tmp_path / "artifacts"))
    changed = dump_store(db, tmp_path / "artifacts")
    (tmp_path / "artifacts" / "new.txt").write_text("x")
    with pytest.raises(AssertionError, match=r"added=\['0/new.txt'\]"):
        assert_unchanged(changed, dump_store(db, tmp_path / "artifacts"))
