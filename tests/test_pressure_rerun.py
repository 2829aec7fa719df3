"""recovery's optional re-run: re-train the best run of a really seeded store from its logged
params with a configured command and compare the metric (the reference runs reproduce exactly)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mltrack.model import Status
from mltrack.pressure.policy import Policy
from mltrack.pressure.runner import run_checks

pytest.importorskip("torch")

RETRAIN = '''
import argparse
from mltrack.seed.recipe import TrainConfig, train

parser = argparse.ArgumentParser()
for key in ("learning_rate", "batch_size", "epochs", "optimizer", "model_architecture", "random_seed",
            "data_version", "shift"):
    parser.add_argument("--" + key)
args, _ = parser.parse_known_args()
config = TrainConfig(learning_rate=float(args.learning_rate), batch_size=int(args.batch_size),
                     epochs=int(args.epochs), optimizer=args.optimizer,
                     model_architecture=args.model_architecture,
                     random_seed=int(args.random_seed) + int(args.shift or 0), data_version=args.data_version)
print("val_acc=%r" % train(config).history[-1]["val_acc"])
'''


def test_rerun_reproduces_the_best_run_and_a_changed_seed_does_not(small_reference_store, tmp_path):
    script = tmp_path / "retrain.py"
    script.write_text(RETRAIN)
    policy = Policy(rerun_command=f"{sys.executable} {script}", timeout_s=300)
    result = run_checks(small_reference_store.uri, policy, ["recovery"]).result("recovery")
    assert result.status is Status.PASS, result.message
    assert result.evidence["rerun"]["delta"] == 0.0 and "re-run matches" in result.message

    placeholders = Policy(rerun_command=f"{sys.executable} {script} --learning_rate {{learning_rate}} "
                          "--batch_size {batch_size} --epochs {epochs} --optimizer {optimizer} "
                          "--model_architecture {model_architecture} --random_seed {random_seed} "
                          "--data_version {data_version} --shift 1", timeout_s=300)
    changed = run_checks(small_reference_store.uri, placeholders, ["recovery"]).result("recovery")
    assert changed.status is Status.FAIL and "re-run gives val_acc=" in changed.message


PROBE = '''
import json, os, sys
import mlflow
with open(os.environ["PROBE_OUT"], "w") as out:
    json.dump({"argv": sys.argv[1:], "cwd": os.getcwd(), "env_uri": os.environ.get("MLFLOW_TRACKING_URI"),
               "mltrack_uri": os.environ.get("MLTRACK_TRACKING_URI")}, out)
with mlflow.start_run():  # what a training script does: log into "the" tracking store
    mlflow.log_param("optimizer", sys.argv[2])
    mlflow.log_metric("val_acc", 0.75)
print("val_acc=0.75")
'''


def test_rerun_never_writes_to_the_audited_store_and_params_stay_one_argument(tmp_path, monkeypatch):
    """The re-run trains into a scratch store that is deleted afterwards; the audited store is
    byte-identical; a param value holding options stays one argument (no injection)."""
    import json

    from mlflow.tracking import MlflowClient

    from mltrack.pressure.base import GatherContext
    from mltrack.pressure.rerun import rerun
    from mltrack.stores import open_store
    from tests.support.dump import assert_unchanged, dump_store
    from tests.support.stores import empty_database

    db = tmp_path / "audited.db"
    db.write_bytes(empty_database(tmp_path).read_bytes())
    uri = f"sqlite:///{db}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("mltrack-reference", artifact_location=str(tmp_path / "artifacts"))
    run = client.create_run(exp, run_name="best", tags={"mltrack.run_type": "training"})
    for key, value in {"learning_rate": "0.01", "batch_size": "32", "optimizer": "sgd --output-dir /etc",
                       "random_seed": "1", "git_commit": "a" * 40, "data_hash": "b" * 64}.items():
        client.log_param(run.info.run_id, key, value)
    client.log_metric(run.info.run_id, "val_acc", 0.75)
    client.set_terminated(run.info.run_id)
    script, out = tmp_path / "probe.py", tmp_path / "probe.json"
    script.write_text(PROBE)
    monkeypatch.setenv("PROBE_OUT", str(out))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # a user's shell pointing at the audited store
    before = dump_store(db, tmp_path / "artifacts")
    policy = Policy(rerun_command=f"{sys.executable} {script} --optimizer {{optimizer}} --tracking-uri {{tracking_uri}}",
                    timeout_s=300, registered_models=(), inference_experiments=())
    store = open_store(uri)
    try:
        snapshot = store.snapshot()
        facts = rerun(GatherContext(store, snapshot, policy, tmp_path / "work"), snapshot.run(run.info.run_id))
    finally:
        store.close()
    assert facts["ok"] and facts["metric"] == 0.75, facts
    assert_unchanged(before, dump_store(db, tmp_path / "artifacts"))
    seen = json.loads(out.read_text())
    scratch_uri = seen["env_uri"]
    assert seen["argv"] == ["--optimizer", "sgd --output-dir /etc", "--tracking-uri", scratch_uri]
    assert scratch_uri.startswith("sqlite:///") and scratch_uri != uri and seen["mltrack_uri"] == scratch_uri
    assert not Path(scratch_uri.removeprefix("sqlite:///")).parent.exists()  # deleted afterwards
    assert not Path(seen["cwd"]).exists()
