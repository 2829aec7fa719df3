"""Zero configuration (issue 14 items 1 and 3): with no policy the checks judge the store as it
is and say what they assumed.

Offline: which keys a policy sets, what is inferred from a snapshot (experiments, run kinds by
content, metric and goal with coverage, registered models, the production alias), a policy
that names only some keys, and that only explicit names are validated. Live: `mltrack audit`
with no policy on the reference store (all ten pass, the assumptions in report.json, report.md,
report.html and the terminal), on a one-run store written with plain MLflow, and the pytest
plugin's header and summary. The `--break` stores with no policy are tests/test_pressure_live.py
(`Policy()` sets no key, so it is zero configuration).
"""

from __future__ import annotations

import json
import os
import time
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrack.cli import main
from mltrack.errors import ConfigError
from mltrack.model import (ArtifactFile, ExperimentRecord, ModelVersionRecord, RegisteredModelRecord, RunRecord,
                           Status, StoreSnapshot)
from mltrack.pressure import assumptions as inferred
from mltrack.pressure.base import inference_runs, training_runs
from mltrack.pressure.policy import Policy, policy_from_mapping
from mltrack.pressure.registry import CHECKS
from mltrack.pressure.runner import resolve_policy, run_offline, validate_policy
from tests.support.dump import assert_unchanged, dump_store
from tests.support.stores import empty_database

DAY = 86_400_000
NOW = 1_800_000_000_000


# --- a plain-MLflow-shaped snapshot, no mltrack tag anywhere ----------------------------------

def _run(run_id: str, exp: str, *, metrics=None, params=None, tags=None, status="FINISHED", user="ana",
         artifacts=None, stage="active") -> RunRecord:
    return RunRecord(run_id.ljust(32, "0"), exp, f"run-{run_id}", user, status, NOW - DAY, NOW - DAY + 60_000,
                     params=params or {}, tags={"mlflow.user": user, **(tags or {})}, metrics=metrics or {},
                     lifecycle_stage=stage, artifacts=artifacts)


def _team_snapshot(*, alias: str = "champion", stage: str = "None") -> StoreSnapshot:
    training = [
        _run(f"a{i}", "1", metrics={"val_rmse": 1.0 / (i + 1), "train_rmse": 0.5, "epoch": 3.0,
                                    **({"val_r2": 0.5} if i < 3 else {})},
             params={"alpha": str(i)})
        for i in range(5)
    ]
    scoring = _run("s1", "2", params={"model_uri": "models:/churn/1"},
                   artifacts=(ArtifactFile("predictions.csv", 100),))
    registration = _run("r1", "1", metrics={"val_rmse": 0.1}, tags={"wandb.job_type": "registration"})
    unfinished = _run("u1", "1", metrics={"val_loss": 2.0}, status="RUNNING")
    deleted = _run("d1", "1", metrics={"val_loss": 2.0}, stage="deleted")
    model = RegisteredModelRecord("churn", aliases={alias: "1"} if alias else {}, versions=(
        ModelVersionRecord("churn", "1", training[0].run_id, "runs:/x/model", current_stage=stage,
                           aliases=(alias,) if alias else ()),))
    return StoreSnapshot(
        "sqlite:///team.db", "mlflow", "3.17.2", NOW,
        experiments=(ExperimentRecord("0", "Default"), ExperimentRecord("1", "churn"),
                     ExperimentRecord("2", "churn-scoring"), ExperimentRecord("3", "empty-idea"),
                     ExperimentRecord("4", "old", lifecycle_stage="deleted")),
        runs=(*training, scoring, registration, unfinished, deleted),
        registered_models=(model,))


def _by_key(found) -> dict:
    return {a.key: a for a in found}


def test_a_policy_knows_which_keys_the_user_set() -> None:
    assert Policy().explicit == frozenset()
    assert policy_from_mapping({"min_users": 1}).explicit == {"min_users"}
    # a key set to its default value is still the user's choice
    assert policy_from_mapping({"metric": "val_acc"}).explicit == {"metric"}
    assert Policy(metric="loss").explicit == {"metric"}
    assert policy_from_mapping({"min_users": 1}).to_dict()["explicit"] == ["min_users"]


def test_no_policy_infers_every_name_from_the_store() -> None:
    snapshot = _team_snapshot()
    policy, found = resolve_policy(snapshot, Policy())
    keys = _by_key(found)
    # every active experiment holding runs: not the empty ones, not the deleted one
    assert policy.experiments == ("churn", "churn-scoring")
    assert "deleted experiments not judged: old" in keys["experiments"].coverage
    assert policy.inference_experiments == ("churn-scoring",)
    assert keys["run_kinds"].value == {"training": 6, "inference": 1, "other": 1}
    # val_rmse on every finished training run (the registration job does not count), the
    # tie with train_rmse and epoch goes to the validation name; rmse: lower is better
    assert policy.metric == "val_rmse" and policy.metric_goal == "min"
    assert keys["metric"].coverage == "val_rmse, 5 of 5 finished training runs"
    assert policy.registered_models == ("churn",) and policy.production_alias == "champion"
    assert keys["production_alias"].coverage == "@champion on 1 of 1 registered models"
    assert {a.override for a in found} >= {"experiments", "metric", "metric_goal", "registered_models",
                                           "production_alias", "inference_experiments"}
    # the inferred keys are not the user's: resolving again infers the same
    assert policy.explicit == frozenset() and resolve_policy(snapshot, policy)[0] == policy
    json.dumps([a.to_dict() for a in found], allow_nan=False)


def test_runs_are_told_apart_by_content_not_by_mltrack_tags() -> None:
    snapshot = _team_snapshot()
    policy, _ = resolve_policy(snapshot, Policy())
    assert [r.name for r in inference_runs(snapshot, policy)] == ["run-s1"]
    names = {r.name for r in training_runs(snapshot, policy)}
    assert "run-s1" not in names and "run-r1" not in names and "run-a0" in names
    # mltrack's own tag stays one signal
    tagged = _run("t1", "1", metrics={"n_rows": 5.0}, tags={"mltrack.run_type": "inference"})
    assert tagged in inference_runs(StoreSnapshot("x", "mlflow", None, NOW, runs=(tagged,)), policy)


def test_a_policy_overrides_what_it_names_and_the_rest_is_inferred() -> None:
    snapshot = _team_snapshot()
    policy, found = resolve_policy(snapshot, policy_from_mapping({"min_users": 1}))
    assert policy.min_users == 1 and policy.metric == "val_rmse" and policy.experiments == ("churn", "churn-scoring")
    assert "min_users" not in _by_key(found)
    # a metric named by the user is kept; its goal, not set, follows from its name
    policy, found = resolve_policy(snapshot, policy_from_mapping({"metric": "val_r2", "experiments": ["churn"]}))
    assert policy.metric == "val_r2" and policy.metric_goal == "max" and policy.experiments == ("churn",)
    assert "metric" not in _by_key(found) and "experiments" not in _by_key(found)
    everything = policy_from_mapping({"experiments": ["churn"], "inference_experiments": [], "metric": "val_r2",
                                      "metric_goal": "max", "registered_models": ["churn"],
                                      "production_alias": "champion"})
    assert resolve_policy(snapshot, everything) == (everything, ())


def test_only_names_the_user_set_are_validated() -> None:
    snapshot = _team_snapshot()
    validate_policy(snapshot, Policy())  # mltrack's own default names are not the user's
    validate_policy(snapshot, policy_from_mapping({"min_users": 1}))
    with pytest.raises(ConfigError, match="experiment 'churnn'") as err:
        validate_policy(snapshot, policy_from_mapping({"experiments": ["churnn"]}))
    assert err.value.exit_code == 2
    with pytest.raises(ConfigError, match="registered model 'chrun'"):
        validate_policy(snapshot, policy_from_mapping({"registered_models": ["chrun"]}))


@pytest.mark.parametrize(("name", "goal"), [
    ("val_loss", "min"), ("test_error", "min"), ("RMSE", "min"), ("eval_wer", "min"), ("perplexity", "min"),
    ("valid/mae", "min"), ("logloss", "min"), ("neg_mean_squared_error", "max"), ("val_acc", "max"),
    ("answer_rate", "max"), ("auc", "max"), ("f1", "max")])
def test_goal_follows_the_metric_name(name: str, goal: str) -> None:
    assert ("min" if inferred.lower_is_better(name) else "max") == goal


def test_metric_ties_prefer_validation_names_then_the_name_and_skip_bookkeeping() -> None:
    runs = tuple(_run(f"h{i}", "1", metrics={"train_loss": 1.0, "eval_runtime": 2.0, "eval_loss": 0.5,
                                             "eval_accuracy": 0.8, "learning_rate": 1e-4, "epoch": 3.0})
                 for i in range(4))
    snapshot = StoreSnapshot("x", "mlflow", None, NOW, experiments=(ExperimentRecord("1", "hf"),), runs=runs)
    policy, found = resolve_policy(snapshot, Policy())
    assert policy.metric == "eval_accuracy" and policy.metric_goal == "max"
    assert "tied with" in _by_key(found)["metric"].how


def test_the_legacy_stage_is_found_when_no_common_alias_is() -> None:
    snapshot = _team_snapshot(alias="", stage="Production")
    policy, found = resolve_policy(snapshot, Policy())
    assert policy.production_alias == "production"
    assert "stage Production" in _by_key(found)["production_alias"].how
    results = {r.name: r for r in run_offline(snapshot, Policy(), names=["production-model"])}
    assert results["production-model"].status is not Status.SKIP


def test_an_empty_store_skips_every_check_naming_what_it_looked_for() -> None:
    snapshot = StoreSnapshot("sqlite:///e.db", "mlflow", "3.17.2", NOW, experiments=(ExperimentRecord("0", "Default"),))
    policy, found = resolve_policy(snapshot, Policy())
    assert policy.experiments == ("Default",) and policy.registered_models == ()
    assert "no experiment holds a run yet" in _by_key(found)["experiments"].how
    for result in run_offline(snapshot, Policy()):
        assert result.status is Status.SKIP, (result.name, result.message)
        assert "mltrack-reference" not in result.message, result.message
        assert not result.message.rstrip().endswith((" in", ":", ",", "()")), result.message


# --- live: the reference store, a one-run store, the plugin ---------------------------------------

def _audit(uri: str, out: Path, cwd: Path, *extra: str):
    cwd.mkdir(parents=True, exist_ok=True)
    before = Path.cwd()
    os.chdir(cwd)  # no pyproject.toml here or above in tmp: no policy at all
    try:
        return CliRunner().invoke(main, ["audit", "--tracking-uri", uri, "--out", str(out), "--no-progress", *extra])
    finally:
        os.chdir(before)


def test_reference_store_passes_all_ten_with_no_policy_and_says_what_it_assumed(small_reference_store, tmp_path):
    pytest.importorskip("torch")
    store = small_reference_store
    before = dump_store(store.db_path, store.artifacts_dir)
    result = _audit(store.uri, tmp_path / "out", tmp_path / "cwd")
    assert result.exit_code == 0, result.output[-2000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {r["name"]: r["status"] for r in report["results"]} == {c.name: "pass" for c in CHECKS}
    assumed = {a["key"]: a for a in report["assumptions"]}
    assert assumed["metric"]["value"] == "val_acc" and assumed["metric_goal"]["value"] == "max"
    assert sorted(assumed["experiments"]["value"]) == ["mltrack-reference", "mltrack-reference-inference"]
    assert assumed["registered_models"]["value"] == ["mltrack-reference-classifier"]
    assert assumed["production_alias"]["value"] == "production"
    assert all(a["override"] for a in report["assumptions"])
    assert "Assumed (no policy key set; inferred from the store):" in result.output
    assert "metric = val_acc: the metric most finished training runs share" in result.output
    assert "## Assumptions" in (tmp_path / "out" / "report.md").read_text()
    assert 'id="assumptions"' in (tmp_path / "out" / "report.html").read_text()
    assert_unchanged(before, dump_store(store.db_path, store.artifacts_dir))


def test_a_full_policy_assumes_nothing(small_reference_store, tmp_path):
    pytest.importorskip("torch")
    config = tmp_path / "policy.toml"
    config.write_text('experiments = ["mltrack-reference"]\ninference_experiments = ["mltrack-reference-inference"]\n'
                      'metric = "val_acc"\nmetric_goal = "max"\nregistered_models = ["mltrack-reference-classifier"]\n'
                      'production_alias = "production"\n')
    result = _audit(small_reference_store.uri, tmp_path / "out", tmp_path / "cwd", "--config", str(config),
                    "--checks", "multi-user,onboarding")
    assert result.exit_code == 0, result.output[-2000:]
    assert json.loads((tmp_path / "out" / "report.json").read_text())["assumptions"] == []
    assert "Assumed" not in result.output


def _one_run_store(root: Path) -> tuple[str, Path, Path]:
    """One finished run written with plain MLflow: the store of someone's first experiment."""
    from mlflow import MlflowClient

    db, artifacts = root / "mlflow.db", root / "artifacts"
    root.mkdir(parents=True)
    shutil.copy2(empty_database(root.parent), db)
    with sqlite3.connect(db) as con:
        con.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = '0'", (str(artifacts / "0"),))
    con.close()
    uri = f"sqlite:///{db}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("first-try", artifact_location=str(artifacts / "first-try"))
    run = client.create_run(exp, run_name="baseline", tags={"mlflow.user": "ana", "mlflow.source.git.commit": "a" * 40})
    for key, value in {"lr": "0.01", "batch_size": "32", "optimizer": "adam", "seed": "7",
                       "data_hash": "b" * 64}.items():
        client.log_param(run.info.run_id, key, value)
    for step, value in enumerate((0.9, 0.6, 0.45)):
        client.log_metric(run.info.run_id, "val_loss", value, step=step)
    client.set_terminated(run.info.run_id)
    return uri, db, artifacts


def test_a_one_run_store_gets_true_verdicts_with_no_policy(tmp_path):
    uri, db, artifacts = _one_run_store(tmp_path / "store")
    before = dump_store(db, artifacts)
    result = _audit(uri, tmp_path / "out", tmp_path / "cwd")
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    statuses = {r["name"]: r["status"] for r in report["results"]}
    messages = {r["name"]: r["message"] for r in report["results"]}
    assert statuses == {
        "recovery": "fail",  # everything to re-run it is there, but no model file was ever saved
        "production-model": "skip", "rollback": "skip",  # no registered model
        "multi-user": "fail",  # one user, below the default min_users 3
        "data-change": "pass",  # its data hash: one data version
        "prediction-audit": "skip",  # no inference run
        "hparam-search": "fail",  # one run is no search (default min_search_runs 10)
        "long-term-repro": "skip",  # nothing older than 30 days
        "artifact-cleanup": "pass", "onboarding": "pass",
    }, messages
    assert result.exit_code == 1
    assert "baseline" in messages["recovery"] and "no registered model" in messages["production-model"]
    assumed = {a["key"]: a for a in report["assumptions"]}
    assert assumed["metric"]["value"] == "val_loss" and assumed["metric_goal"]["value"] == "min"
    assert assumed["metric"]["coverage"] == "val_loss, 1 of 1 finished training runs"
    assert assumed["experiments"]["value"] == ["first-try"]
    assert_unchanged(before, dump_store(db, artifacts))


pytest_plugins = ["pytester"]


def test_plugin_header_and_summary_list_the_assumptions(pytester, small_reference_store, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.delenv("MLTRACK_TRACKING_URI", raising=False)
    result = pytester.runpytest_subprocess("--tracking-uri", small_reference_store.uri, "-k", "multi-user",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "mltrack: no policy key set for these; inferred from the store ([tool.mltrack] overrides):" in out
    assert "mltrack:   assumed metric = val_acc (val_acc, " in out
    assert "assumed production_alias = production (@production on 1 of 1 registered models); " \
           "override: production_alias" in out.split("mltrack pressure suite")[-1]


def test_cleanup_protects_the_top_runs_by_the_inferred_metric(tmp_path):
    """`mltrack cleanup` ranks by the same inferred metric and goal the artifact-cleanup check
    uses: the lowest val_loss is the top run, whatever mltrack's default metric is."""
    from mlflow import MlflowClient

    uri, db, artifacts = _one_run_store(tmp_path / "store")
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("first-try").experiment_id
    old = int(time.time() * 1000) - 40 * DAY
    ids = {}
    for name, loss in (("worse", 0.9), ("best", 0.2), ("middle", 0.5)):
        run = client.create_run(exp, run_name=name, start_time=old, tags={"mlflow.user": "ana"})
        client.log_metric(run.info.run_id, "val_loss", loss)
        client.set_terminated(run.info.run_id, end_time=old + 60_000)
        ids[name] = run.info.run_id
    result = CliRunner().invoke(main, ["cleanup", "--tracking-uri", uri, "--keep-top", "1", "--older-than", "30",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["metric"] == "val_loss"
    candidates = {c["run_id"] for c in plan["candidates"]}
    assert ids["best"] not in candidates and {ids["worse"], ids["middle"]} <= candidates
