"""The opt-in full load of a model, in a separate short-lived process.

Loading an MLflow model unpickles it, which runs whatever code its author put in it. mltrack does
that only when asked (`--load-models`, `--mltrack-load-models`, policy `load_models = true`), and
then never in its own process: a child Python loads the model, prints its facts as JSON on a
private pipe, and exits. The parent reads JSON only; it never unpickles. A child that runs past
the timeout is killed with its whole process group.

Run as `python -m mltrack.stores.model_load PATH FD` (the child side). It lives in the store layer
because the child loads the way the vendor does (`mlflow.pytorch`, `mlflow.pyfunc`, `torch.load`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mltrack.model_verify import FULL_LOAD, magic

DEFAULT_TIMEOUT_S = 120.0


def load_in_subprocess(path: Path, timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """Facts of loading `path` in a child process: loaded, flavor, model_class, pid, load_s,
    or an error. Never raises for a model that does not load."""
    read_end, write_end = os.pipe()
    started = time.perf_counter()
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "mltrack.stores.model_load", str(path), str(write_end)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            pass_fds=(write_end,), start_new_session=True,  # its own group: a timeout kills it all
        )
    except OSError as exc:
        os.close(read_end)
        os.close(write_end)
        return {"loaded": False, "verified_by": FULL_LOAD, "error": f"could not start the loader: {exc}"}
    os.close(write_end)
    try:
        _, stderr = child.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(child)
        os.close(read_end)
        return {"loaded": False, "verified_by": FULL_LOAD, "pid": child.pid,
                "error": f"load did not finish within {timeout_s:g} s (loader killed)"}
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read().decode("utf-8", errors="replace")
    facts = _parse(output)
    facts.setdefault("pid", child.pid)
    facts["verified_by"] = FULL_LOAD
    facts["subprocess_s"] = round(time.perf_counter() - started, 3)
    if "loaded" not in facts:
        last = stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:] or ["no output"]
        facts.update(loaded=False, error=f"loader exited with code {child.returncode}: {last[0][:200]}")
    return facts


def _kill_group(child: subprocess.Popen) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()


def _parse(output: str) -> dict[str, Any]:
    for line in reversed(output.strip().splitlines()):
        try:
            facts = json.loads(line)
        except ValueError:
            continue
        if isinstance(facts, dict):
            # The model may have written to the pipe too: keep only the fields we produce.
            return {k: facts[k] for k in ("loaded", "flavor", "model_class", "pid", "load_s", "error") if k in facts}
    return {}


# --------------------------------------------------------------------------- the child side


def _load(path: Path) -> dict[str, Any]:
    """Load as the model's owner would: the PyTorch flavor with torch, else pyfunc; a bare
    weights file with torch.load. Libraries are imported before the clock starts, so `load_s`
    is the load itself, comparable with a serving process that has them loaded already."""
    try:
        if path.is_file() and magic(path) == "pickle":  # a bare pickle (joblib/sklearn style)
            import pickle

            def load() -> Any:
                with open(path, "rb") as handle:
                    return pickle.load(handle)  # noqa: S301 - the opt-in full load, in this child only

            flavor = "pickle-file"
        elif path.is_file():
            import torch

            flavor, load = "torch-file", lambda: torch.load(str(path), map_location="cpu", weights_only=False)
        else:
            import yaml

            flavors = (yaml.safe_load((path / "MLmodel").read_text(encoding="utf-8")) or {}).get("flavors") or {}
            if "pytorch" in flavors:
                import mlflow.pytorch

                flavor, load = "pytorch", lambda: mlflow.pytorch.load_model(str(path))
            else:
                import mlflow.pyfunc

                flavor, load = "pyfunc", lambda: mlflow.pyfunc.load_model(str(path))
        started = time.perf_counter()
        model = load()
        facts = {"loaded": True, "flavor": flavor, "model_class": type(model).__name__,
                 "load_s": round(time.perf_counter() - started, 3)}
    except Exception as exc:  # noqa: BLE001 - a model that does not load is the finding
        text = str(exc).strip().splitlines()
        facts = {"loaded": False, "error": f"load failed: {type(exc).__name__}: {text[0] if text else ''}"[:300]}
    facts["pid"] = os.getpid()
    return facts


def main(argv: list[str]) -> int:
    path, fd = Path(argv[0]), int(argv[1])
    result = _load(path)
    from mltrack.uri import redact

    if "error" in result:
        result["error"] = redact(result["error"])
    with os.fdopen(fd, "w", encoding="utf-8") as pipe:
        pipe.write("\n" + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
