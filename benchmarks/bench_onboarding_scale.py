"""The onboarding page's size, build time and peak memory on 10k-1M-run stores.

    .venv/bin/python benchmarks/bench_onboarding_scale.py [--runs 10000 100000 1000000]

Each store is a synthetic StoreSnapshot (tests/support/synthetic_snapshot.py) whose runs go to a
spilled run table, as a big store's read leaves them (mltrack.run_table: a private sqlite file
streamed back one record at a time): runs/50 experiments, runs/25 users, ~1% diverged, 60
models in production, 5,000-step metric histories. So the page is built on the real path: it
streams the runs and keeps what it shows. Reading a real store of that size is
benchmarks/bench_big_store.py's subject; this one isolates what the page does with the runs.

Each size runs in its own process, so its peak RSS is its own. Prints per size: the spilled
table's build time, the page's build+render time, the page size, the RSS before the page and
the process's peak RSS. Targets (issue 13): the page <= 5 MB at 1,000,000 runs, and memory that
does not grow with the runs (peak RSS <= 1 GiB).
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


def one(runs: int) -> None:
    from mltrack.pressure.policy import Policy
    from mltrack.report.onboarding import build_onboarding
    from mltrack.report.onboarding_html import render_onboarding
    from tests.support.synthetic_snapshot import long_history, synthetic_snapshot

    started = time.perf_counter()
    snapshot = synthetic_snapshot(runs, spill=True)
    built = time.perf_counter() - started
    before = _rss_mib()
    started = time.perf_counter()
    page = render_onboarding(build_onboarding(snapshot, Policy(), (), history=long_history))
    took = time.perf_counter() - started
    size = len(page.encode())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    snapshot.runs.close()
    ok = size <= 5 * 10**6 and peak <= 1024
    print(f"{runs:>9} {built:>10.1f} {took:>8.1f} {size:>11,} {before:>10.0f} {peak:>12.0f}  "
          f"{'OK' if ok else 'OVER'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a size, in this process
    args = parser.parse_args()
    if args.one is not None:
        one(args.one)
        return
    print(f"{'runs':>9} {'spill s':>10} {'page s':>8} {'page bytes':>11} {'RSS MiB':>10} {'peak RSS MiB':>12}"
          "  target page <= 5 MB, peak <= 1 GiB")
    for runs in args.runs:
        subprocess.run([sys.executable, __file__, "--one", str(runs)], check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
