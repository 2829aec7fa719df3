"""What one page of runs costs on a big store: MLflow's offset tokens against keyset pages.

    .venv/bin/python benchmarks/bench_run_paging.py --uri sqlite:///PATH/mlflow.db --runs N [--pages 3]

MLflow's run search sorts the experiment again for every page and walks past the offset its
token holds, so a page's fixed cost grows with how deep the read is. The reader
(stores/paging.iter_run_pages) re-anchors each page on the last start time it saw instead. This
prints, side by side on the same store: a 10-run page at offsets 0, 50% and 90% of the runs
(plain tokens), the same depths as keyset pages, and the memory a 2,000- and a 5,000-run page
costs while MLflow converts it (the reader's page sizes, stores/mlflow_store.py).
Use a store from benchmarks/bench_big_store.py (--cache-dir keeps its sqlite stores).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", required=True)
    parser.add_argument("--runs", type=int, required=True, help="how many runs the store holds")
    parser.add_argument("--pages", type=int, default=3, help="repeats of each timed page")
    args = parser.parse_args()

    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient
    from mlflow.utils.search_utils import SearchUtils

    client = MlflowClient(tracking_uri=args.uri)
    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL, max_results=50_000)]
    search = lambda **kw: client.search_runs(ids, run_view_type=ViewType.ALL, **kw)  # noqa: E731
    search(max_results=1)  # connect and warm the page cache
    total = args.runs
    print(f"store: {total} runs in {len(ids)} experiments ({args.uri.split(':', 1)[0]})")
    middle = None
    for share in (0.0, 0.5, 0.9):
        offset = int(total * share)
        plain, keyset = [], []
        for _ in range(args.pages):
            started = time.perf_counter()
            page = search(max_results=10, page_token=SearchUtils.create_page_token(offset) if offset else None)
            plain.append(time.perf_counter() - started)
            anchor = page[0].info.start_time  # the same depth, reached by the start time instead
            started = time.perf_counter()
            search(max_results=10, filter_string=f"attributes.start_time <= {anchor}")
            keyset.append(time.perf_counter() - started)
        middle = anchor if share == 0.5 else middle
        print(f"  10-run page at {share:>4.0%} deep: offset token {statistics.median(plain):6.2f} s   "
              f"keyset {statistics.median(keyset):6.2f} s")
    for size in (2_000, 5_000):
        before = _rss_mib()
        started = time.perf_counter()
        page = search(max_results=size, filter_string=f"attributes.start_time <= {middle}")
        spent = time.perf_counter() - started
        during = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  {size}-run keyset page: {spent:6.2f} s, {len(page)} runs, RSS {before:.0f} -> {_rss_mib():.0f} MiB "
              f"(peak so far {during:.0f} MiB)")
        del page


if __name__ == "__main__":
    main()
