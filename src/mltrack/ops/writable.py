"""Open a store for the two commands that may write to it, and only MLflow stores.

Reading goes through the read-only adapter (`open_store`), which also proves the store is there
(a sqlite file that exists, a server that answers) before anything is written: MLflow's own
client would happily create an empty database at a mistyped path.
"""

from __future__ import annotations

from typing import Any

from mltrack.errors import UsageError
from mltrack.stores import open_store
from mltrack.uri import parse


def open_for_write(uri: str, command: str) -> tuple[Any, Any]:
    """(read-only adapter, MlflowClient that writes). Raises exit-2 errors for W&B or a missing store."""
    parsed = parse(uri)
    if parsed.tracker != "mlflow":
        raise UsageError(f"`mltrack {command}` works on MLflow stores only, not {parsed.redacted!r}")
    adapter = open_store(uri)
    from mlflow.tracking import MlflowClient

    raw = parsed.raw.strip()
    return adapter, MlflowClient(tracking_uri=raw, registry_uri=raw)
