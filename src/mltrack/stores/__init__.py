"""Store adapters chosen by URI scheme.

`open_store(uri)` returns a `StoreAdapter` (see base.py). Adapters import their SDK lazily.
"""

from __future__ import annotations

from mltrack.stores.base import StoreAdapter
from mltrack.uri import parse

__all__ = ["StoreAdapter", "open_store"]


def open_store(uri: str, *, timeout: float = 30.0) -> StoreAdapter:
    """An adapter for `uri`; raises StoreUnreachable (exit 2) when nothing answers there."""
    parsed = parse(uri)
    if parsed.tracker == "wandb":
        from mltrack.stores.wandb_store import open_wandb_store

        return open_wandb_store(parsed, timeout=timeout)
    from mltrack.stores.mlflow_store import open_mlflow_store

    return open_mlflow_store(parsed, timeout=timeout)
