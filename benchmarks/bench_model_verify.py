"""What it costs to answer "is this model there and intact?" without running it, and with the
opt-in full load in a child process.

    .venv/bin/python benchmarks/bench_model_verify.py --tracking-uri URI [--model NAME] [--repeat 5]

Downloads `models:/NAME@production` once (default: the reference store's model, as written by
`mltrack seed`), then times, in this process:

  verify       mltrack.model_verify on the downloaded directory (what audits do by default)
  full load    mltrack.stores.model_load in a child process: wall time, and the load itself as the
               child measures it after its imports (what `answer_s` counts with --load-models)

The production-model check compares download + verify (+ the load itself) with
`answer_target_s` (30 s); this prints each part so the target stays meaningful in both modes.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--model", default="mltrack-reference-classifier")
    parser.add_argument("--alias", default="production")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from mltrack.stores.model_access import check_model as verify_model_dir  # what audits call
    from mltrack.stores.model_load import load_in_subprocess
    from mltrack.stores import open_store

    adapter = open_store(args.tracking_uri)
    with tempfile.TemporaryDirectory(prefix="mltrack-bench-verify-") as scratch:
        started = time.perf_counter()
        local = Path(adapter.download_model(f"models:/{args.model}@{args.alias}", Path(scratch)))
        download_s = time.perf_counter() - started
        verify_times, facts = [], {}
        for _ in range(args.repeat):
            started = time.perf_counter()
            facts = verify_model_dir(local)
            verify_times.append(time.perf_counter() - started)
        walls, loads = [], []
        for _ in range(max(1, args.repeat // 2)):
            started = time.perf_counter()
            loaded = load_in_subprocess(local)
            walls.append(time.perf_counter() - started)
            loads.append(loaded.get("load_s", float("nan")))
    adapter.close()
    print(f"model         models:/{args.model}@{args.alias} ({facts.get('verified_by')}, "
          f"{', '.join(w.get('format', '?') for w in facts.get('weights', []))})")
    print(f"download      {download_s:8.3f} s")
    print(f"verify        {statistics.median(verify_times):8.3f} s  (median of {len(verify_times)})")
    print(f"full load     {statistics.median(walls):8.3f} s wall in a child process, of which the load itself "
          f"{statistics.median(loads):.3f} s (median of {len(walls)})")


if __name__ == "__main__":
    main()
