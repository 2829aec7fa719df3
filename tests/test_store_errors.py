"""Bad input: unreachable or malformed URIs fail fast (< 10 s) with one redacted line, exit 2."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrack.cli import main
from mltrack.errors import EXIT_USAGE, StoreUnreachable
from mltrack.stores import open_store
from tests.support.mlflow_server import free_port

SECRET = "s3cret-pw"  # noqa: MLT012 - a fake credential that must never be printed


def _closed_port_uri() -> str:
    return f"http://bob:{SECRET}@127.0.0.1:{free_port()}"


@pytest.mark.parametrize("uri", [
    pytest.param(_closed_port_uri(), id="closed-port"),
    pytest.param(f"https://tok{SECRET}@127.0.0.1:{free_port()}/", id="closed-port-token"),
    pytest.param(f"postgresql://bob:{SECRET}@127.0.0.1:{free_port()}/mlflow", id="postgres"),
    pytest.param("sqlite://", id="sqlite-no-path"),
    pytest.param("sqlite:///:memory:", id="sqlite-memory"),
    pytest.param("http://", id="http-no-host"),
    pytest.param(f"ftp://bob:{SECRET}@host/x", id="unsupported-scheme"),
    pytest.param("", id="empty"),
])
def test_unreachable_or_malformed_fails_fast_and_redacted(uri: str) -> None:
    started = time.monotonic()
    with pytest.raises(StoreUnreachable) as info:
        open_store(uri, timeout=30)
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert SECRET not in message and "\n" not in message
    if "@" in uri:
        assert "***@" in message


def test_missing_sqlite_path_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(StoreUnreachable, match="does not exist"):
        open_store(f"sqlite:///{tmp_path}/nope/mlflow.db")


def test_garbage_sqlite_file_fails_fast(tmp_path: Path) -> None:
    db = tmp_path / "garbage.db"
    db.write_bytes(b"this is not a database" * 100)
    started = time.monotonic()
    with pytest.raises(StoreUnreachable, match="not a database"):
        open_store(f"sqlite:///{db}")
    assert time.monotonic() - started < 10  # MLflow alone retries for over a minute


def test_a_folder_that_is_no_file_store(tmp_path: Path) -> None:
    with pytest.raises(StoreUnreachable, match="no MLflow file store"):
        open_store(str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_cli_unreachable_exit_code_2_one_line(tmp_path: Path) -> None:
    uri = _closed_port_uri()
    started = time.monotonic()
    result = CliRunner().invoke(main, ["snapshot", "--tracking-uri", uri,
                                       "--out", str(tmp_path / "s.json")])
    assert time.monotonic() - started < 10
    assert result.exit_code == EXIT_USAGE
    assert SECRET not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mltrack: error: cannot reach tracking server")
    assert "Traceback" not in result.output and not (tmp_path / "s.json").exists()


def test_cli_malformed_uri_exit_code_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["snapshot", "--tracking-uri", "sqlite://",
                                       "--out", str(tmp_path / "s.json")])
    assert result.exit_code == EXIT_USAGE
    assert "malformed sqlite URI" in result.output

