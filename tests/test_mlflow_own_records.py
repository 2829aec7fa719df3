"""MLflow's own records are evidence (issue 14 item 2), on a real sqlite store written by plain
MLflow code: dataset inputs (`mlflow.log_input` with pandas and NumPy datasets), logged models
(`mlflow.sklearn.log_model(..., pip_requirements=...)`, and an MLflow 2 style model stored among
the run's artifacts with its `mlflow.log-model.history` tag), a seed inside autolog's
`estimator` param, a sweep's parent run and a search parent's `best_*` params.

Each test judges the snapshot mltrack read from the store, then the same snapshot with that one
record taken away: the verdict must change, so the record is what decided it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import warnings
from pathlib import Path

import pytest

from mltrack.model import StoreSnapshot
from mltrack.pressure.policy import Policy
from mltrack.pressure.runner import run_checks, run_offline
from mltrack.stores import open_store
from tests.support.stores import empty_database

GIT = "3" * 40
FULL_FIELDS = {"learning_rate": "0.01", "batch_size": "32", "optimizer": "adam", "random_seed": "1",
               "git_commit": GIT, "data_hash": "ab" * 32}


def _build(uri: str, artifacts: Path) -> None:
    """Plain MLflow (and scikit-learn, pandas, NumPy as the training side): no mltrack import."""
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.models import Model
    from sklearn.linear_model import LinearRegression

    from fixtures.stores._plain_mlflow import begin, finish, fluent_tracking, make_experiment

    client = MlflowClient(tracking_uri=uri)
    rng = np.random.RandomState(0)
    frame_v1 = pd.DataFrame(rng.rand(30, 3), columns=["a", "b", "c"])
    frame_v2 = frame_v1.assign(c=frame_v1["c"] * 2)  # the data changed: a new digest
    with fluent_tracking(uri) as fluent, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # forest: a seed only in autolog's estimator text, data only as dataset inputs; the
        # training data changed between last week's runs and this week's.
        forest = make_experiment(client, "forest", str(artifacts))
        for name, days, frame, score in (("rf-a", 9, frame_v1, 0.61), ("rf-b", 8, frame_v1, 0.64),
                                         ("rf-c", 2, frame_v2, 0.70)):
            run_id = begin(client, forest, name, user="dana", days_ago=days,
                           tags={"mlflow.source.git.commit": GIT})
            with fluent.start_run(run_id=run_id):
                fluent.log_params({"learning_rate": "0.1", "batch_size": "16", "optimizer": "sgd",
                                   "estimator": "RandomForestRegressor(max_depth=3, random_state=7)"})
                fluent.log_input(fluent.data.from_pandas(frame, source="data/train.csv", name="train"),
                                 context="training")
                fluent.log_input(fluent.data.from_numpy(rng.rand(5, 3), name="holdout"), context="eval")
                fluent.log_metric("score", score)
            finish(client, run_id)
        # archive: two runs from 40 days ago with every field but the environment; one logged its
        # model with MLflow 3's log_model, the other (MLflow 2) kept it among its artifacts.
        archive = make_experiment(client, "archive", str(artifacts))
        model = LinearRegression().fit(frame_v1[["a", "b"]], frame_v1["c"])
        run_id = begin(client, archive, "logged-model", user="dana", days_ago=40)
        with fluent.start_run(run_id=run_id):
            fluent.log_params(FULL_FIELDS)
            fluent.log_metric("score", 0.5)
            fluent.sklearn.log_model(model, name="model", serialization_format="cloudpickle",
                                     pip_requirements=["scikit-learn"])
        finish(client, run_id)
        run_id = begin(client, archive, "artifact-model", user="dana", days_ago=40)
        client.log_batch(run_id, params=[mlflow.entities.Param(k, v) for k, v in FULL_FIELDS.items()],
                         metrics=[mlflow.entities.Metric("score", 0.4, 0, 0)])
        saved = artifacts / "saved-model"
        fluent.sklearn.save_model(model, str(saved), serialization_format="cloudpickle",
                                  pip_requirements=["scikit-learn"])
        client.log_artifacts(run_id, str(saved), "model")
        recorded = Model.load(str(saved))
        recorded.run_id, recorded.artifact_path = run_id, "model"
        client._record_logged_model(run_id, recorded)  # what MLflow 2's log_model wrote
        shutil.rmtree(saved)
        finish(client, run_id)
        # sweep: the study run logs the data and carries the commit; its trials log neither.
        sweep = make_experiment(client, "sweep", str(artifacts))
        parent = begin(client, sweep, "study", user="eve", days_ago=3,
                       tags={"mlflow.source.git.commit": GIT})
        with fluent.start_run(run_id=parent):
            fluent.log_params({"sampler": "tpe", "n_trials": "10"})
            fluent.log_input(fluent.data.from_pandas(frame_v1, source="data/blobs.csv", name="blobs"),
                             context="training")
        for trial in range(10):
            run_id = begin(client, sweep, f"trial-{trial}", user="eve", days_ago=3 - trial / 100,
                           tags={"mlflow.parentRunId": parent})
            client.log_batch(run_id, params=[mlflow.entities.Param(k, v) for k, v in {
                "lr": str(0.01 * (trial + 1)), "batch_size": "32", "optimizer": "adam",
                "seed": str(trial)}.items()], metrics=[mlflow.entities.Metric("val_loss", 1.0 - trial / 20, 0, 0)])
            finish(client, run_id)
        finish(client, parent)
        # grid: a GridSearchCV-style parent (autolog: estimator, param_grid, best_*) that scored
        # best after its refit, and its 10 trials.
        grid = make_experiment(client, "grid", str(artifacts))
        parent = begin(client, grid, "grid-search", user="eve", days_ago=1)
        client.log_batch(parent, params=[mlflow.entities.Param(k, v) for k, v in {
            "estimator": "GradientBoostingRegressor(random_state=0)", "param_grid": "{'max_depth': [1..10]}",
            "best_max_depth": "4", "best_learning_rate": "0.3", "cv": "3"}.items()],
            metrics=[mlflow.entities.Metric("r2", 0.95, 0, 0)])
        for trial in range(10):
            run_id = begin(client, grid, f"cv-{trial}", user="eve", days_ago=1 - trial / 100,
                           tags={"mlflow.parentRunId": parent})
            client.log_batch(run_id, params=[mlflow.entities.Param(k, v) for k, v in {
                "max_depth": str(trial + 1), "learning_rate": "0.3" if trial % 2 else "0.1",
                "random_state": "0"}.items()], metrics=[mlflow.entities.Metric("r2", 0.5 + trial / 50, 0, 0)])
            finish(client, run_id)
        finish(client, parent)


@pytest.fixture(scope="module")
def store(seeded_root: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("own-records")
    db = folder / "mlflow.db"
    shutil.copy2(empty_database(seeded_root), db)
    _build(f"sqlite:///{db}", folder / "artifacts")
    return f"sqlite:///{db}"


@pytest.fixture(scope="module")
def snapshot(store: str) -> StoreSnapshot:
    adapter = open_store(store)
    try:
        return adapter.snapshot()
    finally:
        adapter.close()


def _policy(experiment: str, metric: str = "score", goal: str = "max", **overrides) -> Policy:
    values = dict(experiments=(experiment,), inference_experiments=(), metric=metric, metric_goal=goal,
                  registered_models=(), environment_fields=(), min_users=1)
    return Policy(**(values | overrides))


def _judge(snapshot: StoreSnapshot, policy: Policy, check: str, evidence: dict | None = None):
    return run_offline(snapshot, policy, {check: evidence or {}}, [check])[0]


def _without(snapshot: StoreSnapshot, experiment: str, **cleared) -> StoreSnapshot:
    """The same snapshot with fields of one experiment's runs replaced (records taken away)."""
    exp_id = snapshot.experiment(experiment).experiment_id
    runs = tuple(dataclasses.replace(r, **cleared) if r.experiment_id == exp_id else r for r in snapshot.runs)
    return dataclasses.replace(snapshot, runs=runs)


def _run(snapshot: StoreSnapshot, name: str):
    return next(r for r in snapshot.runs if r.name == name)


# --- the store layer reads MLflow's records into the snapshot ------------------------------------

def test_snapshot_holds_dataset_inputs_and_logged_models(snapshot: StoreSnapshot) -> None:
    rf = _run(snapshot, "rf-c")
    by_context = {d.context: d for d in rf.datasets}
    assert set(by_context) == {"training", "eval"}
    train = by_context["training"]
    assert (train.name, train.source_type) == ("train", "local") and len(train.digest) >= 8
    assert "data/train.csv" in train.source
    assert _run(snapshot, "rf-a").datasets[0] is _run(snapshot, "rf-b").datasets[0], "one record per dataset"
    logged = _run(snapshot, "logged-model").logged_models
    assert [(m.kind, m.name) for m in logged] == [("logged_model", "model")]
    assert "python_env.yaml" in logged[0].environment_files and logged[0].model_id.startswith("m-")
    history = _run(snapshot, "artifact-model").logged_models
    assert [(m.kind, m.model_id) for m in history] == [("run_artifact", "model")]
    assert "sklearn" in history[0].flavors and history[0].python_version


def test_new_records_round_trip_and_old_recordings_still_load(snapshot: StoreSnapshot) -> None:
    again = StoreSnapshot.from_json(snapshot.to_json())
    assert again.runs == snapshot.runs
    from tests.fixtures_snapshots import load_recording

    old, _ = load_recording("reference")  # recorded before datasets and logged models were read
    assert old.runs and all(r.datasets == () and r.logged_models == () for r in old.runs)
    plain = json.loads(snapshot.to_json())
    for run in plain["runs"]:
        run.pop("datasets"), run.pop("logged_models")
    assert StoreSnapshot.from_dict(plain).runs[0].datasets == ()


# --- each record changes a verdict ---------------------------------------------------------------

def test_dataset_digest_is_the_data_hash_and_a_new_digest_a_data_change(snapshot: StoreSnapshot) -> None:
    policy = _policy("forest")
    result = _judge(snapshot, policy, "data-change")
    assert result.status.value == "pass", result.message
    versions = result.evidence["data_versions"]
    assert [v["runs"] for v in versions] == [2, 1] and versions[0]["label"].startswith("train@")
    assert len(result.evidence["shifts"]) == 1 and "2 data versions" in result.message
    blind = _judge(_without(snapshot, "forest", datasets=()), policy, "data-change")
    assert blind.status.value == "fail" and "no data hash" in blind.message


def test_digests_of_other_experiments_are_not_a_data_change(snapshot: StoreSnapshot) -> None:
    policy = dataclasses.replace(_policy("forest"), experiments=("forest", "sweep"))
    result = _judge(snapshot, policy, "data-change")
    assert result.status.value == "pass", result.message
    assert len(result.evidence["shifts"]) == 1, "only forest's own digest change is a shift"


def test_seed_in_estimator_text_and_digest_let_recovery_pass(snapshot: StoreSnapshot) -> None:
    policy = _policy("forest")
    result = _judge(snapshot, policy, "recovery")
    assert result.status.value == "pass" and result.evidence["best_run"]["name"] == "rf-c", result.message
    no_estimator = _without(snapshot, "forest", params={"learning_rate": "0.1", "batch_size": "16",
                                                          "optimizer": "sgd"})
    assert "random_seed" in _judge(no_estimator, policy, "recovery").evidence["missing_fields"]


def test_sweep_trials_inherit_the_parents_data_and_commit(snapshot: StoreSnapshot) -> None:
    policy = _policy("sweep", metric="val_loss", goal="min")
    recovery = _judge(snapshot, policy, "recovery")
    assert recovery.status.value == "pass", recovery.message
    assert recovery.evidence["parent_run"]["name"] == "study"
    assert recovery.evidence["source"] == "train.py"  # mlflow.source.name: the entry point to re-run
    data = _judge(snapshot, policy, "data-change")
    assert data.status.value == "pass" and data.evidence["data_versions"][0]["runs"] == 11, data.message
    orphans = _without(snapshot, "sweep", tags={})  # no mlflow.parentRunId: the trials stand alone
    lost = _judge(orphans, policy, "recovery")
    assert lost.status.value == "fail" and {"git_commit", "data_hash"} <= set(lost.evidence["missing_fields"])
    assert _judge(orphans, policy, "data-change").status.value == "fail"


def test_logged_models_are_the_environment_of_old_runs(store: str, snapshot: StoreSnapshot) -> None:
    policy = _policy("archive", environment_fields=("python_version", "torch_version"))
    live = run_checks(store, policy, ["long-term-repro"]).results[0]
    assert live.status.value == "pass", live.message
    bare = _judge(_without(snapshot, "archive", logged_models=()), policy, "long-term-repro")
    assert bare.status.value == "fail"
    assert {tuple(x["lacks"]) for x in bare.evidence["lacking"]} == {("python_version", "torch_version")}


def test_a_listing_without_environment_files_refutes_the_presumed_environment(snapshot: StoreSnapshot) -> None:
    policy = _policy("archive", environment_fields=("python_version", "torch_version"))
    run = _run(snapshot, "logged-model")
    presumed = _judge(snapshot, policy, "long-term-repro")  # no listing: log_model's files presumed
    assert presumed.status.value == "pass", presumed.message
    listed = {run.run_id: {"files": 1, "how": "local disk", "environment_files": []}}
    refuted = _judge(snapshot, policy, "long-term-repro", {"artifacts": listed, "old_runs": 2})
    assert refuted.status.value == "fail"
    assert refuted.evidence["lacking"][0]["lacks"] == ["python_version", "torch_version"]


def test_best_configuration_shows_the_search_parents_best_params(snapshot: StoreSnapshot) -> None:
    policy = _policy("grid", metric="r2", min_search_runs=10)
    result = _judge(snapshot, policy, "hparam-search")
    assert result.status.value == "pass", result.message
    assert result.evidence["leaderboard"][0]["name"] == "grid-search"
    assert "max_depth=4" in result.message and "learning_rate=0.3" in result.message, result.message
    assert "=None" not in result.message
    assert not any(k.startswith("best_") for k in result.evidence["varied"])


# --- pure parts ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "seed"), [
    ("RandomForestRegressor(max_depth=3, random_state=7)", "7"),
    ("Pipeline(steps=[('m', SGDClassifier(random_state=-1))])", "-1"),
    ("RandomForestRegressor(random_state=None)", None),
    ("KMeans(n_init=10)", None),
    (None, None),
])
def test_seed_inside_an_estimator_text(text, seed) -> None:
    from mltrack.synonyms import seed_in_text

    assert seed_in_text(text) == seed


@pytest.mark.parametrize("tag", ["not json", "{}", "[1, 2]", '[{"flavors": "x"}]'])
def test_a_damaged_log_model_history_yields_no_environment(tag: str) -> None:
    from mltrack.stores.mlflow_records import history_models

    assert all(m.python_version is None and not m.environment_files for m in history_models(tag))
