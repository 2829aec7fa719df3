"""The big-store builder (tests/support/bulk_runs.py): copies that MLflow itself reads back,
sharing one artifact folder when asked (no folder per run: ext4 caps hard links at 65,000)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.bulk_runs import clone_runs, write_template_run
from tests.support.stores import empty_database


def _all_runs(uri: str) -> list:
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    runs, token = [], None
    while True:
        page = client.search_runs(ids, run_view_type=ViewType.ALL, max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def test_sqlite_clones_share_one_artifact_folder_in_chunks(seeded_root: Path, tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    shutil.copy2(empty_database(seeded_root), db)
    uri = f"sqlite:///{db}"
    _, template = write_template_run(uri, "bulk", str(tmp_path / "artifacts"))
    shared = str(tmp_path / "shared-artifacts")
    ids = clone_runs(db, template, 1_234, artifact_uri=shared, chunk=500)  # three chunks, the last partial
    runs = _all_runs(uri)
    assert len(ids) == len(set(ids)) == 1_234 and len(runs) == 1_235
    clones = [r for r in runs if r.info.run_id != template]
    assert {r.info.artifact_uri for r in clones} == {shared}
    assert {r.data.tags["mlflow.user"] for r in clones} == {"alice", "bob", "carol"}
    assert all(r.data.tags["mlflow.runName"] == r.info.run_name for r in clones)
    assert all(r.data.metrics["val_acc"] == 0.7 and r.data.params["batch_size"] == "32" for r in clones)
    assert clone_runs(db, template, 10, return_ids=False) == []
