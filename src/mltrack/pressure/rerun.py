"""recovery's optional re-run: re-train the best run from its logged params and read the metric.

Opt-in (`rerun_command` in the policy). The command, not mltrack, trains - and it must never
write to the audited store: it runs against a scratch local store (a sqlite file in a temporary
directory, deleted afterwards) named by MLFLOW_TRACKING_URI, MLTRACK_TRACKING_URI and the
`{tracking_uri}` placeholder. Param values come from the store, so they are substituted after
`shlex.split`, each into its own argument: a value like `sgd --output-dir /etc` stays one
argument and never becomes options.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from mltrack.model import RunRecord
from mltrack.pressure.base import GatherContext
from mltrack.pressure.evidence import describe_error

TRACKING_URI_PLACEHOLDER = "tracking_uri"


def rerun_arguments(command: str, params: dict[str, str], tracking_uri: str) -> list[str]:
    """The argument list: split the configured command first, then fill `{param}` placeholders
    inside each argument (a value never splits into several). Without placeholders, every param
    is appended as `--key value`. Raises KeyError / ValueError for a bad placeholder."""
    args = shlex.split(command)
    values = {**params, TRACKING_URI_PLACEHOLDER: tracking_uri}
    if any("{" in arg for arg in args):
        return [arg.format_map(values) if "{" in arg else arg for arg in args]
    for key, value in sorted(params.items()):
        args += [f"--{key}", str(value)]
    return args


def rerun(ctx: GatherContext, run: RunRecord) -> dict[str, Any]:
    """Re-train from the logged params into a scratch store; the command prints
    `<metric>=<value>` (or a JSON object holding the metric) on its last line."""
    policy = ctx.policy
    scratch_experiment = f"mltrack-rerun-{run.run_id[:8]}"
    with tempfile.TemporaryDirectory(prefix="mltrack-rerun-") as scratch:
        scratch_uri = f"sqlite:///{Path(scratch) / 'rerun.db'}"
        try:
            args = rerun_arguments(policy.rerun_command or "", dict(run.params), scratch_uri)
        except (KeyError, ValueError, IndexError) as exc:
            return {"ok": False, "error": f"rerun_command names a param the run lacks: {exc}"}
        env = {**os.environ, "MLFLOW_TRACKING_URI": scratch_uri, "MLTRACK_TRACKING_URI": scratch_uri,
               "MLFLOW_REGISTRY_URI": scratch_uri, "MLFLOW_EXPERIMENT_NAME": scratch_experiment,
               "MLFLOW_EXPERIMENT_ID": "", "MLFLOW_RUN_ID": "", "MLTRACK_RERUN_OF": run.run_id}
        env = {k: v for k, v in env.items() if v != ""}  # no inherited run/experiment to resume
        started = time.perf_counter()
        try:
            proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=scratch,
                                  timeout=policy.timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return {"ok": False, "error": describe_error(exc), "scratch_store": "temporary (deleted)"}
    facts: dict[str, Any] = {"scratch_store": "temporary (deleted)", "scratch_experiment": scratch_experiment,
                             "exit_code": proc.returncode, "seconds": round(time.perf_counter() - started, 2)}
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
