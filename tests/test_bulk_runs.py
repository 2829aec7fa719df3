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


def test_clones_with_a_model_and_data_of_their_own(seeded_root: Path, tmp_path: Path) -> None:
    """The worst shape for a reader's memory: every run logged a model and trained on its own data."""
    from mlflow.tracking import MlflowClient

    db = tmp_path / "mlflow.db"
    shutil.copy2(empty_database(seeded_root), db)
    uri = f"sqlite:///{db}"
    exp, template = write_template_run(uri, "bulk", str(tmp_path / "artifacts"))
    client = MlflowClient(tracking_uri=uri)
    model = client.create_logged_model(exp, name="net", source_run_id=template, tags={"k": "v"}, params={"lr": "0.1"})
    client.finalize_logged_model(model.model_id, "READY")
    ids = clone_runs(db, template, 300, chunk=128, model_template=model.model_id, data_per_run=True)
    runs = {r.info.run_id: r for r in _all_runs(uri)}
    assert len({runs[i].data.params["data_hash"] for i in ids}) == 300
    models, token = [], None
    while True:
        page = client.search_logged_models([exp], max_results=100, page_token=token)
        models.extend(page)
        token = page.token
        if not token:
            break
    assert len(models) == 301 and {m.source_run_id for m in models} == {template, *ids}
    copy = next(m for m in models if m.source_run_id == ids[-1])
    assert copy.model_id != model.model_id and copy.name == "net" and copy.tags == {"k": "v"}
    assert copy.params == {"lr": "0.1"} and copy.status.name == "READY"
