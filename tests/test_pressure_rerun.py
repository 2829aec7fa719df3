"""recovery's optional re-run: re-train the best run of a really seeded store from its logged
params with a configured command and compare the metric (the reference runs reproduce exactly)."""

from __future__ import annotations

import sys

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
