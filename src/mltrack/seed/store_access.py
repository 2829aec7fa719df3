"""Reach the target store before seeding: fail fast and clearly, refuse to overwrite.

Everything here answers within ~10 s: an unreachable server or a malformed URI is one line
(credentials redacted) and exit code 2, never a minute of client retries.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

from mltrack import conventions as cv
from mltrack.errors import StoreNotEmpty, StoreUnreachable
from mltrack.uri import TrackingUri, redact

CONNECT_TIMEOUT = 8.0
# Set on the reference experiment when seeding starts writing, deleted when it finishes: a store
# that still carries it was left half-written (Ctrl-C, a crash) and says so.
INCOMPLETE_TAG = "mltrack.seed.incomplete"
INCOMPLETE_MESSAGE = "this store holds an incomplete seed (interrupted?); rerun with --force"
_DATABASE_SCHEMES = {"postgresql", "postgres", "mysql", "mssql"}


def sqlite_path(uri: TrackingUri) -> Path | None:
    """The database file of a `sqlite:///PATH` URI (relative paths resolve against the cwd)."""
    if uri.scheme != "sqlite":
        return None
    path = uri.raw[len("sqlite:///"):] if uri.raw.startswith("sqlite:///") else ""
    return Path(path).resolve() if path and path != ":memory:" else None


def artifact_root(uri: TrackingUri) -> Path | None:
    """Where runs' artifacts go for a store the client writes itself (absolute, never ./mlruns).

    `sqlite:///dir/x.db` -> `dir/x-artifacts/`; other databases -> `./mltrack-artifacts/` made
    absolute; a tracking server (None) decides for itself.
    """
    db = sqlite_path(uri)
    if db is not None:
        return db.with_name(f"{db.stem}-artifacts")
    if uri.scheme.split("+")[0] in _DATABASE_SCHEMES:
        return Path.cwd().resolve() / "mltrack-artifacts"
    return None


def _check_health(uri: TrackingUri) -> None:
    # With the credentials MLflow's client will send (userinfo or MLFLOW_TRACKING_* env vars):
    # a server behind an authenticating proxy protects /health too.
    from mltrack.stores import http_client

    try:
        response = http_client.get(uri.raw, "/health", CONNECT_TIMEOUT / 2)
    except Exception as exc:  # noqa: BLE001 - one line below
        reason = str(getattr(exc, "reason", exc))
    else:
        if response.status_code == 200:
            return
        reason = f"HTTP {response.status_code}"
    raise StoreUnreachable(f"cannot reach tracking server {uri.redacted}: {redact(reason)}")


def connect(uri: TrackingUri) -> Any:
    """An MlflowClient that has answered one query, or StoreUnreachable within ~10 s."""
    from mlflow import MlflowClient

    if uri.scheme in {"http", "https"}:
        _check_health(uri)
    db = sqlite_path(uri)
    if uri.scheme == "sqlite" and (db is None or not db.parent.is_dir()):
        raise StoreUnreachable(f"cannot open {uri.redacted}: the folder for the database file "
                               "does not exist (use sqlite:///PATH/TO/FILE.db)")
    if db is not None:
        _check_sqlite_writable(uri, db)
    client = MlflowClient(tracking_uri=uri.raw, registry_uri=uri.raw)
    outcome: dict[str, BaseException | None] = {}

    def probe() -> None:
        try:
            client.search_experiments(max_results=1)
            outcome["error"] = None
        except BaseException as exc:  # noqa: BLE001 - reported below as one line
            outcome["error"] = exc

    worker = threading.Thread(target=probe, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(CONNECT_TIMEOUT)
    if "error" not in outcome:
        raise StoreUnreachable(f"{uri.redacted} did not answer in {time.monotonic() - started:.0f} s")
    if outcome["error"] is not None:
        first_line = (str(outcome["error"]).strip().splitlines() or [""])[0][:300]
        raise StoreUnreachable(f"cannot use {uri.redacted}: {redact(first_line)}")
    return client


def _check_sqlite_writable(uri: TrackingUri, db: Path) -> None:
    """Write to the database file ourselves first: MLflow retries an engine it cannot create for
    about two minutes, printing a warning each time, before it gives up."""
    import sqlite3
    from urllib.parse import quote

    if db.is_dir():
        raise StoreUnreachable(f"cannot seed {uri.redacted}: {db} is a directory",
                               hint="point sqlite:/// at a database file, e.g. DIR/mlflow.db")
    existed = db.exists()
    try:
        conn = sqlite3.connect(f"file:{quote(str(db), safe='/')}?mode=rwc", uri=True,
                               timeout=CONNECT_TIMEOUT, isolation_level=None)
        try:  # a real write, rolled back: opening alone succeeds on a read-only file
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("CREATE TABLE mltrack_write_probe (x)")
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        if not existed:
            with contextlib.suppress(OSError):
                db.unlink()
        raise StoreUnreachable(f"cannot write the sqlite database {uri.redacted}: {exc}",
                               hint="seed into a folder you can write to") from None


def refuse_if_seeded(client: Any, uri: TrackingUri) -> None:
    """StoreNotEmpty (exit 2) when the reference experiment or model exists already; a seed
    that never finished is named as such."""
    experiment = client.get_experiment_by_name(cv.REFERENCE_EXPERIMENT)
    models = client.search_registered_models(f"name = '{cv.REGISTERED_MODEL}'")
    if (experiment is not None and INCOMPLETE_TAG in (experiment.tags or {})) or (
            experiment is None and client.get_experiment_by_name(cv.INFERENCE_EXPERIMENT) is not None):
        raise StoreNotEmpty(f"{uri.redacted}: {INCOMPLETE_MESSAGE}", hint="nothing was changed")
    if experiment is not None or models:
        what = f"experiment {cv.REFERENCE_EXPERIMENT}" if experiment else f"model {cv.REGISTERED_MODEL}"
        raise StoreNotEmpty(f"{uri.redacted} already holds the reference {what}; nothing was changed",
                            hint="pass --force to replace it")


def clear_reference(client: Any, experiment_names: tuple[str, ...]) -> None:
    """`--force`: move the reference experiments out of the way (renamed, then soft-deleted, so
    the names are free again) and delete the reference registered model."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for name in experiment_names:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            continue
        if experiment.lifecycle_stage == "deleted":
            client.restore_experiment(experiment.experiment_id)
        client.rename_experiment(experiment.experiment_id, f"{name}-replaced-{stamp}-{experiment.experiment_id}")
        # Retired on purpose: a deleted run still tagged "keep" reads as a protected run lost.
        for run in client.search_runs([experiment.experiment_id], f"tags.`{cv.TAG_KEEP}` = 'true'"):
            client.delete_tag(run.info.run_id, cv.TAG_KEEP)
        client.delete_experiment(experiment.experiment_id)
    if client.search_registered_models(f"name = '{cv.REGISTERED_MODEL}'"):
        client.delete_registered_model(cv.REGISTERED_MODEL)
