"""Would a background torch import while the snapshot is read (the runner's former "prewarm")
pay off?

    .venv/bin/python benchmarks/bench_prewarm.py --tracking-uri URI [--repeat 5] [--load-models]

Runs the checks that load models (recovery, production-model, rollback) in fresh
processes, alternately with a thread importing torch before the run (what the runner and the
pytest plugin used to do) and without, and prints the median wall time of each and whether
torch was imported at all without it. torch is only needed in mltrack's own process for the
weights-only load of a plain tensor archive (stores/model_access.py); the opt-in full load
imports it in its own child process. On the reference store torch is never imported without
the prewarm, and the prewarm made runs slower (it competes for the CPU and holds torch's
memory), so it was dropped (issue 12 item 5).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time
started = time.perf_counter()
if sys.argv[2] == "on":
    import threading
    threading.Thread(target=lambda: __import__("torch"), daemon=True).start()
from mltrack.pressure.policy import Policy
from mltrack.pressure.runner import run_checks
outcome = run_checks(sys.argv[1], Policy(load_models=sys.argv[3] == "1"), "recovery,production-model,rollback")
print(json.dumps({"wall_s": time.perf_counter() - started, "torch": "torch" in sys.modules,
                  "statuses": [r.status.value for r in outcome.results]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--load-models", action="store_true")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"on": [], "off": []}
    torch_without = set()
    for _ in range(args.repeat):
        for mode in ("on", "off"):
            done = subprocess.run([sys.executable, "-c", CHILD, args.tracking_uri, mode, str(int(args.load_models))],
                                  capture_output=True, text=True, check=True)
            facts = json.loads(done.stdout.strip().splitlines()[-1])
            times[mode].append(facts["wall_s"])
            if mode == "off":
                torch_without.add(facts["torch"])
    for mode, label in (("on", "with prewarm"), ("off", "without")):
        print(f"{label:<14} {statistics.median(times[mode]):7.2f} s  median of {len(times[mode])} "
              f"(min {min(times[mode]):.2f}, max {max(times[mode]):.2f})")
    print(f"torch imported without the prewarm: {sorted(torch_without)}")


if __name__ == "__main__":
    main()
