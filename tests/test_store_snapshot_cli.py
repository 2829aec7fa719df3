"""`mltrack snapshot`: a recorded snapshot equals what the adapter reads, and loads offline."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrack.cli import main
from mltrack.model import StoreSnapshot
from mltrack.stores import open_store
from tests.support.dump import assert_unchanged, dump_store
from tests.support.small_store import SmallStore, build_small_store


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[SmallStore, Path]:
    root = tmp_path_factory.mktemp("snapshot-cli")
    return build_small_store(f"sqlite:///{root / 'mlflow.db'}", root, root / "artifacts"), root


def test_snapshot_file_matches_the_adapter(small: tuple[SmallStore, Path], tmp_path: Path) -> None:
    store, root = small
    before = dump_store(root / "mlflow.db", root / "artifacts")
    out = tmp_path / "deep" / "snap.json"
    result = CliRunner().invoke(main, ["snapshot", "--tracking-uri", store.uri, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 runs, 1 registered models" in result.output
    recorded = StoreSnapshot.from_json(out.read_text())
    live = open_store(store.uri).snapshot()
    assert dataclasses.replace(recorded, taken_at=live.taken_at) == live
    assert_unchanged(before, dump_store(root / "mlflow.db", root / "artifacts"))


def test_snapshot_to_stdout_with_experiment_filter(small: tuple[SmallStore, Path]) -> None:
    store, _ = small
    result = CliRunner().invoke(main, ["snapshot", "--tracking-uri", store.uri, "--out", "-",
                                       "--experiment", store.experiment, "--indent", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["schema_version"] == 1 and data["tracker"] == "mlflow"
    assert len(data["runs"]) == 4  # the run in the deleted experiment is not read


def test_unknown_experiment_is_a_usage_error(small: tuple[SmallStore, Path], tmp_path: Path) -> None:
    store, _ = small
    result = CliRunner().invoke(main, ["snapshot", "--tracking-uri", store.uri,
                                       "--out", str(tmp_path / "s.json"), "--experiment", "nope"])
    assert result.exit_code == 2
    assert "no experiment named 'nope'" in result.output and not (tmp_path / "s.json").exists()
