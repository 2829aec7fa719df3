"""Issue 14 item 5: prediction-audit traces inference runs by MLflow's own records.

Real sqlite stores written by plain MLflow (no mltrack field names, no mltrack tag): batch
scoring runs that name their model by a pinned `models:/` URI, a model name + version tag, a
`runs:/` URI or a logged-model id, log their input with `mlflow.log_input` and their output as a
`predictions.csv` artifact - and the ways such a run is not traceable (an alias only, no input,
no output, a version that does not exist, a version whose training run was purged). Audited
through the CLI with no policy and with one: the same runs are named, each with its missing link.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrack.cli import main
from tests.support.stores import empty_database

MODEL = "scorer"
# run name -> the words its missing link must contain (the untraceable runs, and only them)
UNTRACEABLE = {
    "alias-only": ["loaded models:/scorer@production but recorded no version", "points to v2 today"],
    "no-input": ["no input identity"],
    "no-output": ["no predictions output"],
    "unknown-version": ["scorer v9 is not registered"],
    "purged-source": ["training run", "is not in the store (purged)"],
}
TRACEABLE = ["pinned-uri", "version-tags", "alias-and-version", "runs-uri", "logged-model"]


def _write_store(folder: Path, template: Path, plan: list[tuple]) -> str:
    """Training runs t0..t2 (v1 <- t0, v2 <- t1 @production, v3 <- t2, whose run is then purged
    by `mlflow gc`), a logged model of t0, and one inference run per `plan` entry:
    (name, params, tags, with_input, with_output)."""
    import mlflow
    import numpy as np
    from mlflow import MlflowClient
    from mlflow.cli import gc

    db = folder / "mlflow.db"
    shutil.copy2(template, db)
    uri = f"sqlite:///{db}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    train = client.create_experiment("train", artifact_location=str(folder / "artifacts" / "train"))
    score = client.create_experiment("score", artifact_location=str(folder / "artifacts" / "score"))
    runs = []
    for i in range(3):
        rid = client.create_run(train, run_name=f"t{i}", tags={"mlflow.user": "ana"}).info.run_id
        client.log_param(rid, "C", str(i + 1))
        client.log_metric(rid, "val_acc", 0.7 + i / 100)
        client.set_terminated(rid, "FINISHED")
        runs.append(rid)
    logged = client.create_logged_model(train, name="model", source_run_id=runs[0])
    client.create_registered_model(MODEL)
    for rid in runs:
        client.create_model_version(MODEL, f"runs:/{rid}/model", run_id=rid)
    client.set_registered_model_alias(MODEL, "production", "2")
    client.delete_run(runs[2])
    gc.main(["--backend-store-uri", uri, "--tracking-uri", uri, "--run-ids", runs[2]], standalone_mode=False)

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        for name, params, tags, with_input, with_output in plan:
            params = {k: v.format(t0=runs[0], model_id=logged.model_id) for k, v in params.items()}
            rid = client.create_run(score, run_name=name, tags={"mlflow.user": "cron", **tags}).info.run_id
            with mlflow.start_run(run_id=rid):
                if params:
                    mlflow.log_params(params)
                if with_input:
                    rows = np.arange(12, dtype=float).reshape(4, 3)
                    mlflow.log_input(mlflow.data.from_numpy(rows, source="s3://bucket/requests.parquet",
                                                            name="requests"), context="inference")
                if with_output:
                    out = folder / "predictions.csv"
                    out.write_text("row,score\n0,0.5\n1,0.7\n")
                    mlflow.log_artifact(str(out))
                mlflow.log_metric("n_rows", 4.0)
    finally:
        mlflow.set_tracking_uri(previous)
    return uri


GOOD = [
    ("pinned-uri", {"model_uri": f"models:/{MODEL}/1"}, {}, True, True),
    ("version-tags", {}, {"model_name": MODEL, "model_version": "2"}, True, True),
    ("alias-and-version", {"model_uri": f"models:/{MODEL}@production", "model_version": "2",
                           "model_name": MODEL}, {}, True, True),
    ("runs-uri", {"model_uri": "runs:/{t0}/model"}, {}, True, True),
    ("logged-model", {"model_uri": "models:/{model_id}"}, {}, True, True),
]
BAD = [
    ("alias-only", {"model_uri": f"models:/{MODEL}@production"}, {}, True, True),
    ("no-input", {"model_uri": f"models:/{MODEL}/1"}, {}, False, True),
    ("no-output", {"model_uri": f"models:/{MODEL}/1"}, {}, True, False),
    ("unknown-version", {"model_uri": f"models:/{MODEL}/9"}, {}, True, True),
    ("purged-source", {"model_uri": f"models:/{MODEL}/3"}, {}, True, True),
]
POLICY = 'experiments = ["train"]\ninference_experiments = ["score"]\nmetric = "val_acc"\n' \
         f'registered_models = ["{MODEL}"]\nmin_users = 1\n'


@pytest.fixture(scope="module")
def stores(seeded_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    template = empty_database(seeded_root)
    built = {}
    for label, plan in (("mixed", GOOD + BAD), ("good", GOOD)):
        folder = tmp_path_factory.mktemp(f"prediction-{label}")
        built[label] = _write_store(folder, template, plan)
    return built


def _audit(uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_policy: bool) -> dict:
    workdir = tmp_path / f"cwd-{with_policy}"
    workdir.mkdir()
    monkeypatch.chdir(workdir)  # no pyproject.toml supplies a policy
    out = tmp_path / f"out-{with_policy}"
    args = ["audit", "--tracking-uri", uri, "--out", str(out), "--no-progress", "--checks", "prediction-audit"]
    if with_policy:
        (tmp_path / "policy.toml").write_text(POLICY)
        args += ["--config", str(tmp_path / "policy.toml")]
    result = CliRunner().invoke(main, args)
    assert (out / "report.json").is_file(), result.output
    report = json.loads((out / "report.json").read_text())
    return next(r for r in report["results"] if r["name"] == "prediction-audit")


@pytest.mark.parametrize("with_policy", [False, True], ids=["no-policy", "policy"])
def test_each_untraceable_run_is_named_with_its_missing_link(stores, tmp_path, monkeypatch, with_policy) -> None:
    result = _audit(stores["mixed"], tmp_path, monkeypatch, with_policy)
    assert result["status"] == "fail", result["message"]
    evidence = result["evidence"]
    named = {u["name"]: " / ".join(u["missing"]) for u in evidence["untraceable"]}
    assert set(named) == set(UNTRACEABLE), named  # traceable runs are never listed
    for name, words in UNTRACEABLE.items():
        for word in words:
            assert word in named[name], (name, named[name])
    assert evidence["inference_runs"] == len(GOOD) + len(BAD) and evidence["traceable"] == len(GOOD)
    example = result["message"].split(" - ", 1)[1].split(":", 1)[0]
    assert example in UNTRACEABLE, result["message"]  # the example named is truly untraceable
    assert evidence["alias_only"] and len(evidence["alias_only"]) == 1


@pytest.mark.parametrize("with_policy", [False, True], ids=["no-policy", "policy"])
def test_runs_traceable_by_mlflow_records_pass(stores, tmp_path, monkeypatch, with_policy) -> None:
    result = _audit(stores["good"], tmp_path, monkeypatch, with_policy)
    assert result["status"] == "pass", result["message"]
    assert result["evidence"]["traceable"] == len(GOOD)
    chain = result["evidence"]["example_chain"]
    assert chain["input"].startswith("dataset requests (digest ") and chain["output"] == "artifact predictions.csv"


# --- Offline judges: what a snapshot alone cannot show ---------------------------------------------

def _offline(params: dict[str, str], policy=None, artifacts=None):
    from mltrack.model import (ArtifactFile, ExperimentRecord, ModelVersionRecord, RegisteredModelRecord,
                               RunRecord, StoreSnapshot)
    from mltrack.pressure.policy import Policy
    from mltrack.pressure.registry import get

    train = RunRecord("t" * 32, "1", "train", "ana", "FINISHED", 1, 2, metrics={"val_acc": 0.9})
    other = RunRecord("o" * 32, "1", "other", "ana", "FINISHED", 1, 2, metrics={"val_acc": 0.8})
    files = None if artifacts is None else tuple(ArtifactFile(a, 10) for a in artifacts)
    scoring = RunRecord("s" * 32, "2", "scoring", "cron", "FINISHED", 3, 4, params=params, artifacts=files,
                        tags={"mltrack.run_type": "inference"})
    model = RegisteredModelRecord(MODEL, versions=(ModelVersionRecord(MODEL, "1", train.run_id, f"runs:/{train.run_id}/m"),))
    snap = StoreSnapshot("sqlite:///x.db", "mlflow", "3", 10, (ExperimentRecord("1", "train"), ExperimentRecord("2", "score")),
                         (train, other, scoring), (model,))
    return get("prediction-audit").evaluate(snap, {}, policy or Policy())


def test_an_output_that_was_not_listed_is_not_verified_never_untraceable() -> None:
    pinned = {"model_uri": f"models:/{MODEL}/1", "input_data_hash": "abc"}
    unlisted = _offline(pinned)
    assert unlisted.status.value == "warn" and "not verified" in unlisted.message, unlisted.message
    assert unlisted.evidence["untraceable"] == [] and unlisted.evidence["output_not_verified"] == ["s" * 32]
    assert _offline(pinned, artifacts=["out/predictions.parquet"]).status.value == "pass"
    assert _offline(pinned, artifacts=["model/MLmodel"]).status.value == "fail"


def test_records_that_disagree_and_fields_the_policy_names() -> None:
    from mltrack.pressure.policy import policy_from_mapping

    both = {"model_uri": f"models:/{MODEL}/1", "input_data_hash": "a", "predictions_hash": "p"}
    assert _offline(both).status.value == "pass"
    wrong = _offline({**both, "training_run_id": "o" * 32})
    assert wrong.status.value == "fail" and f"training run id {'o' * 32} is not the run behind" in wrong.message
    policy = policy_from_mapping({"inference_fields": ["batch_id"]})
    required = _offline(both, policy)
    assert required.status.value == "fail" and "no batch_id (required by inference_fields)" in required.message


def test_a_run_that_only_linked_the_model_does_not_stand_in_for_the_gone_training_run() -> None:
    """W&B: a registration job links the model artifact the (deleted) training run logged."""
    from mltrack.model import ExperimentRecord, ModelVersionRecord, RegisteredModelRecord, RunRecord, StoreSnapshot
    from mltrack.pressure.policy import Policy
    from mltrack.pressure.registry import get

    linker = RunRecord("l" * 32, "1", "register", "ana", "FINISHED", 1, 2, logged_model_ids=("m-1",),
                       tags={"wandb.job_type": "registration"})
    scoring = RunRecord("s" * 32, "2", "scoring", "cron", "FINISHED", 3, 4, tags={"mltrack.run_type": "inference"},
                        params={"model_name": MODEL, "model_version": "1", "input_data_hash": "a",
                                "predictions_hash": "p"})
    version = ModelVersionRecord(MODEL, "1", "g" * 32, "wandb-artifact://x", model_id="m-1", aliases=("production",))
    snap = StoreSnapshot("wandb-offline:/x", "wandb", None, 10, (ExperimentRecord("1", "a"), ExperimentRecord("2", "b")),
                         (linker, scoring), (RegisteredModelRecord(MODEL, aliases={"production": "1"}, versions=(version,)),))
    policy = Policy()
    audit = get("prediction-audit").evaluate(snap, {}, policy)
    assert audit.status.value == "fail" and f"training run {'g' * 32} is not in the store" in audit.message
    onboarding = get("onboarding").evaluate(snap, {}, policy)
    assert f"{MODEL} v1 (run {'g' * 32} purged)" in onboarding.message
    production = get("production-model").evaluate(snap, {}, Policy(registered_models=(MODEL,)))
    assert production.evidence["orphaned_versions"][0]["run_id"] == "g" * 32
