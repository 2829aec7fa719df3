"""The onboarding page's size and build time on 10k-1M-run stores, built in memory.

    .venv/bin/python benchmarks/bench_onboarding_scale.py [--runs 10000 100000 300000]

Each store is a synthetic StoreSnapshot (tests/support/synthetic_snapshot.py): the runs as
the reader returns them, spread over runs/50 experiments and runs/25 users, ~1% diverged,
60 models in production, 5,000-step metric histories. Reading a real store of that size is
benchmarks/bench_big_store.py's subject; this one isolates what the page does with the runs.
Prints per size: snapshot build time, page build+render time, page size, peak RSS so far.
Target (issue 13): the page stays <= 5 MB at 1,000,000 runs, i.e. its size must not grow.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.support


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()

    from mltrack.pressure.policy import Policy
    from mltrack.report.onboarding import build_onboarding
    from mltrack.report.onboarding_html import render_onboarding
    from tests.support.synthetic_snapshot import long_history, synthetic_snapshot

    print(f"{'runs':>9} {'snapshot s':>10} {'page s':>8} {'page bytes':>11} {'peak RSS MiB':>12}  target <= 5 MB")
    for runs in args.runs:
        started = time.perf_counter()
        snapshot = synthetic_snapshot(runs)
        built = time.perf_counter() - started
        started = time.perf_counter()
        page = render_onboarding(build_onboarding(snapshot, Policy(), (), history=long_history))
        took = time.perf_counter() - started
        size = len(page.encode())
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{runs:>9} {built:>10.1f} {took:>8.1f} {size:>11,} {peak:>12.0f}  "
              f"{'OK' if size <= 5 * 10**6 else 'OVER'}", flush=True)
        del snapshot, page
        gc.collect()


if __name__ == "__main__":
    main()
