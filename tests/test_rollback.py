"""`mltrack rollback` on private copies of the seeded reference store (never the shared one):
the real rollback recorded and verified in well under 5 minutes, a second rollback going further
back, and every refusal leaving the store byte-for-byte unchanged."""

from __future__ import annotations

import shutil
import time
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrack import conventions
from mltrack.cli import main
from mltrack.pressure.policy import Policy
from mltrack.pressure.runner import run_checks
from mltrack.promotions import read_promotions
from tests.support.dump import assert_unchanged, dump_store
from tests.support.stores import copy_store

MODEL = conventions.REGISTERED_MODEL


def _rollback(uri: str, *extra: str, input: str | None = None):
    return CliRunner().invoke(main, ["rollback", "--tracking-uri", uri, "--model", MODEL, *extra], input=input)


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _stage(client, version: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return client.get_model_version(MODEL, version).current_stage


def test_rollback_moves_records_and_verifies(reference_store, tmp_path: Path) -> None:
    store = copy_store(reference_store, tmp_path / "store")
    started = time.perf_counter()
    result = _rollback(store.uri, "--yes")
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert elapsed < 300, f"rollback took {elapsed:.1f} s"  # the promise: < 5 minutes
    assert "current" in result.output and "target" in result.output and "Verified" in result.output
    client = _client(store.uri)
    assert str(client.get_model_version_by_alias(MODEL, "production").version) == "2"
    assert (_stage(client, "2"), _stage(client, "3")) == ("Production", "Archived")
    records = read_promotions(client.get_registered_model(MODEL).tags)
    assert {k: records[-1][k] for k in ("version", "previous", "alias", "reason")} == {
        "version": "2", "previous": "3", "alias": "production", "reason": "rollback"}
    assert conventions.TAG_PRODUCTION_UNTIL in client.get_model_version(MODEL, "3").tags
    assert conventions.TAG_PRODUCTION_UNTIL not in client.get_model_version(MODEL, "2").tags
    # The record lets the next rollback go further back (to v1), not forth to the broken v3,
    # and the rollback pressure check plans the very same move.
    plan = run_checks(store.uri, Policy(), ["rollback"]).result("rollback")
    assert plan.status.value == "pass", plan.message
    assert "v2 -> v1" in plan.message, plan.message
    second = _rollback(store.uri, "--yes")
    assert second.exit_code == 0, second.output
    assert str(client.get_model_version_by_alias(MODEL, "production").version) == "1"
    print(f"rollback on the reference store: {elapsed:.1f} s from command to verified")


def test_declining_changes_nothing(small_reference_store, tmp_path: Path) -> None:
    store = copy_store(small_reference_store, tmp_path / "store")
    before = dump_store(store.db_path, store.artifacts_dir)
    result = _rollback(store.uri, input="n\n")
    assert result.exit_code == 1, result.output
    assert "Roll 'production' back to version 2?" in result.output and "declined" in result.output
    assert_unchanged(before, dump_store(store.db_path, store.artifacts_dir))


def test_refuses_when_no_previous_version_is_known(break_store, tmp_path: Path) -> None:
    store = copy_store(break_store("rollback"), tmp_path / "store")
    before = dump_store(store.db_path, store.artifacts_dir)
    result = _rollback(store.uri, "--yes")
    assert result.exit_code == 2, result.output
    assert "no previous production version" in result.output and "--to VERSION" in result.output
    assert_unchanged(before, dump_store(store.db_path, store.artifacts_dir))


def test_refuses_when_the_target_does_not_load(small_reference_store, tmp_path: Path) -> None:
    store = copy_store(small_reference_store, tmp_path / "store")
    client = _client(store.uri)
    model_id = client.get_model_version(MODEL, "2").source.split("/")[-1]
    location = Path(client.get_logged_model(model_id).artifact_location.removeprefix("file://"))
    for item in location.iterdir():  # the weights of version 2 are gone
        shutil.rmtree(item) if item.is_dir() else item.unlink()
    before = dump_store(store.db_path, store.artifacts_dir)
    result = _rollback(store.uri, "--yes")
    assert result.exit_code == 2, result.output
    assert "does not load" in result.output and "nothing changed" in result.output
    assert_unchanged(before, dump_store(store.db_path, store.artifacts_dir))


@pytest.mark.parametrize("args, needle", [
    (["--to", "99"], "has no version 99"),
    (["--to", "3"], "already 'production'"),
])
def test_refuses_bad_targets(small_reference_store, tmp_path: Path, args: list[str], needle: str) -> None:
    store = copy_store(small_reference_store, tmp_path / "store")
    result = _rollback(store.uri, "--yes", *args)
    assert result.exit_code == 2 and needle in result.output, result.output


def test_unknown_model_and_wandb_are_usage_errors(small_reference_store, tmp_path: Path) -> None:
    store = copy_store(small_reference_store, tmp_path / "store")
    result = CliRunner().invoke(main, ["rollback", "--tracking-uri", store.uri, "--model", "nope", "--yes"])
    assert result.exit_code == 2 and "no registered model named 'nope'" in result.output
    result = CliRunner().invoke(main, ["rollback", "--tracking-uri", "wandb://team/proj", "--model", "m", "--yes"])
    assert result.exit_code == 2 and "MLflow stores only" in result.output
