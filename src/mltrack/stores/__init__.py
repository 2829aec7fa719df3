"""Store adapters chosen by URI scheme.

`open_store(uri)` returns a `StoreAdapter` (see base.py). Adapters import their SDK lazily.
"""

from __future__ import annotations

from mltrack.stores.base import StoreAdapter
from mltrack.stores.deadline import ReadDeadline
from mltrack.uri import parse

__all__ = ["StoreAdapter", "open_store"]


def open_store(uri: str, *, timeout: float = 30.0, read_deadline_s: float | None = None) -> StoreAdapter:
    """An adapter for `uri`; raises StoreUnreachable (exit 2) when nothing answers there.

    `timeout`: each request. `read_deadline_s`: opening plus the first snapshot read, together
    (StoreTimeout, exit 2, when a store hangs); the policy's `read_deadline_s`.
    """
    parsed = parse(uri)
    if parsed.tracker == "wandb":
        from mltrack.stores.wandb_store import open_wandb_store

        store = open_wandb_store(parsed, timeout=timeout)
        store.read_deadline = _deadline(read_deadline_s)
        return store
    from mltrack.stores.mlflow_store import open_mlflow_store
    from mltrack.stores.vendor_logs import demote_vendor_logs

    demote_vendor_logs()  # imports mlflow first: seconds of our own that the store must not be charged
    return open_mlflow_store(parsed, timeout=timeout, read_deadline=_deadline(read_deadline_s))


def _deadline(seconds: float | None) -> ReadDeadline | None:
    """Started only once the SDK is imported, right before the store is first contacted."""
    return ReadDeadline(seconds) if seconds is not None else None
