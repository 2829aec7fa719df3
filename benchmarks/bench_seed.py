"""How long `mltrack seed` takes: into sqlite directly, and through a real `mlflow server`
with 1 and with 4 writer threads, measured side by side in one run.

    .venv/bin/python benchmarks/bench_seed.py [--runs 120] [--skip-http]

Targets (2 cores): 120 runs in under 90 s into sqlite, under 180 s through a server.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support.mlflow_server

from mltrack.seed.recipe import TrainConfig, train  # noqa: E402
from mltrack.seed.seeder import seed_store  # noqa: E402
from tests.support.mlflow_server import start_mlflow_server  # noqa: E402

TARGETS = {"sqlite": 90.0, "http": 180.0}


def _line(label: str, runs: int, seconds: float, target: float | None) -> None:
    scaled = f", target {target:.0f} s for 120 runs" if target else ""
    print(f"{label:<28} {runs:>5} runs {seconds:>7.1f} s {runs / seconds:>6.1f} runs/s{scaled}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=120)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    for _ in range(20):
        train(TrainConfig())
    print(f"one training run (6 epochs, 480-720 rows): {(time.perf_counter() - started) / 20:.3f} s")

    with tempfile.TemporaryDirectory(prefix="bench-seed-") as tmp:
        root = Path(tmp)
        (root / "sqlite").mkdir()
        summary = seed_store(f"sqlite:///{root / 'sqlite' / 'mlflow.db'}", runs=args.runs)
        _line("sqlite (1 writer)", args.runs, summary.elapsed_seconds, TARGETS["sqlite"])
        if args.skip_http:
            return 0
        for workers in (1, 4):
            folder = root / f"server-{workers}"
            server = start_mlflow_server(f"sqlite:///{folder / 'mlflow.db'}", folder / "artifacts", folder)
            try:
                summary = seed_store(server.url, runs=args.runs, workers=workers)
            finally:
                server.stop()
            _line(f"http server ({workers} writers)", args.runs, summary.elapsed_seconds,
                  TARGETS["http"] if workers == 4 else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
