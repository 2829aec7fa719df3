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


def test_snapshot_masks_secrets_logged_as_params_and_tags(tmp_path: Path) -> None:
    # A store written by plain MLflow whose runs logged their whole config, credentials included
    # (fixtures/stores/secrets_in_params.py): the recorded snapshot must publish none of them,
    # as the reports do not, while every other param stays as logged.
    from fixtures.stores import secrets_in_params

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    secrets_in_params.build(uri, str(tmp_path / "artifacts"))
    out = tmp_path / "snap.json"
    result = CliRunner().invoke(main, ["snapshot", "--tracking-uri", uri, "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    leaked = [s for s in secrets_in_params.SECRETS if s in text]
    assert not leaked, leaked
    # 12 runs x (api_key, token, password, db_uri params + the clone URL tag)
    assert "(60 secret-looking values masked as ***)" in result.output
    recorded = StoreSnapshot.from_json(text)
    assert len(recorded.runs) == secrets_in_params.RUNS
    for run in recorded.runs:
        assert {run.params[k] for k in ("api_key", "token", "password", "db_uri")} == {"***"}
        assert run.params["learning_rate"] and run.params["optimizer"] == "adam"
        assert run.tags["mlflow.user"] in secrets_in_params.USERS
    # the same with the runs spilled to disk and written to stdout, indented
    result = CliRunner(env={"MLTRACK_SPILL_RUNS": "0"}).invoke(
        main, ["snapshot", "--tracking-uri", uri, "--out", "-", "--indent", "2"])
    assert result.exit_code == 0, result.output
    assert not [s for s in secrets_in_params.SECRETS if s in result.output]
    assert dataclasses.replace(StoreSnapshot.from_json(result.output), taken_at=recorded.taken_at) == recorded


def test_streamed_snapshot_json_is_byte_identical_to_to_json() -> None:
    # The writer streams run by run; for a store without secrets its text is exactly to_json's,
    # at every indent, from an in-memory table and from a spilled one.
    import io

    from mltrack.cli.snapshot_cmd import write_snapshot_json
    from mltrack.run_table import RunTableBuilder
    from tests.fixtures_snapshots import load_recording

    snapshot, _ = load_recording("reference")
    builder = RunTableBuilder(spill_after=0)
    for run in snapshot.runs:
        builder.add(run)
    spilled = dataclasses.replace(snapshot, runs=builder.finish())
    for indent in (None, 0, 2):
        for source in (snapshot, spilled, dataclasses.replace(snapshot, runs=())):
            out = io.StringIO()
            assert write_snapshot_json(source, out, indent) == 0
            assert out.getvalue() == source.to_json(indent=indent), indent
