"""The whole pressure suite on an N-run store vs the floor (one paginated read of all runs) vs a
naive approach that queries the store separately for each check with `mlflow.search_runs`.

    .venv/bin/python benchmarks/bench_suite.py [--runs 10000] [--http] [--cache-dir DIR]

Builds (or reuses, cached under the temp dir) the reference store seeded with 24 really trained
runs, then grows its training experiment to N runs by copying one reference run row for row
(tests/support/bulk_runs.py); every copy points at that run's artifact folder, so every run has
real files to list without a file per run (hard links per run hit ext4's 65,000-link limit at
100,000 runs). benchmarks/bench_big_store.py goes to 1M runs and PostgreSQL. Each measurement runs in a fresh process (peak RSS is that process's high-water mark):
  floor  - MlflowClient.search_runs over all experiments, paged to the end (nothing else)
  suite  - mltrack.pressure.runner.run_checks(uri, Policy()): snapshot + all ten checks,
           including downloading and loading three models with torch
  naive  - one mlflow.search_runs (pandas) query per check, artifact listings per run through
           the client, the same model downloads
Figures are printed; the machine is shared, so compare ratios from one invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests.support: seeded stores, bulk runs, the server fixture

SEED_RUNS = 24


def build_store(runs: int, cache_dir: Path) -> tuple[str, Path, float]:
    """The reference store grown to `runs` training runs; (uri, db path, build seconds)."""
    from tests.support.bulk_runs import clone_runs
    from tests.support.stores import copy_store, seeded_store

    folder = cache_dir / f"mltrack-bench-suite-{runs}"
    db = folder / "mlflow.db"
    if (folder / "built").exists():
        return f"sqlite:///{db}", db, 0.0
    started = time.perf_counter()
    seeded = seeded_store(cache_dir / "mltrack-bench-seed", None, SEED_RUNS)
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    db = copy_store(seeded, folder).db_path  # artifact locations rewritten to the copy's
    con = sqlite3.connect(db)
    template, artifact_uri = con.execute(
        "SELECT r.run_uuid, r.artifact_uri FROM runs r JOIN experiments e USING (experiment_id) "
        "WHERE e.name = 'mltrack-reference' ORDER BY r.start_time LIMIT 1").fetchone()
    existing = con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    con.close()
    new_ids = clone_runs(db, template, max(0, runs - existing), artifact_uri=artifact_uri)
    (folder / "built").write_text(str(len(new_ids) + existing))
    return f"sqlite:///{db}", db, time.perf_counter() - started


def floor(uri: str) -> dict:
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    count, token = 0, None
    while True:
        page = client.search_runs(ids, run_view_type=ViewType.ALL, max_results=50_000, page_token=token)
        count += len(page)
        token = page.token
        if not token:
            return {"runs": count}


def suite(uri: str) -> dict:
    from mltrack.pressure.policy import Policy
    from mltrack.pressure.runner import run_checks

    outcome = run_checks(uri, Policy())
    return {"runs": len(outcome.snapshot.runs),
            "statuses": {r.name: r.status.value for r in outcome.results},
            "per_check_s": {r.name: r.duration_s for r in outcome.results}}


def naive(uri: str) -> dict:
    """What a hand-written script does: ask the store again for each question."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from mltrack.pressure.evidence import check_model

    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    train, infer = ["mltrack-reference"], ["mltrack-reference-inference"]
    scratch = Path(tempfile.mkdtemp())  # models verified by the suite's own check: only querying differs

    def load(model_uri: str) -> None:
        check_model(Path(mlflow.artifacts.download_artifacts(
            artifact_uri=client.get_model_version_download_uri(*model_uri.split("/")[1:]), dst_path=str(scratch))))

    def every(**kw):
        return mlflow.search_runs(experiment_names=train, max_results=100_000, **kw)

    name = "mltrack-reference-classifier"
    best = every(order_by=["metrics.val_acc DESC"]).iloc[0]                      # recovery
    client.list_artifacts(best.run_id)
    prod = client.get_model_version_by_alias(name, "production")                 # production-model
    load(f"x/{name}/{prod.version}")
    every().groupby("tags.mlflow.user")["metrics.val_acc"].max()                 # multi-user
    every().groupby("params.data_hash")["metrics.val_acc"].agg(["max", "mean"])  # data-change
    load(f"x/{name}/2")                                                          # rollback
    for _, row in mlflow.search_runs(experiment_names=infer).iterrows():          # prediction-audit
        client.get_model_version(name, row["params.model_version"])
        client.get_run(row["params.training_run_id"])
    every(filter_string="metrics.val_acc > 0")                                   # hparam-search
    cutoff = int(time.time() * 1000) - 30 * 86_400_000
    listed = 0
    for run_id in every(filter_string=f"attributes.start_time < {cutoff}").run_id:  # long-term-repro
        client.list_artifacts(run_id)
        listed += 1
    for run_id in every().run_id:                                                # artifact-cleanup
        for item in client.list_artifacts(run_id):
            if item.is_dir:
                client.list_artifacts(run_id, item.path)
    for exp in client.search_experiments():                                      # onboarding
        mlflow.search_runs(experiment_ids=[exp.experiment_id], max_results=100_000)
    return {"old_runs_listed": listed}


def child(method: str, uri: str) -> None:
    import mlflow.tracking  # noqa: F401 - every approach needs the client; time the work, not the import

    import mltrack.pressure.runner  # noqa: F401

    started = time.perf_counter()
    facts = {"floor": floor, "suite": suite, "naive": naive}[method](uri)
    facts["seconds"] = time.perf_counter() - started
    facts["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(facts))


def measure(method: str, uri: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", method, uri], capture_output=True, text=True,
                         check=False, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if out.returncode != 0:
        raise SystemExit(f"{method} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="training runs in the store (default 10000)")
    parser.add_argument("--http", action="store_true", help="measure through a real `mlflow server` too")
    parser.add_argument("--skip-naive", action="store_true", help="skip the (slow) naive approach")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "URI"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    uri, db, built = build_store(args.runs, args.cache_dir)
    print(f"store: {uri} ({'built in %.1f s' % built if built else 'cached'})")
    targets = [("sqlite", uri)]
    server = None
    if args.http:
        from tests.support.mlflow_server import start_mlflow_server

        server = start_mlflow_server(uri, db.parent / "served", db.parent, startup_timeout=180)
        targets.append(("http", server.url))
    try:
        for transport, target in targets:
            methods = ("floor", "suite") if args.skip_naive else ("floor", "suite", "naive")
            print(f"\n[{transport}]", flush=True)
            got = {}
            for m in methods:  # printed as they finish: the naive approach is slow on a big store
                got[m] = measure(m, target)
                print(f"  {m:<6} {got[m]['seconds']:8.2f} s   peak RSS {got[m]['peak_rss_mib']:7.0f} MiB", flush=True)
            fails = {k: v for k, v in got["suite"]["statuses"].items() if v != "pass"}
            print(f"  {got['floor']['runs']} runs; suite statuses other than pass: {fails or 'none'}")
            slowest = sorted(got["suite"]["per_check_s"].items(), key=lambda kv: -kv[1])[:4]
            print("  suite's slowest checks: " + ", ".join(f"{k} {v:.2f} s" for k, v in slowest))
            print(f"  suite / floor = {got['suite']['seconds'] / got['floor']['seconds']:.2f}x (target <= 1.5x)")
            if "naive" in got:
                print(f"  naive / suite = {got['naive']['seconds'] / got['suite']['seconds']:.2f}x (target >= 5x)")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
