"""Shared fixtures. Real parts: a real `mlflow server` on 127.0.0.1 and real sqlite stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mlflow_server import MlflowServer, start_mlflow_server

# Seeded reference stores (reference_store, small_reference_store, break_store), shared across xdist workers.
pytest_plugins = ["tests.support.stores"]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """An empty tracking server (sqlite backend) for the session, stopped at teardown."""
    root = tmp_path_factory.mktemp("mlflow-server")
    server = start_mlflow_server(f"sqlite:///{root / 'mlflow.db'}", root / "artifacts", root)
    yield server
    server.stop()


@pytest.fixture
def fresh_mlflow_server(tmp_path: Path) -> Iterator[MlflowServer]:
    """A server of one's own, for tests that stop it or need an empty store."""
    server = start_mlflow_server(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "artifacts", tmp_path)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_env(seeded_root: Path) -> Iterator:
    """A throwaway PostgreSQL cluster holding a seeded MLflow store, with a 4-worker `mlflow
    server` on it (tests/support/postgres.py), shared by the xdist workers. Skips, saying why,
    where PostgreSQL or its driver is not installed."""
    from tests.support.postgres import PostgresUnavailable, shared_postgres

    manager = shared_postgres(seeded_root / "mltrack-postgres")
    try:
        env = manager.__enter__()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL cannot run here: {exc}")
    yield env
    manager.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _no_active_mlflow_experiment() -> Iterator[None]:
    """MLflow's fluent API keeps the active experiment in a process global: one test that calls
    `mlflow.set_experiment()` (a training script run in-process) would make a later test's
    `mlflow.start_run(run_id=...)` on the same xdist worker refuse runs of other experiments.
    Every test starts and ends with none set (only when MLflow is already imported)."""
    import sys

    fluent = sys.modules.get("mlflow.tracking.fluent")
    if fluent is not None:
        fluent._active_experiment_id = None
    yield
    fluent = sys.modules.get("mlflow.tracking.fluent")
    if fluent is not None:
        fluent._active_experiment_id = None
