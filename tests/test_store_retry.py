"""Transient HTTP errors are retried a bounded number of times with backoff; 4xx never.

The failures come from a real local proxy in front of a real `mlflow server`
(tests/support/flaky_proxy.py), so MLflow's real client sees real 503s, 429s and dropped
connections; nothing in the client is mocked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from mltrack.errors import StoreError
from mltrack.stores.mlflow_store import MlflowStore, open_mlflow_store
from mltrack.stores.retry import call_with_retry, is_transient
from mltrack.uri import parse
from tests.support.flaky_proxy import FlakyProxy
from tests.support.small_store import SmallStore, build_small_store

ATTEMPTS = 3


@pytest.fixture(scope="module")
def seeded(mlflow_server, tmp_path_factory: pytest.TempPathFactory) -> SmallStore:
    return build_small_store(mlflow_server.url, tmp_path_factory.mktemp("retry"))


@pytest.fixture
def proxy(mlflow_server) -> Iterator[FlakyProxy]:
    flaky = FlakyProxy(mlflow_server.url).start()
    yield flaky
    flaky.stop()


@pytest.fixture
def store(proxy: FlakyProxy, seeded: SmallStore) -> MlflowStore:
    return open_mlflow_store(parse(proxy.url), timeout=5, attempts=ATTEMPTS, backoff_s=0.05)


@pytest.mark.parametrize("mode", ["503", "429", "500", "reset"])
def test_transient_failures_are_retried(store: MlflowStore, proxy: FlakyProxy,
                                        seeded: SmallStore, mode: str) -> None:
    proxy.fail_next(ATTEMPTS - 1, mode)
    snap = store.snapshot([seeded.experiment])
    assert proxy.failed == ATTEMPTS - 1
    assert snap.run(seeded.run_ids["best"]).metrics["val_acc"] == 0.9


def test_retries_are_bounded(store: MlflowStore, proxy: FlakyProxy, seeded: SmallStore) -> None:
    proxy.fail_next(100, "503", path_filter="/metrics/get-history")
    started = time.monotonic()
    with pytest.raises(StoreError, match="reading metric 'val_acc'"):
        store.metric_history(seeded.run_ids["best"], "val_acc")
    assert proxy.failed == ATTEMPTS  # one call and ATTEMPTS-1 retries, no more
    assert time.monotonic() - started < 5


def test_dropped_connections_are_bounded_too(store: MlflowStore, proxy: FlakyProxy,
                                             seeded: SmallStore) -> None:
    proxy.fail_next(100, "reset")
    with pytest.raises(StoreError):
        store.snapshot([seeded.experiment])
    assert proxy.failed == ATTEMPTS


@pytest.mark.parametrize("mode", ["400", "404", "403"])
def test_client_errors_are_never_retried(store: MlflowStore, proxy: FlakyProxy,
                                         seeded: SmallStore, mode: str) -> None:
    proxy.fail_next(1, mode, path_filter="/runs/get")
    with pytest.raises(StoreError, match=f"reading run {seeded.run_ids['best']}"):
        store.list_artifacts(seeded.run_ids["best"])
    assert proxy.failed == 1
    assert sum("/runs/get" in p for p in proxy.requests_seen) == 1


def test_unknown_run_is_an_answer_not_a_retry(store: MlflowStore, proxy: FlakyProxy) -> None:
    proxy.fail_next(0)
    with pytest.raises(StoreError, match="reading run 0000"):
        store.list_artifacts("0000")
    assert sum("/runs/get" in p for p in proxy.requests_seen) == 1


# -- the policy itself, on plain exceptions ----------------------------------------------


def test_is_transient_classifies_errors() -> None:
    import requests
    from mlflow.exceptions import MlflowException, RestException

    assert is_transient(ConnectionResetError("reset by peer"))
    assert is_transient(requests.ConnectionError("boom"))
    assert is_transient(requests.ReadTimeout("slow"))
    assert is_transient(MlflowException("API request failed: too many 503 error responses"))
    assert not is_transient(RestException({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "x"}))
    assert not is_transient(RestException({"error_code": "INVALID_PARAMETER_VALUE", "message": "x"}))
    assert is_transient(RestException({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "x"}))
    assert not is_transient(ValueError("bad"))


def test_call_with_retry_backs_off_exponentially() -> None:
    sleeps: list[float] = []
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionResetError("reset")
        return "ok"

    assert call_with_retry(flaky, attempts=4, backoff_s=1.0, sleep=sleeps.append) == "ok"
    assert len(calls) == 3 and len(sleeps) == 2
    assert 1.0 <= sleeps[0] <= 1.25 and 2.0 <= sleeps[1] <= 2.5
