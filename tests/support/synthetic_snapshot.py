"""A big store as the reader returns it, built in memory: N RunRecords spread over many
experiments, users, hyperparameter values and data versions, some diverged, plus registered
models in production. Used to show that the onboarding page's size does not grow with the
store (tests/test_onboarding_scale.py, benchmarks/bench_onboarding_scale.py); reading a real
store of that size is benchmarks/bench_big_store.py's subject, not this one's.
"""

from __future__ import annotations

import math

from mltrack import conventions
from mltrack.model import ExperimentRecord, ModelVersionRecord, RegisteredModelRecord, RunRecord, StoreSnapshot
from mltrack.run_table import RunTableBuilder

NOW = 1_790_000_000_000


def synthetic_snapshot(runs: int, *, experiments: int | None = None, users: int | None = None,
                       models: int = 60, spill: bool = False) -> StoreSnapshot:
    """`runs` training runs; experiments and users grow with the store (one per 50 / 25 runs by
    default) so every table has more rows than it may show. `spill`: the runs go to a spilled
    run table as a big store's read does (mltrack.run_table), never all in memory."""
    experiments = experiments or max(1, runs // 50)
    users = users or max(1, runs // 25)
    names = [conventions.REFERENCE_EXPERIMENT] + [f"sweep-{i:06d}" for i in range(1, experiments)]
    records: list[RunRecord] = []
    builder = RunTableBuilder(spill_after=0) if spill else None
    for i in range(runs):
        # half the runs in the reference experiment, the rest spread over the others
        exp = 0 if i % 2 == 0 or experiments == 1 else 1 + (i // 2) % (experiments - 1)
        value = math.nan if i % 97 == 0 else 0.5 + (i * 7919 % 1000) / 2000  # ~1% diverged
        (builder.add if builder is not None else records.append)(RunRecord(
            f"run{i:07d}", str(exp), f"search-{i}", f"user{i % users:06d}", "FINISHED",
            NOW - i * 60_000, NOW - i * 60_000 + 1,
            params={"learning_rate": str((0.001, 0.003, 0.01, 0.03, 0.1)[i % 5]),
                    "batch_size": str((16, 32, 64)[i // 5 % 3]), "optimizer": f"opt-{i % 37}",
                    "random_seed": str(i), "git_commit": "a" * 40, "data_hash": f"{i // 1000:064x}",
                    "data_version": f"v{i // 1000}"},
            tags={conventions.TAG_RUN_TYPE: "training"}, metrics={"val_acc": value}))
    registered = tuple(RegisteredModelRecord(f"model-{m:03d}", aliases={"production": "2"}, versions=(
        ModelVersionRecord(f"model-{m:03d}", "1", f"run{2 * m:07d}", f"models:/m-{m}-1"),
        ModelVersionRecord(f"model-{m:03d}", "2", f"run{2 * m + 2:07d}", f"models:/m-{m}-2")))
        for m in range(models))
    return StoreSnapshot("sqlite:///big.db", "mlflow", "3.17.2", NOW,
                         runs=builder.finish() if builder is not None else tuple(records),
                         experiments=tuple(ExperimentRecord(str(i), n) for i, n in enumerate(names)),
                         registered_models=registered)


def long_history(run_id: str, key: str) -> list[tuple[int, float, int]]:
    """A 5,000-step metric history for any run (the curves must thin it)."""
    return [(s, 0.5 + s / 10_000, 0) for s in range(5_000)]
