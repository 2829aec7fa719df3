"""Evidence gathering that talks to the store: downloads, model loading, artifact listings.

Failures that mean "this artifact is broken" become evidence (the judge fails the check);
failures that mean "the store is gone" are re-raised as `StoreUnreachable` so the runner turns
this and every remaining check into an `error` instead of a misleading `fail`.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from mltrack.errors import StoreUnreachable
from mltrack.model import ArtifactFile, RunRecord
from mltrack.pressure.base import GatherContext
from mltrack.uri import redact

_CONNECTION_WORDS = ("connection refused", "max retries exceeded", "failed to establish",
                     "connection aborted", "remote end closed", "timed out", "name or service not known")
MODEL_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".safetensors", ".pkl", ".onnx")


def is_connection_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (ConnectionError, StoreUnreachable, TimeoutError)):
            return True
        if any(word in str(seen).lower() for word in _CONNECTION_WORDS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def reraise_if_store_down(exc: BaseException) -> None:
    if is_connection_error(exc):
        raise StoreUnreachable(f"the store stopped answering: {redact(_one_line(exc))}") from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def describe_error(exc: BaseException) -> str:
    return redact(_one_line(exc))


# --------------------------------------------------------------------------- models


def fetch_and_load(ctx: GatherContext, model_uri: str, label: str) -> dict[str, Any]:
    """Download a model into the scratch directory and load it; time both. Never raises for a
    broken model (that is evidence), only for a store that is gone."""
    dst = ctx.workdir / label
    dst.mkdir(parents=True, exist_ok=True)
    facts: dict[str, Any] = {"model_uri": model_uri, "downloaded": False, "loaded": False}
    started = time.perf_counter()
    try:
        local = Path(ctx.adapter.download_model(model_uri, dst))
    except Exception as exc:  # noqa: BLE001 - any failure to download is a finding
        reraise_if_store_down(exc)
        facts["error"] = f"download failed: {describe_error(exc)}"
        facts["download_s"] = round(time.perf_counter() - started, 3)
        return facts
    facts["downloaded"] = True
    facts["download_s"] = round(time.perf_counter() - started, 3)
    facts["bytes"] = _tree_bytes(local)
    loaded_at = time.perf_counter()
    facts.update(load_model_dir(local))
    facts["load_s"] = round(time.perf_counter() - loaded_at, 3)
    facts["answer_s"] = round(time.perf_counter() - started, 3)
    shutil.rmtree(dst, ignore_errors=True)
    return facts


def load_model_dir(path: Path) -> dict[str, Any]:
    """Load a downloaded MLflow model: the PyTorch flavor with torch, else pyfunc; without
    torch, verify the files and say so (a download is weaker evidence than a load)."""
    mlmodel = path / "MLmodel"
    if not mlmodel.is_file():
        weights = [p for p in path.rglob("*") if p.suffix in MODEL_SUFFIXES]
        if not weights:
            return {"loaded": False, "error": f"no MLmodel file and no weights in {path.name}"}
        return _load_torch_file(weights[0])
    flavors = mlmodel.read_text(encoding="utf-8", errors="replace")
    try:
        import torch  # noqa: F401
    except ImportError:
        return {"loaded": False, "load_note": "torch is not installed: download verified, weights not loaded",
                "verified_files": True}
    try:
        if "pytorch:" in flavors:
            import mlflow.pytorch

            model = mlflow.pytorch.load_model(str(path))
            return {"loaded": True, "flavor": "pytorch", "model_class": type(model).__name__}
        import mlflow.pyfunc

        model = mlflow.pyfunc.load_model(str(path))
        return {"loaded": True, "flavor": "pyfunc", "model_class": type(model).__name__}
    except Exception as exc:  # noqa: BLE001 - weights that do not load are the finding
        return {"loaded": False, "error": f"load failed: {describe_error(exc)}"}


def _load_torch_file(file: Path) -> dict[str, Any]:
    try:
        import torch
    except ImportError:
        return {"loaded": False, "load_note": "torch is not installed: download verified, weights not loaded",
                "verified_files": True}
    try:
        torch.load(str(file), map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001
        return {"loaded": False, "error": f"load failed: {describe_error(exc)}"}
    return {"loaded": True, "flavor": "torch-file", "file": file.name}


def _tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- artifact listings


def local_root(uri: str) -> Path | None:
    """A run's artifact URI as a local directory, when the artifact store is the local disk."""
    if not uri:
        return None
    if uri.startswith("file:"):
        path = Path(unquote(urlsplit(uri).path))
    elif uri.startswith("/"):
        path = Path(uri)
    else:
        return None
    return path


def artifacts_of(ctx: GatherContext, run: RunRecord) -> tuple[tuple[ArtifactFile, ...] | None, str]:
    """A run's artifact files (run artifacts + logged models) and how they were listed.
    Listings are cached in the context so several checks list each run once."""
    cache = ctx.cache.setdefault("artifacts", {})
    if run.run_id in cache:
        return cache[run.run_id]
    if run.artifacts is not None:
        found = (run.artifacts, "snapshot")
    elif (root := local_root(run.artifact_uri)) is not None:
        found = (_walk_local(run, root), "local disk")
    elif ctx.adapter is None:
        found = (None, "not listed (offline)")
    else:
        found = _list_remote(ctx, run)
    cache[run.run_id] = found
    return found


def prefetch_artifacts(ctx: GatherContext, runs: list[RunRecord], workers: int = 8) -> None:
    """List many runs' artifacts concurrently when they live behind an API (HTTP round trips
    dominate); local listings and cached runs are left to `artifacts_of`."""
    cache = ctx.cache.setdefault("artifacts", {})
    remote = [r for r in runs if r.run_id not in cache and r.artifacts is None
              and local_root(r.artifact_uri) is None and ctx.adapter is not None]
    if not remote:
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mltrack-list") as pool:
        for run, found in zip(remote, pool.map(lambda r: _list_remote(ctx, r), remote)):
            cache[run.run_id] = found


def _list_remote(ctx: GatherContext, run: RunRecord) -> tuple[tuple[ArtifactFile, ...] | None, str]:
    try:
        return tuple(ctx.adapter.list_artifacts(run.run_id)), "store API"
    except Exception as exc:  # noqa: BLE001
        if is_connection_error(exc):
            raise StoreUnreachable(f"the store stopped answering: {describe_error(exc)}") from None
        return None, f"listing failed: {describe_error(exc)}"


def _walk_local(run: RunRecord, root: Path) -> tuple[ArtifactFile, ...]:
    files = [ArtifactFile(str(p.relative_to(root)), p.stat().st_size) for p in _files(root)]
    # MLflow 3 logged models live beside the runs: <experiment root>/models/<model_id>/artifacts
    experiment_root = root.parent.parent if root.name == "artifacts" else root.parent
    for model_id in run.logged_model_ids:
        model_root = experiment_root / "models" / model_id / "artifacts"
        files += [ArtifactFile(f"models/{model_id}/{p.relative_to(model_root)}", p.stat().st_size)
                  for p in _files(model_root)]
    return tuple(files)


def _files(root: Path):
    if not root.is_dir():
        return
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    yield Path(entry.path)


def artifact_bytes(files: tuple[ArtifactFile, ...]) -> int:
    return sum(f.size or 0 for f in files)
