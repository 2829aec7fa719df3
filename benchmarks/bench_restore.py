"""Restoring the runs of an interrupted `cleanup --apply` over HTTP: one process, one journal.

    .venv/bin/python benchmarks/bench_restore.py [--runs 100] [--compare-loop 3]

Starts a real `mlflow server` (sqlite backend) on 127.0.0.1, writes N old runs (one written by
MLflow, copied row for row: tests/support/bulk_runs.py) plus 10 that the keep-top rule protects,
runs `mltrack cleanup --apply --journal J` (soft-deletes the N), then times, in a fresh process,
`mltrack cleanup --restore J --tracking-uri URL` end to end (interpreter start and imports
included) and checks every run is active again. Target: 100 runs in under 30 s.

`--compare-loop K` also times K runs of the loop mltrack used to print (one
`mlflow runs restore --run-id ID` process per run) and extrapolates it to N.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.support (store building, server fixture)
BIN = Path(sys.executable).parent
KEPT = 10  # the keep-top rule protects the 10 best; the rest are cleanup candidates


def _stages(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT run_uuid, lifecycle_stage FROM runs"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="runs to delete and restore (default 100)")
    parser.add_argument("--compare-loop", type=int, default=0, metavar="K",
                        help="also time K `mlflow runs restore` processes and extrapolate to --runs")
    args = parser.parse_args()

    from tests.support.bulk_runs import clone_runs, write_template_run
    from tests.support.mlflow_server import start_mlflow_server

    with tempfile.TemporaryDirectory(prefix="mltrack-bench-restore-") as tmp:
        root = Path(tmp)
        db = root / "mlflow.db"
        server = start_mlflow_server(f"sqlite:///{db}", root / "artifacts", root)
        try:
            _, template = write_template_run(server.url, "bench", str(root / "artifacts"))
            clone_runs(db, template, args.runs + KEPT - 1)
            journal = root / "journal.jsonl"
            env = {**os.environ, "MLTRACK_TRACKING_URI": server.url}
            applied = subprocess.run([str(BIN / "mltrack"), "cleanup", "--apply", "--journal", str(journal)],
                                     env=env, capture_output=True, text=True, check=False)
            deleted = [rid for rid, stage in _stages(db).items() if stage == "deleted"]
            if applied.returncode != 0 or len(deleted) != args.runs:
                print(applied.stdout[-2000:], applied.stderr[-2000:], file=sys.stderr)
                print(f"setup failed: {len(deleted)} runs deleted, expected {args.runs}", file=sys.stderr)
                return 1
            started = time.perf_counter()
            restored = subprocess.run([str(BIN / "mltrack"), "cleanup", "--restore", str(journal)],
                                      env=env, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - started
            still_deleted = sum(1 for stage in _stages(db).values() if stage == "deleted")
            print(f"mltrack cleanup --restore: {args.runs} runs over HTTP in {seconds:.1f} s "
                  f"({args.runs / seconds:.1f} runs/s, one process; target < 30 s) - "
                  f"exit {restored.returncode}, {still_deleted} still deleted")
            if args.compare_loop:
                sample = deleted[: args.compare_loop]
                for run_id in sample:  # delete them again so the loop has something to restore
                    subprocess.run([str(BIN / "mlflow"), "runs", "delete", "--run-id", run_id], env={
                        **os.environ, "MLFLOW_TRACKING_URI": server.url}, capture_output=True, check=False)
                started = time.perf_counter()
                for run_id in sample:
                    subprocess.run([str(BIN / "mlflow"), "runs", "restore", "--run-id", run_id], env={
                        **os.environ, "MLFLOW_TRACKING_URI": server.url}, capture_output=True, check=False)
                per_run = (time.perf_counter() - started) / len(sample)
                print(f"old loop (one `mlflow runs restore` process per run): {per_run:.1f} s/run, "
                      f"~{per_run * args.runs:.0f} s for {args.runs} runs (extrapolated from {len(sample)})")
            return 0 if restored.returncode == 0 and still_deleted == 0 else 1
        finally:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
