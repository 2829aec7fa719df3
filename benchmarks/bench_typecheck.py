"""Time the type check (`python -m mypy src/mltrack`, [tool.mypy] of pyproject.toml): cold (an
empty cache, as on a fresh clone in CI) and warm (the cache the previous run left, as on a
developer's second `make typecheck`). Prints wall and CPU seconds of each run; CPU is the figure
to compare on a shared machine, where wall time follows the load.

    .venv/bin/python benchmarks/bench_typecheck.py [--warm-runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(cache_dir: Path) -> tuple[float, float, int]:
    """(wall s, CPU s of the mypy process, exit code)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(cache_dir), "src/mltrack"],
                          cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        sys.exit(f"mypy could not run: {done.stderr.strip() or done.stdout.strip()}")
    return wall, cpu, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=3, help="warm runs after the cold one (default 3)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="mltrack-mypy-cache-") as cache:
        wall, cpu, code = _run(Path(cache))
        print(f"cold: {wall:6.2f} s wall  {cpu:6.2f} s CPU  ({'clean' if code == 0 else 'errors found'})")
        for n in range(1, args.warm_runs + 1):
            wall, cpu, code = _run(Path(cache))
            print(f"warm {n}: {wall:5.2f} s wall  {cpu:6.2f} s CPU")


if __name__ == "__main__":
    main()
