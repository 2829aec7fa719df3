"""A check's gather is cut at its timeout, and the timeout leaves room for passes over a big store.

On a 1,000,012-run store `mltrack report` cut artifact-cleanup after 120 s (its passes over the
runs and its local walks, on a loaded machine) and reported the store as down. The limit is now
`timeout_s` plus one second per 2,500 runs (pressure/runner.gather_timeout)."""

from __future__ import annotations

import time
from pathlib import Path

from mltrack.model import RunRecord, Status, StoreSnapshot
from mltrack.pressure.base import Check, GatherContext, Verdict
from mltrack.pressure.policy import Policy
from mltrack.pressure.runner import RUNS_PER_EXTRA_SECOND, _run_one, gather_timeout
from mltrack.run_table import RunTableBuilder


def _snapshot(runs: int) -> StoreSnapshot:
    builder = RunTableBuilder(spill_after=0)
    for i in range(runs):
        builder.add(RunRecord(f"{i:032x}", "1", f"r{i}", "ana", "FINISHED", 1_700_000_000_000 + i, None))
    return StoreSnapshot(uri="sqlite:///x.db", tracker="mlflow", server_version=None, taken_at=0.0,
                         experiments=(), runs=builder.finish(), registered_models=())


def _slow_check(seconds: float) -> Check:
    def gather(ctx: GatherContext) -> dict:
        time.sleep(seconds)  # stands for a pass over the runs that takes this long
        return {"slept": seconds}

    return Check(code="MLPX", name="slow", summary="slow", doc="", gather=gather,
                 judge=lambda snapshot, evidence, policy: Verdict(Status.PASS, f"slept {evidence['slept']}", {}))


def test_limit_grows_with_the_runs() -> None:
    policy = Policy(timeout_s=120)
    assert gather_timeout(policy, 0) == gather_timeout(policy, RUNS_PER_EXTRA_SECOND - 1) == 120
    assert gather_timeout(policy, 1_000_012) == 120 + 400


def test_small_store_cut_at_timeout_s(tmp_path: Path) -> None:
    ctx = GatherContext(None, _snapshot(10), Policy(timeout_s=1), tmp_path)  # type: ignore[arg-type]
    result, down, _ = _run_one(_slow_check(3.0), ctx, time.perf_counter())
    assert result.status is Status.ERROR and "timed out after 1 s" in result.message
    assert down and "within 1 s" in down


def test_big_store_gets_time_for_its_passes(tmp_path: Path) -> None:
    runs = 3 * RUNS_PER_EXTRA_SECOND  # 1 s + 3 s
    ctx = GatherContext(None, _snapshot(runs), Policy(timeout_s=1), tmp_path)  # type: ignore[arg-type]
    result, down, _ = _run_one(_slow_check(2.0), ctx, time.perf_counter())
    assert result.status is Status.PASS and down is None, result.message
