"""recovery's optional re-run: re-train the best run from its logged params and read the metric.

Opt-in (`rerun_command` in the policy). The command, not mltrack, trains; it is pointed at a
scratch experiment so it never logs into the audited one.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from typing import Any

from mltrack.model import RunRecord
from mltrack.pressure.base import GatherContext
from mltrack.pressure.evidence import describe_error


def rerun(ctx: GatherContext, run: RunRecord) -> dict[str, Any]:
    """Re-train from the logged params. `rerun_command` may name params as `{learning_rate}`;
    otherwise every param is appended as `--key value`. The command runs with
    MLFLOW_EXPERIMENT_NAME set to a scratch experiment (so it never logs into the audited one)
    and prints `<metric>=<value>` (or a JSON object holding the metric) on its last line."""
    policy = ctx.policy
    command = policy.rerun_command or ""
    if "{" in command:
        try:
            args = shlex.split(command.format_map(dict(run.params)))
        except (KeyError, ValueError) as exc:
            return {"ok": False, "error": f"rerun_command names a param the run lacks: {exc}"}
    else:
        args = shlex.split(command)
        for key, value in sorted(run.params.items()):
            args += [f"--{key}", str(value)]
    scratch = f"mltrack-rerun-{run.run_id[:8]}"
    env = {**os.environ, "MLFLOW_EXPERIMENT_NAME": scratch, "MLTRACK_RERUN_OF": run.run_id}
    if ctx.adapter is not None and getattr(ctx.adapter, "uri", None) is not None:
        env["MLFLOW_TRACKING_URI"] = ctx.adapter.uri.raw
    started = time.perf_counter()
    try:
        proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ctx.workdir,
                              timeout=policy.timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"ok": False, "error": describe_error(exc), "scratch_experiment": scratch}
    facts: dict[str, Any] = {"scratch_experiment": scratch, "exit_code": proc.returncode,
                             "seconds": round(time.perf_counter() - started, 2)}
    if proc.returncode != 0:
        facts.update(ok=False, error=(proc.stderr or proc.stdout).strip()[-400:])
        return facts
    value = parse_metric(proc.stdout, policy.metric)
    facts.update(ok=value is not None, metric=value)
    if value is None:
        facts["error"] = f"the command printed no {policy.metric}=<value> line"
    return facts


def parse_metric(stdout: str, metric: str) -> float | None:
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        try:
            if line.startswith("{"):
                return float(json.loads(line)[metric])
            if line.startswith(f"{metric}="):
                return float(line.split("=", 1)[1])
        except (ValueError, KeyError, TypeError):
            continue
    return None
