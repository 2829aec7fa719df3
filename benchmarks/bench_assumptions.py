"""Zero configuration's cost: inferring the policy from an N-run snapshot, and the run kinds
every check asks for (worked out once per snapshot and metric, then cached).

    .venv/bin/python benchmarks/bench_assumptions.py [--runs 10000]

The snapshot is built in memory (no store): N finished training runs with 15 params, 3 metrics
and 2 tags each, plus one inference run in its own experiment per 100 training runs. Figures
are printed; the machine is shared, so compare them within one invocation.
"""

from __future__ import annotations

import argparse
import time

from mltrack.model import ArtifactFile, ExperimentRecord, RunRecord, StoreSnapshot
from mltrack.pressure.base import inference_runs, training_runs
from mltrack.pressure.policy import Policy
from mltrack.pressure.runner import resolve_policy


def snapshot_of(runs: int) -> StoreSnapshot:
    records = []
    for i in range(runs):
        records.append(RunRecord(
            f"{i:032x}", "1", f"trial-{i}", f"user{i % 7}", "FINISHED", 1_700_000_000_000 + i, None,
            params={f"p{j}": f"value-{j}-{i}" for j in range(15)},
            tags={"mlflow.user": f"user{i % 7}", "mlflow.source.name": "train.py"},
            metrics={"val_acc": (i % 100) / 100, "val_loss": 1 - (i % 100) / 100, "train_loss": 0.5}))
        if i % 100 == 0:
            records.append(RunRecord(
                f"a{i:031x}", "2", f"score-{i}", "batch", "FINISHED", 1_700_000_000_000 + i, None,
                params={"model_uri": "models:/clf/3"}, artifacts=(ArtifactFile("predictions.csv", 10),)))
    return StoreSnapshot("sqlite:///bench.db", "mlflow", None, 1_800_000_000_000,
                         experiments=(ExperimentRecord("1", "train"), ExperimentRecord("2", "scoring")),
                         runs=tuple(records))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    snapshot = snapshot_of(args.runs)
    started = time.perf_counter()
    policy, assumptions = resolve_policy(snapshot, Policy())
    resolved = time.perf_counter() - started
    started = time.perf_counter()
    first = len(training_runs(snapshot, policy)), len(inference_runs(snapshot, policy))
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(10):  # as ten checks would
        training_runs(snapshot, policy), inference_runs(snapshot, policy)
    again_s = (time.perf_counter() - started) / 10
    print(f"{len(snapshot.runs)} runs: inferring the policy {resolved:.3f} s "
          f"({len(assumptions)} assumptions; metric {policy.metric}, goal {policy.metric_goal})")
    print(f"training + inference runs: first ask {first_s:.3f} s ({first[0]} training, {first[1]} inference), "
          f"each later ask {again_s:.3f} s (run kinds cached)")


if __name__ == "__main__":
    main()
