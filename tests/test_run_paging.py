"""Keyset paging of runs (stores/paging.iter_run_pages): every run once, in MLflow's own order.

MLflow's page token is an offset, and its SQL store sorts the experiment again for every page;
the reader re-anchors each page on the last start time it saw instead. The hard cases are real
here: groups of runs sharing one start time (smaller and larger than a page, across page
boundaries), in a real sqlite store and through a real
`mlflow server` on it. The expected order is one unpaged `search_runs` of the same store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mltrack.stores import open_store
from mltrack.stores.paging import iter_run_pages
from tests.support.mlflow_server import start_mlflow_server

# start times (ms) of the runs, in creation order: ties of 7, 1, 12 (more than most pages),
# a run of distinct times, another tie of 3, and a tie at the very end.
START_TIMES = [5_000] * 7 + [4_900] + [4_800] * 12 + list(range(4_700, 4_600, -10)) + [4_000] * 3 + [1, 1, 1]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("keyset")
    db = root / "mlflow.db"
    uri = f"sqlite:///{db}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("keyset", artifact_location=str(root / "artifacts"))
    for i, t in enumerate(START_TIMES):
        client.create_run(exp, start_time=t, run_name=f"r{i}")
    return uri, exp


@pytest.fixture(scope="module")
def server(store: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("keyset-server")
    srv = start_mlflow_server(store[0], root / "artifacts", root)
    yield srv.url
    srv.stop()


def _search(uri: str, exp: str, calls: list[tuple[str | None, int, str | None]]) -> Any:
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)

    def search(where: str | None, size: int, token: str | None) -> Any:
        calls.append((where, size, token))
        return client.search_runs([exp], filter_string=where or "", run_view_type=ViewType.ALL,
                                  max_results=size, page_token=token)
    return search


def _unpaged(uri: str, exp: str) -> list[str]:
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    runs = MlflowClient(tracking_uri=uri).search_runs([exp], run_view_type=ViewType.ALL, max_results=1_000)
    assert len(runs) == len(START_TIMES)  # the truth to page towards
    return [r.info.run_id for r in runs]


@pytest.mark.parametrize("page_size", [1, 2, 3, 5, 7, 8, 11, 13, 40, 100])
def test_every_run_once_in_mlflow_order_sqlite(store: tuple[str, str], page_size: int) -> None:
    uri, exp = store
    calls: list[tuple[str | None, int, str | None]] = []
    paged = [r.info.run_id for page in iter_run_pages(_search(uri, exp, calls), page_size) for r in page]
    assert paged == _unpaged(uri, exp)
    if page_size < len(START_TIMES) - 3:
        # The reader re-anchored (a keyset filter) rather than walking offsets from the start.
        assert any(where for where, _, _ in calls)


@pytest.mark.parametrize("page_size", [2, 7, 13])
def test_every_run_once_in_mlflow_order_http(server: str, store: tuple[str, str], page_size: int) -> None:
    _, exp = store
    calls: list[tuple[str | None, int, str | None]] = []
    paged = [r.info.run_id for page in iter_run_pages(_search(server, exp, calls), page_size) for r in page]
    assert paged == _unpaged(server, exp)
    assert any(where for where, _, _ in calls)


def test_pages_stay_bounded(store: tuple[str, str]) -> None:
    """No page asks for more than the page size plus the ties it must skip (at most one page)."""
    uri, exp = store
    calls: list[tuple[str | None, int, str | None]] = []
    for _ in iter_run_pages(_search(uri, exp, calls), 5):
        pass
    assert max(size for _, size, _ in calls) <= 2 * 5


def test_snapshot_reads_ties_in_order(store: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from mltrack.stores import mlflow_store

    uri, exp = store
    monkeypatch.setattr(mlflow_store, "RUN_PAGE_SIZE", 4)
    snap = open_store(uri).snapshot()
    mine = [r.run_id for r in snap.runs if r.experiment_id == exp]
    assert mine == _unpaged(uri, exp)


def test_store_unchanged_by_paging(store: tuple[str, str], tmp_path: Path) -> None:
    """Reading is read-only: the database's runs are byte-for-byte the same after a paged read."""
    uri, exp = store
    db = uri.removeprefix("sqlite:///")

    def dump() -> list[tuple[Any, ...]]:
        with sqlite3.connect(db) as con:
            return con.execute("SELECT * FROM runs ORDER BY run_uuid").fetchall()
    before = dump()
    for _ in iter_run_pages(_search(uri, exp, []), 3):
        pass
    assert dump() == before


def test_every_run_once_in_mlflow_order_postgresql(postgres_env) -> None:
    """The same ties through a direct postgresql:// URI (PostgreSQL sorts and filters itself).
    Skips, saying why, where PostgreSQL cannot run (the postgres_env fixture)."""
    import uuid

    from mlflow.tracking import MlflowClient

    uri = postgres_env.empty_store(f"keyset_{uuid.uuid4().hex[:10]}")
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("keyset", artifact_location=f"{postgres_env.state_dir}/keyset-artifacts")
    for i, t in enumerate(START_TIMES):
        client.create_run(exp, start_time=t, run_name=f"r{i}")
    for page_size in (2, 7, 13):
        calls: list[tuple[str | None, int, str | None]] = []
        paged = [r.info.run_id for page in iter_run_pages(_search(uri, exp, calls), page_size) for r in page]
        assert paged == _unpaged(uri, exp)
        assert any(where for where, _, _ in calls)


def test_a_store_repeating_its_token_stops_with_an_error() -> None:
    """A broken server that hands back the same token forever must not loop forever. No real
    MLflow store does this, so the pages are MLflow's own PagedList with a stuck token."""
    from mlflow.store.entities.paged_list import PagedList

    from mltrack.stores.paging import iter_pages

    with pytest.raises(RuntimeError, match="same page token twice"):
        for _ in iter_pages(lambda token: PagedList([1], "stuck")):
            pass

    class _Run:  # a run with one start time: the reader stays on offsets, following the token
        class info:  # noqa: N801 - the shape of mlflow.entities.Run's .info
            run_id, start_time = "r", 5

    with pytest.raises(RuntimeError, match="same page token twice"):
        for _ in iter_run_pages(lambda where, size, token: PagedList([_Run()], "stuck"), 1):
            pass
