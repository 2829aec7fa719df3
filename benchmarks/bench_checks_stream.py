"""The ten checks' judges and the retention plan on 10k-1M-run spilled snapshots: time and memory.

    .venv/bin/python benchmarks/bench_checks_stream.py [--runs 10000 100000 1000000]

Each store is a synthetic StoreSnapshot (tests/support/synthetic_snapshot.py) whose runs go to a
spilled run table, as a big store's read leaves them (mltrack.run_table). The checks stream the
runs and keep counts, aggregates, top-N and first-K (issue 13 item 2), so their memory must not
grow with the runs. Judges only (gather needs a live store: benchmarks/bench_big_store.py runs the
whole audit). Each size runs in its own process, so its peak RSS is its own. Prints per size: the
spilled table's build time, the run-kind pass (one byte a run, shared by every check), every
judge together, the retention plan's walk, one plain pass over the runs (the floor), the RSS
before the checks and the peak RSS while they ran (the synthetic build's own peak reset away
where Linux allows; target: <= 1 GiB).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.support


def _rss_mib() -> float:
    """Resident memory now (not the peak), from /proc."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return float("nan")
    return pages * resource.getpagesize() / 2**20


def _reset_peak() -> bool:
    """Start the peak RSS afresh (Linux: clear_refs 5 resets VmHWM), so building the synthetic
    table does not count; False where that is not possible (the peak then includes the build)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_mib() -> float:
    """The peak RSS since the last reset (VmHWM), else since the process started."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(runs: int) -> None:
    from mltrack.pressure.base import run_kinds_of
    from mltrack.pressure.policy import Policy
    from mltrack.pressure.runner import resolve_policy
    from mltrack.pressure.registry import CHECKS
    from mltrack.retention import RetentionRules, plan_retention
    from tests.support.synthetic_snapshot import synthetic_snapshot

    started = time.perf_counter()
    snapshot = synthetic_snapshot(runs, spill=True)
    built = time.perf_counter() - started
    before = _rss_mib()
    _reset_peak()
    started = time.perf_counter()
    sum(1 for _ in snapshot.runs)
    floor = time.perf_counter() - started
    policy, _ = resolve_policy(snapshot, Policy())
    started = time.perf_counter()
    run_kinds_of(snapshot, policy.metric)
    kinds = time.perf_counter() - started
    started = time.perf_counter()
    for check in CHECKS:
        check.evaluate(snapshot, {}, policy)
    judges = time.perf_counter() - started
    started = time.perf_counter()
    plan = plan_retention(snapshot, RetentionRules(policy.metric, policy.metric_goal, policy.keep_top,
                                                   policy.old_run_days))
    plan.first_candidates(policy.cleanup_list_limit)
    walked = time.perf_counter() - started
    peak = _peak_mib()
    snapshot.runs.close()
    print(f"{runs:>9} {built:>9.1f} {floor:>8.1f} {kinds:>8.1f} {judges:>9.1f} {walked:>8.1f} "
          f"{before:>9.0f} {peak:>9.0f}  {'OK' if peak <= 1024 else 'OVER'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a size, in this process
    args = parser.parse_args()
    if args.one is not None:
        one(args.one)
        return
    print(f"{'runs':>9} {'spill s':>9} {'pass s':>8} {'kinds s':>8} {'judges s':>9} {'plan s':>8} "
          f"{'RSS MiB':>9} {'peak MiB':>9}  target peak <= 1 GiB")
    for runs in args.runs:
        subprocess.run([sys.executable, __file__, "--one", str(runs)], check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
