"""Where a writer comes from: the stores mltrack may write to, and the writer for each.

Only MLflow stores have one today (W&B runs are immutable once synced, and mltrack never writes
to them). `ops/` asks `open_writer` for a `StoreWriter` (rollback, cleanup); the rollback drill
asks `open_sandbox` for a `ModelSandbox`. Both protocols are in stores/base.py.
"""

from __future__ import annotations

from mltrack.stores.base import ModelSandbox, StoreAdapter, StoreWriter
from mltrack.uri import TrackingUri

_WRITABLE_TRACKERS = ("mlflow",)


def supports_writes(uri: TrackingUri) -> bool:
    """Whether mltrack can write to this kind of store (asked before anything is opened)."""
    return uri.tracker in _WRITABLE_TRACKERS


def open_writer(uri: TrackingUri) -> StoreWriter:
    """The writer for a store `supports_writes` accepts; open the read-only adapter first, which
    proves the store is there (MLflow's client would create an empty database at a typo)."""
    if not supports_writes(uri):
        raise ValueError(f"mltrack does not write to {uri.tracker} stores")
    from mltrack.stores.mlflow_writes import MlflowWriter

    return MlflowWriter(uri)


def open_sandbox(adapter: StoreAdapter | None, name: str) -> ModelSandbox | None:
    """A throwaway registered model named `name` on the adapter's store, or None when the store
    has no model registry mltrack can write a sandbox to."""
    if adapter is None or getattr(adapter.uri, "tracker", "mlflow") not in _WRITABLE_TRACKERS:
        return None
    from mltrack.stores.mlflow_writes import MlflowSandbox

    return MlflowSandbox(adapter.uri, name)
