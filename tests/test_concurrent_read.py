"""MLTRACK_READ_CONCURRENCY: experiments paged concurrently give the very records one reader
gets (sqlite, and a real server behind a proxy that fails on purpose: same retry rules), read
by the pool's threads; a bad setting is a usage error. The speed-up is measured by
benchmarks/bench_concurrent_read.py against a 4-worker server on PostgreSQL."""

from __future__ import annotations

import os
import threading

import pytest

from mltrack.errors import UsageError
from mltrack.stores import open_store
from mltrack.stores.concurrent_read import ENV_VAR, read_concurrency
from mltrack.stores.mlflow_store import open_mlflow_store
from mltrack.uri import parse
from tests.support.flaky_proxy import FlakyProxy
from tests.support.small_store import build_small_store


def _read(open_it, monkeypatch, concurrency: int, experiments=None):
    monkeypatch.setenv(ENV_VAR, str(concurrency))
    threads: set[str] = set()
    snap = open_it().snapshot(experiments, progress=lambda *a: threads.add(threading.current_thread().name))
    return sorted(snap.runs, key=lambda r: r.run_id), threads


def test_concurrent_read_equals_one_reader_on_sqlite(small_reference_store, monkeypatch) -> None:
    def open_it():
        return open_store(small_reference_store.uri)

    one, one_threads = _read(open_it, monkeypatch, 1)
    before = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")}
    many, many_threads = _read(open_it, monkeypatch, 4)
    assert {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")} == before  # threads restored it
    assert len({r.experiment_id for r in one}) >= 2  # several experiments: the pool has work to share
    assert many == one and len(one) == 36
    assert not any(t.startswith("mltrack-read") for t in one_threads)
    assert any(t.startswith("mltrack-read") for t in many_threads)


def test_concurrent_read_through_a_flaky_server_keeps_the_retry_rules(mlflow_server, tmp_path, monkeypatch) -> None:
    stores = [build_small_store(mlflow_server.url, tmp_path / name) for name in ("a", "b", "c")]
    names = [s.experiment for s in stores]
    proxy = FlakyProxy(mlflow_server.url).start()
    try:
        def open_it():
            return open_mlflow_store(parse(proxy.url), timeout=5, attempts=3, backoff_s=0.05)

        one, _ = _read(open_it, monkeypatch, 1, names)
        proxy.fail_next(2, "503", path_filter="/runs/search")
        many, threads = _read(open_it, monkeypatch, 3, names)
        assert proxy.failed == 2  # both failures hit run pages, and were retried
        assert many == one and {r.experiment_id for r in many} == {r.experiment_id for r in one}
        assert len({r.experiment_id for r in many}) == 3
        assert any(t.startswith("mltrack-read") for t in threads)
        proxy.fail_next(100, "503", path_filter="/runs/search")  # bounded: fails, never hangs
        monkeypatch.setenv(ENV_VAR, "3")
        with pytest.raises(Exception, match="listing runs"):
            open_it().snapshot(names)
    finally:
        proxy.stop()


@pytest.mark.parametrize("raw", ["0", "-2", "many", "1000"])
def test_a_bad_setting_is_a_usage_error(raw: str) -> None:
    with pytest.raises(UsageError, match=ENV_VAR):
        read_concurrency({ENV_VAR: raw})


def test_default_is_four_readers_for_a_server_and_one_for_a_file() -> None:
    assert read_concurrency({}) == 1 and read_concurrency({ENV_VAR: " 4 "}) == 4
    assert read_concurrency({}, kind="sqlite") == 1 and read_concurrency({}, kind="file") == 1
    assert read_concurrency({}, kind="http") == 4 and read_concurrency({}, kind="database") == 4
    assert read_concurrency({ENV_VAR: "1"}, kind="http") == 1, "the setting wins over the default"


def test_a_server_store_is_read_concurrently_by_default(mlflow_server, tmp_path, monkeypatch) -> None:
    # Through a real server with several experiments, the default read takes the concurrent path
    # (one MlflowClient a thread) and returns what one reader returns.

    from mlflow.tracking import MlflowClient

    import mltrack.stores.concurrent_read as concurrent_read
    from mltrack.stores import open_store

    client = MlflowClient(mlflow_server.url)
    names = []
    for e in range(3):
        name = f"default-concurrency-{tmp_path.name}-{e}"
        exp = client.create_experiment(name)
        names.append(name)
        for i in range(3):
            run = client.create_run(exp, run_name=f"r{e}-{i}")
            client.log_metric(run.info.run_id, "val_acc", i / 10)
            client.set_terminated(run.info.run_id)
    calls = []
    real = concurrent_read.read_runs_concurrently
    monkeypatch.setattr(concurrent_read, "read_runs_concurrently",
                        lambda *a, **k: calls.append(a[4]) or real(*a, **k))
    monkeypatch.delenv(ENV_VAR, raising=False)
    with open_store(mlflow_server.url) as store:
        together = store.snapshot(names)
    monkeypatch.setenv(ENV_VAR, "1")
    with open_store(mlflow_server.url) as store:
        alone = store.snapshot(names)
    assert calls == [4], "the default read of a server used 4 readers, the setting 1 used none"
    assert [r.run_id for r in together.runs] == [r.run_id for r in alone.runs] and len(alone.runs) == 9

