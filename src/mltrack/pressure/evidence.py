"""Evidence gathering that talks to the store: downloads, model verification, artifact listings.

Everything here goes through the store layer's protocols: the adapter (`StoreAdapter`), its
models (`ModelAccess`: download, verify without running, the opt-in load in a child) and, for a
local artifact store, `stores.local_artifacts`; no vendor SDK is imported here.

Failures that mean "this artifact is broken" become evidence (the judge fails the check);
failures that mean "the store is gone" are re-raised as `StoreUnreachable` so the runner turns
this and every remaining check into an `error` instead of a misleading `fail`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mltrack.errors import StoreUnreachable
from mltrack.model import ArtifactFile, RunRecord
from mltrack.pressure.base import GatherContext
from mltrack.stores.local_artifacts import local_root, walk_local
from mltrack.stores.model_access import DEFAULT_TIMEOUT_S, model_access
from mltrack.stores.model_access import check_model as _check_model
from mltrack.uri import redact

__all__ = ["MODEL_SUFFIXES", "artifact_bytes", "artifacts_of", "check_model", "describe_error",
           "fetch_and_load", "is_connection_error", "local_root", "prefetch_artifacts", "reraise_if_store_down"]

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
    """Download a model into the scratch directory and verify it; time both. Verification never
    runs the model (`mltrack.model_verify`); with the policy's `load_models` it is also loaded,
    in a child process. Never raises for a broken model (that is evidence), only for a store
    that is gone."""
    dst = ctx.workdir / label
    dst.mkdir(parents=True, exist_ok=True)
    facts: dict[str, Any] = {"model_uri": model_uri, "downloaded": False, "verified": False, "loaded": False}
    started = time.perf_counter()
    try:
        models = model_access(ctx.adapter)
        local = models.download_model(model_uri, dst)
    except Exception as exc:  # noqa: BLE001 - any failure to download is a finding
        reraise_if_store_down(exc)
        facts["error"] = f"download failed: {describe_error(exc)}"
        facts["download_s"] = round(time.perf_counter() - started, 3)
        return facts
    facts["downloaded"] = True
    facts["download_s"] = round(time.perf_counter() - started, 3)
    facts["bytes"] = _tree_bytes(local)
    checked_at = time.perf_counter()
    listed = _listed_files(ctx, model_uri, models.logged_model_of(ctx.snapshot, model_uri))
    facts.update(models.verify_model(local, load_models=ctx.policy.load_models, listed=listed,
                                     timeout_s=ctx.policy.timeout_s))
    facts["check_s"] = round(time.perf_counter() - checked_at, 3)
    # Time to answer "which model is in production, and are its weights intact": download plus
    # verification; with a full load, the load itself (`load_s`, measured in the child after its
    # imports) instead of the child's start-up, which a serving process does not pay per model.
    spent = facts["download_s"] + facts["check_s"]
    if "subprocess_s" in facts:
        spent += facts.get("load_s", 0.0) - facts["subprocess_s"]
    facts["answer_s"] = round(spent, 3)
    shutil.rmtree(dst, ignore_errors=True)
    return facts


def check_model(path: Path, *, load_models: bool = False, listed: Mapping[str, int | None] | None = None,
                timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """Verify a downloaded model without running it; with `load_models`, also load it in a child
    process (the store layer's `ModelAccess.verify_model`, for a file that came another way than
    `fetch_and_load`). `loaded` is True only after a real load; `verified_by` names how."""
    return _check_model(path, load_models=load_models, listed=listed, timeout_s=timeout_s)


def _listed_files(ctx: GatherContext, model_uri: str,
                  behind: tuple[str | None, str | None]) -> dict[str, int | None] | None:
    """The model's files as the store lists them (path -> size), when the snapshot names the
    logged model behind `model_uri` (`behind`: its id and run) and the run's listing is at hand;
    else None."""
    model_id, run_id = behind
    run = ctx.snapshot.run(run_id) if run_id else None
    if not model_id or run is None:
        return None
    try:
        files, _ = artifacts_of(ctx, run)
    except StoreUnreachable:
        raise
    except Exception:  # noqa: BLE001 - no listing: the files are still checked
        return None
    prefix = f"models/{model_id}/"
    listed = {f.path[len(prefix):]: f.size for f in files or () if f.path.startswith(prefix)}
    return listed or None


def _tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- artifact listings


def artifacts_of(ctx: GatherContext, run: RunRecord) -> tuple[tuple[ArtifactFile, ...] | None, str]:
    """A run's artifact files (run artifacts + logged models) and how they were listed.
    Listings are cached in the context so several checks list each run once."""
    cache = ctx.cache.setdefault("artifacts", {})
    if run.run_id in cache:
        return cache[run.run_id]
    if run.artifacts is not None:
        found: tuple[tuple[ArtifactFile, ...] | None, str] = (run.artifacts, "snapshot")
    elif (root := local_root(run.artifact_uri)) is not None:
        found = (walk_local(run, root), "local disk")
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


def artifact_bytes(files: tuple[ArtifactFile, ...]) -> int:
    return sum(f.size or 0 for f in files)
