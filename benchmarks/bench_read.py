"""Reading every run of an N-run store: mltrack's adapter vs `mlflow.search_runs` into pandas.

    .venv/bin/python benchmarks/bench_read.py [--runs 10000] [--no-server] [--cache-dir DIR]

Builds (or reuses, cached under the temp dir) an sqlite store of N real MLflow runs (one run
written by MLflow, copied row for row: tests/support/bulk_runs.py), then reads all of it side
by side, over direct sqlite and through a real `mlflow server`, each measurement in a fresh
process: `--repeat` timed reads (best and median printed; the machine is shared, so compare
best times), then one read under tracemalloc for the peak of Python allocations, plus the RSS
high-water growth after imports and connecting. The adapter's figure includes the registry and
logged models; pandas' includes only runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.support (store building, server fixture)

METHODS = ("adapter", "pandas")
LABELS = {"adapter": "mltrack adapter snapshot()", "pandas": "mlflow.search_runs -> pandas"}


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def build_store(runs: int, cache_dir: Path) -> tuple[str, float, bool]:
    """An sqlite store of `runs` runs in one experiment; returns (uri, build seconds, cached)."""
    from tests.support.bulk_runs import clone_runs, write_template_run

    folder = cache_dir / f"mltrack-bench-read-{runs}"
    db = folder / "mlflow.db"
    uri = f"sqlite:///{db}"
    if (folder / "complete").exists():
        return uri, 0.0, True
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    _, template = write_template_run(uri, "bench", str(folder / "artifacts"))
    clone_runs(db, template, runs - 1)
    (folder / "complete").write_text("ok\n")
    return uri, time.perf_counter() - started, False


def _reader(method: str, uri: str):
    """A function that reads every run once and returns how many it read."""
    if method == "adapter":
        from mltrack.stores import open_store

        store = open_store(uri)
        store.server_version()
        return lambda: len(store.snapshot().runs)
    import mlflow
    from mlflow.entities import ViewType

    mlflow.set_tracking_uri(uri)  # a throwaway process: the global URI is harmless here
    experiment_ids = [e.experiment_id for e in mlflow.search_experiments(view_type=ViewType.ALL)]
    return lambda: len(mlflow.search_runs(experiment_ids, run_view_type=ViewType.ALL,
                                          max_results=10_000_000))


def child(method: str, uri: str, repeat: int) -> None:
    """`repeat` timed reads, then one read under tracemalloc; prints a JSON line."""
    import statistics
    import tracemalloc

    read = _reader(method, uri)
    baseline = _rss_mib()
    times, count = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        count = read()
        times.append(time.perf_counter() - started)
    rss_growth = _rss_mib() - baseline
    tracemalloc.start()
    read()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(json.dumps({"runs": count, "best_s": min(times), "median_s": statistics.median(times),
                      "traced_peak_mib": peak, "rss_growth_mib": rss_growth}))


def measure(method: str, uri: str, repeat: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", method, uri, "--repeat", str(repeat)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{method} on {uri} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(transport: str, uri: str, expected: int, repeat: int) -> dict[str, float]:
    best = {}
    for method in METHODS:
        result = measure(method, uri, repeat)
        if result["runs"] != expected:
            raise SystemExit(f"{method} read {result['runs']} runs, expected {expected}")
        best[method] = result["best_s"]
        print(f"{transport:<7} {LABELS[method]:<30} {result['best_s']:8.2f} {result['median_s']:8.2f} "
              f"{result['runs'] / result['best_s']:9.0f} {result['traced_peak_mib']:10.1f} "
              f"{result['rss_growth_mib']:9.1f}", flush=True)
    print(f"{transport:<7} adapter / pandas (best times): {best['adapter'] / best['pandas']:.2f}",
          flush=True)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the store (default 10000)")
    parser.add_argument("--no-server", action="store_true", help="skip the HTTP measurements")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()),
                        help="where the generated store is kept between runs")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed reads per method and transport; the best is compared (default 3)")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "URI"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, max(1, args.repeat))
        return
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    uri, build_s, cached = build_store(args.runs, args.cache_dir)
    print(f"store: {args.runs} runs at {uri} "
          f"({'cached' if cached else f'built in {build_s:.1f} s'})")
    print(f"{'via':<7} {'method':<30} {'best s':>8} {'median s':>8} {'runs/s':>9} "
          f"{'traced MiB':>10} {'RSS +MiB':>9}")
    report("sqlite", uri, args.runs, args.repeat)
    if args.no_server:
        return
    from tests.support.mlflow_server import start_mlflow_server

    scratch = Path(tempfile.mkdtemp(prefix="mltrack-bench-server-"))
    server = start_mlflow_server(uri, scratch / "artifacts", scratch, startup_timeout=180)
    try:
        report("http", server.url, args.runs, args.repeat)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
