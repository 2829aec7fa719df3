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
