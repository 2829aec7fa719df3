"""One protection rule on stores mltrack did not write: the artifact-cleanup check reports
exactly the runs `mltrack cleanup` would delete (reference, break, alias batch-inference and
sweep stores), and `--apply` never deletes an inference run, a run an inference run points to,
a run behind a registered version or the parent of a sweep holding the best trials."""

from __future__ import annotations

import importlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrack.cli import main
from mltrack.pressure.policy import Policy
from mltrack.pressure.runner import run_checks
from tests.support.stores import empty_database


@dataclass(frozen=True)
class Built:
    uri: str
    folder: Path


def build_fixture_store(name: str, folder: Path, template_root: Path) -> Built:
    """A sqlite store written by `fixtures/stores/<name>.py` (plain MLflow) into `folder`."""
    folder.mkdir(parents=True)
    shutil.copy2(empty_database(template_root), folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    importlib.import_module(f"fixtures.stores.{name}").build(uri, str(folder / "artifacts"))
    return Built(uri, folder)


@pytest.fixture(scope="module")
def alias_store(tmp_path_factory) -> Built:
    root = tmp_path_factory.mktemp("alias")
    return build_fixture_store("alias_batch_inference", root / "store", root)


@pytest.fixture(scope="module")
def sweep_store(tmp_path_factory) -> Built:
    root = tmp_path_factory.mktemp("sweep")
    return build_fixture_store("sweep_with_parent", root / "store", root)


ALIAS_POLICY = {"metric": "val_accuracy", "experiments": ["churn-training"],
                "inference_experiments": ["churn-batch-scoring"], "registered_models": ["churn-classifier"]}
SWEEP_POLICY = {"experiments": ["gbm-sweeps"], "inference_experiments": [], "registered_models": []}


def _config(tmp_path: Path, settings: dict) -> tuple[Path, Policy]:
    lines = ["[tool.mltrack]"] + [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    path = tmp_path / "policy.toml"
    path.write_text("\n".join(lines) + "\n")
    return path, Policy(**{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()})


def _command_plan(uri: str, config: Path) -> dict:
    result = CliRunner().invoke(main, ["cleanup", "--tracking-uri", uri, "--config", str(config), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _check(uri: str, policy: Policy):
    return run_checks(uri, policy, ["artifact-cleanup"]).result("artifact-cleanup")


def _names(plan: dict) -> set[str]:
    return {c["name"] for c in plan["candidates"]}


def _assert_agree(uri: str, tmp_path: Path, settings: dict) -> tuple[dict, object]:
    config, policy = _config(tmp_path, settings)
    command = _command_plan(uri, config)
    check = _check(uri, policy)
    assert sorted(check.evidence["candidate_run_ids"]) == sorted(c["run_id"] for c in command["candidates"])
    assert check.evidence["candidates"] == len(command["candidates"])
    return command, check


def test_check_equals_command_on_the_alias_batch_inference_store(alias_store, tmp_path) -> None:
    command, check = _assert_agree(alias_store.uri, tmp_path, ALIAS_POLICY)
    assert _names(command) == {"train-C2", "train-C4", "debug"}  # the truth table
    assert check.status.value == "pass", check.message
    why = {p["name"]: " ".join(p["reasons"]) for p in command["protected"]}
    assert all("inference run" in why[n] for n in why if n.startswith("scoring-"))
    assert len([n for n in why if n.startswith("scoring-")]) == 8
    # no model recorded: kept for what it scored (its inference dataset input) or wrote
    assert re.search(r"scores dataset \S+ \(context inference\)|writes predictions predictions\.csv",
                     why["scoring-output-only"]), why["scoring-output-only"]
    assert "lineage of inference run scoring-adhoc-run" in why["train-C0"]
    assert "behind registered version churn-classifier v1" in why["train-C1"]


def test_check_equals_command_on_the_sweep_store(sweep_store, tmp_path) -> None:
    command, check = _assert_agree(sweep_store.uri, tmp_path, SWEEP_POLICY)
    names = _names(command)
    assert names == ({"sweep-2025-a"} | {f"sweep-2025-a-trial-{i:02d}" for i in range(12)}
                     | {"sweep-2025-b-trial-05", "sweep-2025-b-trial-09"})
    why = {p["name"]: " ".join(p["reasons"]) for p in command["protected"]}
    assert "parent of sweep holding top run sweep-2025-b-trial-11 (#1)" in why["sweep-2025-b"]
    assert check.status.value == "pass", check.message


def test_check_equals_command_on_reference_and_break_stores(small_reference_store, break_store, tmp_path) -> None:
    command, check = _assert_agree(small_reference_store.uri, tmp_path, {})
    assert command["candidates"] and check.status.value == "pass"
    assert not any("inference" in c["experiment"] for c in command["candidates"])
    broken = break_store("artifact-cleanup")
    command, check = _assert_agree(broken.uri, tmp_path, {})
    assert check.status.value == "fail" and "behind registered version" in check.message


def test_apply_keeps_every_inference_run_and_what_they_point_to(alias_store, tmp_path) -> None:
    from mlflow.tracking import MlflowClient

    store = tmp_path / "copy"
    shutil.copytree(alias_store.folder, store)
    # the database holds absolute artifact locations; the copy's are irrelevant to a soft delete
    uri = f"sqlite:///{store / 'mlflow.db'}"
    config, policy = _config(tmp_path, ALIAS_POLICY)
    before = _check(uri, policy)
    result = CliRunner().invoke(main, ["cleanup", "--tracking-uri", uri, "--config", str(config), "--apply",
                                       "--journal", str(tmp_path / "j.jsonl"), "--format", "json"])
    assert result.exit_code == 0, result.output
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()], run_view_type=3)
    deleted = {r.info.run_name for r in runs if r.info.lifecycle_stage == "deleted"}
    assert deleted == {"train-C2", "train-C4", "debug"}
    assert set(json.loads(result.output)["deleted"]) == {r.info.run_id for r in runs if r.info.run_name in deleted}
    after = _check(uri, policy)  # nothing protected went, nothing more to clean
    assert after.status.value == "pass" and after.evidence["candidates"] == 0
    assert after.evidence["protected"] == before.evidence["protected"]


@pytest.mark.parametrize("name", ["stage_only_registry", "mixed_registry", "team_store"])
def test_check_equals_command_on_other_registries(name, tmp_path) -> None:
    """Stage-only, mixed stage/alias and a messy team store (a purged production run), written
    by plain MLflow for the rollback and "any store" work: same candidates from the check and
    the command, and never a run behind a version or an inference run among them."""
    from mltrack.pressure.policy import load_policy

    built = build_fixture_store(name, tmp_path / "store", tmp_path)
    module = importlib.import_module(f"fixtures.stores.{name}")
    toml = Path(module.__file__).with_suffix(".policy.toml")
    if toml.exists():
        config, policy = toml, load_policy(str(toml))
    else:
        config, policy = _config(tmp_path, module.POLICY)
    command = _command_plan(built.uri, config)
    check = _check(built.uri, policy)
    assert sorted(check.evidence["candidate_run_ids"]) == sorted(c["run_id"] for c in command["candidates"])
    protected = {p["run_id"]: " ".join(p["reasons"]) for p in command["protected"]}
    from mltrack.stores import open_store

    store = open_store(built.uri)
    try:
        snapshot = store.snapshot()
    finally:
        store.close()
    behind = {v.run_id for m in snapshot.registered_models for v in m.versions if v.run_id}
    for candidate in command["candidates"]:
        assert candidate["run_id"] not in behind and "scoring" not in candidate["experiment"], candidate
    assert all("behind registered version" in protected[rid] for rid in behind if rid in protected)
    if name == "team_store":  # the production version's run was purged: the check says so
        assert check.status.value == "fail" and "missing from the store" in check.message
