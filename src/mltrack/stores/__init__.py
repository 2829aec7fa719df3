"""Store adapters chosen by URI scheme.

`open_store(uri)` returns a `StoreAdapter` (see base.py) from the backend that the table in
mltrack/backends.py holds for the URI's scheme (built-in openers: openers.py). Adapters import
their SDK lazily.
"""

from __future__ import annotations

from mltrack.stores.base import StoreAdapter
from mltrack.uri import parse

__all__ = ["StoreAdapter", "open_store"]


def open_store(uri: str, *, timeout: float = 30.0, read_deadline_s: float | None = None) -> StoreAdapter:
    """An adapter for `uri`; raises StoreUnreachable (exit 2) when nothing answers there.

    `timeout`: each request. `read_deadline_s`: opening plus the first snapshot read, together
    (StoreTimeout, exit 2, when a store hangs); the policy's `read_deadline_s`. A backend whose
    SDK is not installed is MissingExtra (exit 2), naming the extra to install.
    """
    from mltrack.backends import REGISTRY

    parsed = parse(uri)
    backend = REGISTRY.backend_for(parsed.scheme, parsed.raw)
    backend.check_installed()
    return backend.opener()(parsed, timeout=timeout, read_deadline_s=read_deadline_s)
