"""Pagination past 1,000 runs: MLflow's client silently stops there; the reader must not.

Over HTTP, token following is also covered by tests/test_store_mlflow.py (tiny pages on the
shared server); the 1,100-run HTTP read has a server of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mltrack.stores import mlflow_store, open_store
from tests.support.bulk_runs import clone_runs, write_template_run
from tests.support.mlflow_server import start_mlflow_server

CLONES = 1_100


@pytest.fixture(scope="module")
def bulk(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, set[str]]:
    root = tmp_path_factory.mktemp("bulk")
    db = root / "mlflow.db"
    uri = f"sqlite:///{db}"
    _, template = write_template_run(uri, "bulk", str(root / "artifacts" / "bulk"))
    return uri, db, {template, *clone_runs(db, template, CLONES)}


def test_plain_client_stops_at_1000(bulk: tuple[str, Path, set[str]]) -> None:
    """The trap this reader exists to avoid (if MLflow ever changes this, the test says so)."""
    from mlflow.tracking import MlflowClient

    uri, _, _ = bulk
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("bulk")
    assert len(client.search_runs([exp.experiment_id])) == 1_000


def test_snapshot_reads_every_run(bulk: tuple[str, Path, set[str]]) -> None:
    uri, _, expected = bulk
    snap = open_store(uri).snapshot()
    assert {r.run_id for r in snap.runs} == expected
    assert len(snap.runs) == CLONES + 1
    assert {r.user for r in snap.runs} == {"alice", "bob", "carol"}
    last = next(r for r in snap.runs if r.name == f"bulk-{CLONES - 1}")
    assert last.params["data_hash"] == "f" * 64 and last.metrics["val_acc"] == pytest.approx(0.7)


def test_snapshot_follows_page_tokens(bulk: tuple[str, Path, set[str]],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    uri, _, expected = bulk
    monkeypatch.setattr(mlflow_store, "RUN_PAGE_SIZE", 250)
    seen: list[int] = []
    snap = open_store(uri).snapshot(progress=lambda done, total, what: seen.append(done))
    assert seen == [250, 500, 750, 1_000, 1_101]
    assert [r.run_id for r in snap.runs if r.run_id in expected] == [r.run_id for r in snap.runs]
    assert len({r.run_id for r in snap.runs}) == len(snap.runs) == len(expected)


@pytest.fixture(scope="module")
def bulk_server(bulk: tuple[str, Path, set[str]], tmp_path_factory) -> Iterator[str]:
    uri, db, _ = bulk
    root = tmp_path_factory.mktemp("bulk-server")
    server = start_mlflow_server(uri, root / "artifacts", root)
    yield server.url
    server.stop()


def test_paging_over_http(bulk_server: str, bulk: tuple[str, Path, set[str]],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, expected = bulk
    monkeypatch.setattr(mlflow_store, "RUN_PAGE_SIZE", 400)  # one reader
    monkeypatch.setattr(mlflow_store, "CONCURRENT_RUN_PAGE_SIZE", 400)  # a server: one reader per experiment
    pages: list[int] = []
    snap = open_store(bulk_server).snapshot(progress=lambda done, total, what: pages.append(done))
    assert pages == [400, 800, 1_101]
    assert {r.run_id for r in snap.runs} == expected

