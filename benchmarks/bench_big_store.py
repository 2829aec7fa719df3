"""Big stores (10k / 100k / 1M runs) over sqlite and over a PostgreSQL-backed `mlflow server`:
build time, one plain paginated read (the floor), the whole audit, `mlflow.search_runs` into
pandas, and each one's peak RSS.

    .venv/bin/python benchmarks/bench_big_store.py [--runs 10000 100000] [--backend sqlite|postgres|both]
        [--artifacts shared|none] [--max-rss-mib 3072] [--cache-dir DIR] [--skip-pandas] [--measure floor audit pandas]
        [--together] [--worst]

Each store is the reference store (`mltrack seed --runs 24`: really trained runs, a registry,
inference runs, real artifacts) grown to N training runs by copying one reference run's rows
(tests/support/bulk_runs.py: executemany into sqlite, COPY into PostgreSQL). No per-run files:
with `--artifacts shared` every copy points at the template's artifact folder (the checks that
list artifacts see real files), with `none` at one empty folder; the 24 seeded runs keep theirs.
PostgreSQL runs on a throwaway cluster (tests/support/postgres.py; Debian's `postgresql`), read
through `mlflow server --workers 4`. Each measurement is a fresh process; a watchdog kills one
whose RSS passes --max-rss-mib and prints "killed".
sqlite stores are cached under --cache-dir by size; PostgreSQL stores are rebuilt each time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests.support: seeded stores, bulk runs, PostgreSQL, the server

SEED_RUNS = 24
TEMPLATE_SQL = ("SELECT r.run_uuid, r.artifact_uri FROM runs r JOIN experiments e ON r.experiment_id = e.experiment_id "
                "WHERE e.name = 'mltrack-reference' ORDER BY r.start_time LIMIT 1")

# --worst: every copy also logged its own MLflow 3 model (a copy of a reference one) and trained
# on its own data (a distinct data_hash): what grows a reader's state with the store.
MODEL_SQL = ("SELECT m.model_id FROM logged_models m JOIN experiments e ON m.experiment_id = e.experiment_id "
             "WHERE e.name = 'mltrack-reference' ORDER BY m.creation_timestamp_ms LIMIT 1")


def _shared_folder(template_artifacts: str, mode: str, folder: Path) -> str:
    if mode == "shared":
        return template_artifacts
    empty = folder / "no-artifacts"
    empty.mkdir(parents=True, exist_ok=True)
    return str(empty)


def build_sqlite(runs: int, mode: str, cache_dir: Path, worst: bool = False) -> tuple[str, float]:
    from tests.support.bulk_runs import clone_runs
    from tests.support.stores import copy_store, seeded_store

    folder = cache_dir / f"mltrack-big-sqlite-{runs}-{mode}{'-worst' if worst else ''}"
    db = folder / "mlflow.db"
    if (folder / "built").exists():
        return f"sqlite:///{db}", 0.0
    seeded = seeded_store(cache_dir / "mltrack-bench-seed", None, SEED_RUNS)  # cached: trains once
    shutil.rmtree(folder, ignore_errors=True)
    db = copy_store(seeded, folder).db_path
    with sqlite3.connect(db) as con:
        template, artifacts = con.execute(TEMPLATE_SQL).fetchone()
        model = con.execute(MODEL_SQL).fetchone()[0] if worst else None
    started = time.perf_counter()
    clone_runs(db, template, runs - SEED_RUNS, artifact_uri=_shared_folder(artifacts, mode, folder),
               return_ids=False, chunk=5_000, model_template=model, data_per_run=worst)
    with sqlite3.connect(db) as con:
        con.execute("ANALYZE")  # what a long-lived store has; the query planner needs it at 1M rows
    built = time.perf_counter() - started
    (folder / "built").write_text(str(runs))
    return f"sqlite:///{db}", built


def build_postgres(cluster, runs: int, mode: str, folder: Path) -> tuple[str, float]:
    import psycopg

    from tests.support.bulk_runs import clone_runs_postgres
    from tests.support.postgres import EMPTY, migrate, seed

    folder.mkdir(parents=True, exist_ok=True)
    if EMPTY not in {r[0] for r in cluster.execute("SELECT datname FROM pg_database")}:
        migrate(cluster.create_database(EMPTY), folder)
    name = f"big_{runs}_{mode}"
    cluster.execute(f'DROP DATABASE IF EXISTS "{name}"')
    uri = cluster.create_database(name, template=EMPTY)
    seed(uri, folder)  # artifacts: folder/mltrack-artifacts
    with psycopg.connect(uri) as conn:
        template, artifacts = conn.execute(TEMPLATE_SQL).fetchone()
    started = time.perf_counter()
    clone_runs_postgres(uri, template, runs - SEED_RUNS, artifact_uri=_shared_folder(artifacts, mode, folder))
    cluster.execute("ANALYZE", database=name)
    return uri, time.perf_counter() - started


# --- measurements, each in a child process -----------------------------------------------------

def floor(uri: str) -> dict:
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    count, token = 0, None
    while True:  # a page is what MLflow's server allows at most (50,000 over REST)
        page = client.search_runs(ids, run_view_type=ViewType.ALL, max_results=50_000, page_token=token)
        count += len(page)
        token = page.token
        if not token:
            return {"runs": count}


def audit(uri: str) -> dict:
    from mltrack.pressure.policy import Policy
    from mltrack.pressure.runner import run_checks

    # Default policy but the read deadline: 180 s is a promise to users, not a size limit
    outcome = run_checks(uri, Policy(read_deadline_s=4 * 3600))
    return {"runs": len(outcome.snapshot.runs), "statuses": {r.name: r.status.value for r in outcome.results}}


def pandas(uri: str) -> dict:
    import mlflow

    mlflow.set_tracking_uri(uri)
    frame = mlflow.search_runs(search_all_experiments=True, run_view_type=3, max_results=10_000_000)
    return {"runs": len(frame)}


def child(method: str, uri: str) -> None:
    import mlflow.tracking  # noqa: F401 - time the work, not the import

    import mltrack.pressure.runner  # noqa: F401

    started = time.perf_counter()
    facts = {"floor": floor, "audit": audit, "pandas": pandas}[method](uri)
    facts["seconds"] = time.perf_counter() - started
    # VmHWM: this process's own high-water mark (ru_maxrss would carry the parent's across exec)
    facts["peak_rss_mib"] = _status_mib("self", "VmHWM:")
    print(json.dumps(facts))


def _status_mib(pid: int | str, field: str = "VmRSS:") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure(method: str, uri: str, max_rss_mib: float) -> dict:
    """One measurement in a fresh process, killed (and reported so) past `max_rss_mib`."""
    out_file = tempfile.NamedTemporaryFile("w+", suffix=".json", delete=False)  # noqa: SIM115
    err_file = tempfile.TemporaryFile("w+")  # noqa: SIM115 - a pipe could fill while we poll
    process = subprocess.Popen([sys.executable, __file__, "--child", method, uri], stdout=out_file,
                               stderr=err_file, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, _status_mib(process.pid))
        if peak > max_rss_mib:
            process.kill()
            process.wait()
            return {"killed": True, "peak_rss_mib": peak}
        time.sleep(0.2)
    err_file.seek(0)
    stderr = err_file.read()
    out_file.seek(0)
    text = out_file.read()
    os.unlink(out_file.name)
    if process.returncode != 0:
        return {"error": stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {process.returncode}"}
    return json.loads(text.strip().splitlines()[-1])


def _line(name: str, got: dict) -> str:
    if got.get("killed"):
        return f"  {name:<7} killed: RSS passed {got['peak_rss_mib']:.0f} MiB"
    if "error" in got:
        return f"  {name:<7} failed: {got['error'][:200]}"
    return f"  {name:<7} {got['seconds']:9.1f} s   peak RSS {got['peak_rss_mib']:7.0f} MiB   {got['runs']} runs"


def report(label: str, built: float, target: str, args) -> None:
    print(f"\n[{label}] build {built:.1f} s" if built else f"\n[{label}] build cached", flush=True)
    methods = [m for m in args.measure if not (args.skip_pandas and m == "pandas")]
    got = {}
    if args.together:
        # Each measurement in its own process, all at once: on a shared machine they see the same
        # load, so their ratio holds even when the absolute times do not.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(methods)) as pool:
            futures = {m: pool.submit(measure, m, target, args.max_rss_mib) for m in methods}
        for method in methods:
            got[method] = futures[method].result()
            print(_line(method, got[method]), flush=True)
    for method in [] if args.together else methods:
        got[method] = measure(method, target, args.max_rss_mib)
        print(_line(method, got[method]), flush=True)
    if all("seconds" in got.get(m, {}) for m in ("floor", "audit")):
        others = {k: v for k, v in got["audit"]["statuses"].items() if v != "pass"}
        print(f"  audit / floor = {got['audit']['seconds'] / got['floor']['seconds']:.2f}x; "
              f"statuses other than pass: {others or 'none'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[10_000, 100_000],
                        help="store sizes in training runs (default 10000 100000; 1000000 works)")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--artifacts", choices=("shared", "none"), default="shared",
                        help="copies share the template run's artifact folder, or have none")
    parser.add_argument("--worst", action="store_true",
                        help="sqlite: every run also logs its own model and trains on its own data")
    parser.add_argument("--max-rss-mib", type=float, default=3072, help="kill a measurement past this RSS")
    parser.add_argument("--skip-pandas", action="store_true", help="skip mlflow.search_runs into pandas")
    parser.add_argument("--measure", nargs="+", choices=("floor", "audit", "pandas"),
                        default=["floor", "audit", "pandas"], help="what to measure (default all three)")
    parser.add_argument("--together", action="store_true",
                        help="run the measurements at the same time (a loaded machine slows them alike)")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "URI"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if any(n < SEED_RUNS + 1 for n in args.runs):
        parser.error(f"--runs must exceed the {SEED_RUNS} seeded runs")
    if args.backend in ("sqlite", "both"):
        for runs in args.runs:
            uri, built = build_sqlite(runs, args.artifacts, args.cache_dir, args.worst)
            worst = ", a model and a data version per run" if args.worst else ""
            report(f"sqlite, {runs} runs, artifacts {args.artifacts}{worst}", built, uri, args)
    if args.backend in ("postgres", "both"):
        from tests.support.postgres import PostgresUnavailable, start_postgres, start_server

        try:
            cluster = start_postgres()
        except PostgresUnavailable as exc:
            raise SystemExit(f"bench_big_store: {exc}") from None
        work = Path(tempfile.mkdtemp(prefix="mltrack-big-pg-", dir=args.cache_dir))
        try:
            for runs in args.runs:
                uri, built = build_postgres(cluster, runs, args.artifacts, work)
                server = start_server(uri, work / f"server-{runs}")
                try:
                    report(f"PostgreSQL via mlflow server --workers 4, {runs} runs, artifacts {args.artifacts}",
                           built, server.url, args)
                finally:
                    server.stop()
        finally:
            cluster.stop()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
