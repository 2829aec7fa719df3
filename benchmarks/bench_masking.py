"""What masking secrets costs a report: the onboarding data's pass over every run's params and
tags (mltrack.secrets via report/onboarding.py), and redact() on lines of text.

    .venv/bin/python benchmarks/bench_masking.py [--runs 10000]

A synthetic snapshot (13 params and tags a run, one run in ten with an `api_key`) stands in for
a store: the figure is the masking alone, not a store read. Target: well under the store read
(seconds on 10,000 runs), so masking never decides how long a report takes.
"""

from __future__ import annotations

import argparse
import time

from mltrack.model import RunRecord, StoreSnapshot
from mltrack.report.masked_runs import masked_snapshot
from mltrack.uri import redact


def snapshot(runs: int) -> StoreSnapshot:
    records = tuple(
        RunRecord(f"r{i}", "1", f"run {i}", f"user{i % 7}", "FINISHED", 0, 1,
                  params={"learning_rate": str(i * 0.001), "batch_size": "32", "optimizer": "adam",
                          "seed": str(i), "data_hash": "ab" * 32, "git_commit": "c" * 40, "epochs": "10",
                          "dropout": "0.1", "api_key": f"k{i:019d}" if i % 10 == 0 else "<set me>"},
                  tags={"mlflow.user": f"user{i % 7}", "mlflow.source.name": "train.py",
                        "mlflow.source.git.commit": "c" * 40, "mlflow.runName": f"run {i}"})
        for i in range(runs))
    return StoreSnapshot("sqlite:///bench.db", "mlflow", "3", 0, runs=records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    data = snapshot(args.runs)
    started = time.perf_counter()
    view, masked = masked_snapshot(data)  # the runs are masked as they are read: read them all
    masked += sum(count for _, count in view.runs.counted())
    took = time.perf_counter() - started
    print(f"mask params/tags of {args.runs:,} runs: {took:.2f} s ({masked:,} values masked)")
    lines = [f"cannot reach http://ci:p%40ss{i}@mlflow:5000/api?token=t{i}: refused" for i in range(10_000)]
    started = time.perf_counter()
    for line in lines:
        redact(line)
    print(f"redact 10,000 lines with credentials: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
