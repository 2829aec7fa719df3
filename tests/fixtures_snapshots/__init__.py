"""Recorded store snapshots + gathered evidence, for offline tests of the check judges.

`reference.json.gz` is the complete reference store; `break-<check>.json.gz` each `--break`
variant (docs/reference-store.md). Re-record with `python -m tests.fixtures_snapshots.record`.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from mltrack.model import StoreSnapshot

HERE = Path(__file__).parent


def load_recording(name: str) -> tuple[StoreSnapshot, dict[str, Any]]:
    """(snapshot, evidence by check name) of a recorded store, e.g. `reference` or `break-rollback`."""
    data = json.loads(gzip.decompress((HERE / f"{name}.json.gz").read_bytes()))
    return StoreSnapshot.from_dict(data["snapshot"]), data["evidence"]
