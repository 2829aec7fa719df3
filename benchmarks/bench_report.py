"""The onboarding report on an N-run store: time and page size, beside the bare store read.

    .venv/bin/python benchmarks/bench_report.py [--runs 10000] [--cache-dir DIR]

Builds (or reuses, cached under the temp dir) an sqlite store of N real MLflow runs (one run
written by MLflow, copied row for row by tests/support/bulk_runs.py; learning rate, batch size
and val_acc are then varied so the plots have something to show), then measures side by side
in this one process:

  snapshot   the adapter reading every run (the floor any report must pay)
  onboarding `mltrack report` end to end without the checks: read, build, render, write
  render     rendering report.md/.html/junit.xml from a recorded report.json (x100)

Targets: the page stays <= 5 MB and the report takes seconds, not minutes, on 10,000 runs.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.support (store building)


def build_store(runs: int, cache_dir: Path) -> str:
    from tests.support.bulk_runs import clone_runs, write_template_run

    folder = cache_dir / f"mltrack-bench-report-{runs}"
    db = folder / "mlflow.db"
    if (folder / "complete").exists():
        return f"sqlite:///{db}"
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    _, template = write_template_run(f"sqlite:///{db}", "bench", str(folder / "artifacts"))
    clone_runs(db, template, runs - 1)
    with sqlite3.connect(db) as conn:  # vary the search so the plots are not one dot each
        conn.execute("UPDATE params SET value = CAST((abs(random()) % 5 + 1) / 100.0 AS TEXT) "
                     "WHERE key = 'learning_rate'")
        conn.execute("UPDATE params SET value = CAST(16 << (abs(random()) % 3) AS TEXT) WHERE key = 'batch_size'")
        conn.execute("UPDATE latest_metrics SET value = 0.5 + (abs(random()) % 1000) / 2000.0 WHERE key = 'val_acc'")
    (folder / "complete").write_text("ok\n")
    return f"sqlite:///{db}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()

    from mltrack.pressure.policy import Policy
    from mltrack.service import write_onboarding
    from mltrack.report.schema import load
    from mltrack.report.writer import render_files
    from mltrack.stores import open_store

    started = time.perf_counter()
    uri = build_store(args.runs, args.cache_dir)
    print(f"store: {args.runs} runs ready in {time.perf_counter() - started:.1f} s ({uri})")
    policy = Policy(experiments=("bench",), registered_models=())

    started = time.perf_counter()
    with open_store(uri) as adapter:
        snapshot = adapter.snapshot()
    read_s = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "onboarding.html"
        stats = write_onboarding(uri, out, policy=policy, checks=None)
        recorded = load(REPO / "tests" / "golden" / "audit-fail-trend.json")
        started = time.perf_counter()
        for _ in range(100):
            render_files(recorded, Path(scratch))
        render_s = (time.perf_counter() - started) / 100

    print(f"snapshot   {len(snapshot.runs):>6} runs  {read_s:7.2f} s")
    print(f"onboarding {args.runs:>6} runs  {stats['seconds']:7.2f} s  {stats['bytes'] / 2**20:.2f} MiB  "
          f"({stats['seconds'] / read_s:.2f}x the bare read)")
    print(f"render     report.md+html+junit from report.json: {render_s * 1000:.1f} ms each")
    verdict = "OK" if stats["bytes"] <= 5 * 2**20 else "OVER the 5 MB target"
    print(f"page size target <= 5 MB: {verdict}")


if __name__ == "__main__":
    main()
