"""Issue 14 item 6: store hygiene found on the way, on a real sqlite store written by plain MLflow.

- onboarding: runs stuck RUNNING past `stuck_run_hours` (default 24) are a warning naming them;
  a run RUNNING for an hour is not stuck; every registered version whose training run is deleted
  or purged is a warning naming it and the run; runs by `root` are a warning (attribution is
  multi-user's property), never an onboarding failure;
- production-model: the production version, and any version holding an alias, whose training
  run is deleted or purged (`mlflow gc`) is a warning naming the version and the run; a version
  nobody points at is artifact-cleanup's business, not named here;
- multi-user: the runs with no real user are named.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrack.cli import main
from tests.support.stores import empty_database

HOUR_MS = 3_600_000
CHECKS = "onboarding,production-model,multi-user"


def _write_store(folder: Path, template: Path) -> tuple[str, dict[str, str]]:
    """Experiment `churn`: finished runs by alice, bob, carol and root; `stuck` RUNNING since 3
    days, `live` RUNNING since 1 hour. Model `churn-model`: v1 @production (a real sklearn model,
    its run then deleted), v2 @challenger (its run deleted and purged), v3 (no alias, its run
    deleted)."""
    import mlflow
    import numpy as np
    from mlflow import MlflowClient
    from mlflow.cli import gc
    from sklearn.linear_model import LogisticRegression

    db = folder / "mlflow.db"
    shutil.copy2(template, db)
    uri = f"sqlite:///{db}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.create_experiment("churn", artifact_location=str(folder / "artifacts"))
    now = int(time.time() * 1000)
    ids: dict[str, str] = {}
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        for i, (name, user) in enumerate([("a-v1", "alice"), ("b-v2", "bob"), ("c-v3", "carol"),
                                          ("alice-2", "alice"), ("bob-2", "bob"), ("ci-retrain", "root")]):
            rid = client.create_run(exp, start_time=now - (50 - i) * HOUR_MS, run_name=name,
                                    tags={"mlflow.user": user}).info.run_id
            client.log_param(rid, "C", str(i + 1))
            client.log_metric(rid, "val_acc", 0.7 + i / 100)
            if name == "a-v1":
                X = np.arange(20, dtype=float).reshape(10, 2)
                with mlflow.start_run(run_id=rid):
                    mlflow.sklearn.log_model(LogisticRegression().fit(X, [0, 1] * 5), name="model")
            client.set_terminated(rid, "FINISHED", end_time=now - (50 - i) * HOUR_MS + 60_000)
            ids[name] = rid
        for name, hours in (("stuck", 72), ("live", 1)):  # never terminated: their process died / runs
            ids[name] = client.create_run(exp, start_time=now - hours * HOUR_MS, run_name=name,
                                          tags={"mlflow.user": "carol"}).info.run_id
            client.log_metric(ids[name], "val_acc", 0.5)
    finally:
        mlflow.set_tracking_uri(previous)
    client.create_registered_model("churn-model")
    for name in ("a-v1", "b-v2", "c-v3"):
        client.create_model_version("churn-model", f"runs:/{ids[name]}/model", run_id=ids[name])
    client.set_registered_model_alias("churn-model", "production", "1")
    client.set_registered_model_alias("churn-model", "challenger", "2")
    for name in ("a-v1", "b-v2", "c-v3"):
        client.delete_run(ids[name])
    gc.main(["--backend-store-uri", uri, "--tracking-uri", uri, "--run-ids", ids["b-v2"]], standalone_mode=False)
    return uri, ids


@pytest.fixture(scope="module")
def store(seeded_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    return _write_store(tmp_path_factory.mktemp("hygiene"), empty_database(seeded_root))


def _audit(uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: str | None = None) -> dict:
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)  # no pyproject.toml supplies a policy
    args = ["audit", "--tracking-uri", uri, "--out", str(tmp_path / "out"), "--no-progress", "--checks", CHECKS]
    if policy is not None:
        (tmp_path / "policy.toml").write_text(policy)
        args += ["--config", str(tmp_path / "policy.toml")]
    result = CliRunner().invoke(main, args)
    assert (tmp_path / "out" / "report.json").is_file(), result.output
    return {r["name"]: r for r in json.loads((tmp_path / "out" / "report.json").read_text())["results"]}


def test_onboarding_warns_about_the_stuck_run_and_root_runs_never_fail_it(store, tmp_path, monkeypatch) -> None:
    uri, ids = store
    onboarding = _audit(uri, tmp_path, monkeypatch)["onboarding"]
    assert onboarding["status"] == "warn", onboarding["message"]
    assert [s["name"] for s in onboarding["evidence"]["stuck_runs"]] == ["stuck"]  # `live` is 1 h old
    assert onboarding["evidence"]["stuck_runs"][0]["run_id"] == ids["stuck"]
    assert "stuck RUNNING for more than 24 h: stuck (running 3.0 days)" in onboarding["message"]
    assert "by no real user (root 1)" in onboarding["message"] and "multi-user" in onboarding["message"]
    gone = {(o["version"], o["run_id"], o["state"]) for o in onboarding["evidence"]["versions_without_training_run"]}
    assert gone == {("1", ids["a-v1"], "deleted"), ("2", ids["b-v2"], "purged"), ("3", ids["c-v3"], "deleted")}
    assert f"churn-model v2 (run {ids['b-v2']} purged)" in onboarding["message"]


def test_stuck_run_hours_is_the_threshold(store, tmp_path, monkeypatch) -> None:
    uri, _ = store
    onboarding = _audit(uri, tmp_path, monkeypatch, "stuck_run_hours = 100\n")["onboarding"]
    assert onboarding["evidence"]["stuck_runs"] == [] and "stuck" not in onboarding["message"]
    assert onboarding["evidence"]["stuck_run_hours"] == 100


@pytest.mark.parametrize("policy", [None, 'registered_models = ["churn-model"]\nproduction_alias = "production"\n'],
                         ids=["no-policy", "policy"])
def test_production_model_names_versions_whose_training_run_is_gone(store, tmp_path, monkeypatch, policy) -> None:
    uri, ids = store
    production = _audit(uri, tmp_path, monkeypatch, policy)["production-model"]
    assert production["status"] == "warn", production["message"]
    message = production["message"]
    assert f"'churn-model' v1 (@production): its training run {ids['a-v1']} is deleted" in message
    assert f"'churn-model' v2 (@challenger): its training run {ids['b-v2']} was purged" in message
    assert "v3" not in message and ids["c-v3"] not in message  # no alias, no stage: not serving
    orphaned = {o["version"]: o["state"] for o in production["evidence"]["orphaned_versions"]}
    assert orphaned == {"1": "deleted", "2": "purged"}
    assert production["evidence"]["models"][0]["load"]["downloaded"]  # v1 still serves


def test_multi_user_names_the_runs_with_no_real_user(store, tmp_path, monkeypatch) -> None:
    uri, _ = store
    multi = _audit(uri, tmp_path, monkeypatch)["multi-user"]
    assert multi["status"] == "warn", multi["message"]
    assert "ci-retrain (root)" in multi["message"]
