"""What the reader's run id -> logged models index costs, held in a dict against spilled.

    .venv/bin/python benchmarks/bench_logged_models.py [--models 100000]

MLflow 3 keeps logged models under the experiment, so the reader lists them before the runs
(stores/logged_models_by_run.py). Prints the traced memory per model of a plain dict of
records (what the reader held before) and of the index with its default spill threshold, the
time to fill and to look every run up, and the dict's cost extrapolated to a million models.
tracemalloc sees Python's allocations; sqlite's page cache (2 MiB by default) is outside it.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from mltrack.model import LoggedModelRecord
from mltrack.stores.logged_models_by_run import LoggedModelsByRun


def _records(count: int):
    env = ("conda.yaml", "python_env.yaml", "requirements.txt")
    for i in range(count):  # fresh strings per model, as MLflow's entities hand them over
        yield f"{i:032x}", LoggedModelRecord(model_id=f"m-{i:032x}", name=f"model-{i % 1000}-{i}",
                                              status="READY", environment_files=env)


def _measure(kind: str, count: int, traced: bool) -> tuple[float, float, float]:
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    if kind == "dict":
        held: dict[str, list[LoggedModelRecord]] = {}
        for run, record in _records(count):
            held.setdefault(run, []).append(record)
        fill = time.perf_counter() - started
        started = time.perf_counter()
        found = 0
        for start in range(0, count, 5_000):  # a page of runs at a time, as the reader does
            page = [f"{i:032x}" for i in range(start, min(count, start + 5_000))]
            found += sum(len(held.get(r, ())) for r in page)
    else:
        index = LoggedModelsByRun()
        for run, record in _records(count):
            index.add(run, record)
        fill = time.perf_counter() - started
        started = time.perf_counter()
        found = 0
        for start in range(0, count, 5_000):
            page = [f"{i:032x}" for i in range(start, min(count, start + 5_000))]
            found += sum(len(v) for v in index.get_many(page).values())
    lookup = time.perf_counter() - started
    current = 0
    if traced:
        current, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert found == count
    return current / count, fill, lookup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100_000)
    args = parser.parse_args()
    for kind in ("dict", "spilled"):
        per_model, _, _ = _measure(kind, args.models, traced=True)
        _, fill, lookup = _measure(kind, args.models, traced=False)  # times without tracing
        print(f"{kind:<8} {args.models} models: {per_model:7.1f} B a model held "
              f"(x 1,000,000 = {per_model * 1e6 / 2**20:6.0f} MiB), fill {fill:5.2f} s, "
              f"look up every run, page by page {lookup:5.2f} s")


if __name__ == "__main__":
    main()
