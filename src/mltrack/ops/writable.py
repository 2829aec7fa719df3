"""Open a store for the two commands that may write to it, and only stores mltrack writes to.

Reading goes through the read-only adapter (`open_store`), which also proves the store is there
(a sqlite file that exists, a server that answers) before anything is written: MLflow's own
client would happily create an empty database at a mistyped path. Writing goes through the
store layer's `StoreWriter` protocol (stores/base.py), never a vendor client.
"""

from __future__ import annotations

from mltrack.errors import UsageError
from mltrack.stores import open_store
from mltrack.stores.base import StoreAdapter, StoreWriter
from mltrack.stores.writes import open_writer, supports_writes
from mltrack.uri import parse


def open_for_write(uri: str, command: str) -> tuple[StoreAdapter, StoreWriter]:
    """(read-only adapter, writer). Raises exit-2 errors for W&B or a missing store."""
    parsed = parse(uri)
    if not supports_writes(parsed):
        raise UsageError(f"`mltrack {command}` works on MLflow stores only, not {parsed.redacted!r}")
    adapter = open_store(uri)
    return adapter, open_writer(parsed)
