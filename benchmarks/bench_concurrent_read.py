"""Concurrent experiment reads (MLTRACK_READ_CONCURRENCY) vs one reader, against `mlflow server
--workers 4` on PostgreSQL, and with the direct postgresql:// URI.

    .venv/bin/python benchmarks/bench_concurrent_read.py [--experiments 8] [--runs-per-experiment 1000]
        [--concurrency 1 4 8]

Builds a throwaway PostgreSQL cluster (tests/support/postgres.py) holding E experiments of R
runs each (one template run written by MLflow per experiment, copied row for row with COPY:
tests/support/bulk_runs.py), starts the 4-worker server, then times the store snapshot (every
run, records built) in a fresh process per setting. The machine is shared: compare the ratios
of one invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def build(cluster, experiments: int, per_experiment: int, work: Path) -> tuple[str, float]:
    from tests.support.bulk_runs import clone_runs_postgres, write_template_run
    from tests.support.postgres import EMPTY, migrate

    migrate(cluster.create_database(EMPTY), work)
    uri = cluster.create_database("concurrent_read", template=EMPTY)
    started = time.perf_counter()
    for index in range(experiments):
        _, template = write_template_run(uri, f"team-{index:02d}", str(work / "artifacts" / f"team-{index:02d}"))
        clone_runs_postgres(uri, template, per_experiment - 1)
    cluster.execute("ANALYZE", database="concurrent_read")
    return uri, time.perf_counter() - started


def child(uri: str) -> None:
    from mltrack.stores import open_store

    started = time.perf_counter()
    snap = open_store(uri, timeout=120, read_deadline_s=3600).snapshot()
    print(json.dumps({"seconds": time.perf_counter() - started, "runs": len(snap.runs)}))


def measure(uri: str, concurrency: int) -> dict:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "MLTRACK_READ_CONCURRENCY": str(concurrency)}
    out = subprocess.run([sys.executable, __file__, "--child", uri], capture_output=True, text=True, env=env,
                         check=False)
    if out.returncode != 0:
        raise SystemExit(f"read failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=8)
    parser.add_argument("--runs-per-experiment", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--child", metavar="URI", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    from tests.support.postgres import PostgresUnavailable, SERVER_WORKERS, start_postgres, start_server

    try:
        cluster = start_postgres()
    except PostgresUnavailable as exc:
        raise SystemExit(f"bench_concurrent_read: {exc}") from None
    work = Path(tempfile.mkdtemp(prefix="mltrack-concurrent-read-"))
    try:
        uri, built = build(cluster, args.experiments, args.runs_per_experiment, work)
        print(f"store: {args.experiments} experiments x {args.runs_per_experiment} runs on PostgreSQL "
              f"(built in {built:.1f} s)", flush=True)
        server = start_server(uri, work / "server")
        try:
            for label, target in ((f"mlflow server --workers {SERVER_WORKERS}", server.url),
                                  ("direct postgresql://", uri)):
                print(f"\n[{label}]", flush=True)
                first = None
                for concurrency in args.concurrency:
                    got = measure(target, concurrency)
                    first = first or got["seconds"]
                    print(f"  MLTRACK_READ_CONCURRENCY={concurrency:<3} {got['seconds']:7.1f} s  {got['runs']} runs  "
                          f"({first / got['seconds']:.2f}x the first setting)", flush=True)
        finally:
            server.stop()
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
