"""The built-in backends' open functions, named in the table of mltrack/backends.py."""

from __future__ import annotations

from mltrack.stores.base import StoreAdapter
from mltrack.stores.deadline import ReadDeadline
from mltrack.uri import TrackingUri


def open_mlflow(uri: TrackingUri, *, timeout: float, read_deadline_s: float | None) -> StoreAdapter:
    from mltrack.stores.mlflow_store import open_mlflow_store
    from mltrack.stores.vendor_logs import demote_vendor_logs

    demote_vendor_logs()  # imports mlflow first: seconds of our own that the store must not be charged
    return open_mlflow_store(uri, timeout=timeout, read_deadline=_deadline(read_deadline_s))


def open_wandb(uri: TrackingUri, *, timeout: float, read_deadline_s: float | None) -> StoreAdapter:
    from mltrack.stores.wandb_store import open_wandb_store

    store = open_wandb_store(uri, timeout=timeout)
    store.read_deadline = _deadline(read_deadline_s)
    return store


def _deadline(seconds: float | None) -> ReadDeadline | None:
    """Started only once the SDK is imported, right before the store is first contacted."""
    return ReadDeadline(seconds) if seconds is not None else None
