"""Record a store's snapshot and the evidence every check gathers from it.

    python -m tests.fixtures_snapshots.record sqlite:////tmp/ref.db reference
    python -m tests.fixtures_snapshots.record sqlite:////tmp/brk.db break-rollback

Reads only. Paths and timings in the evidence are kept as recorded; judges never re-read them.
"""

from __future__ import annotations

import gzip
import json
import sys

from mltrack.pressure.policy import Policy
from mltrack.pressure.registry import CHECKS
from mltrack.pressure.runner import CheckSession, read_snapshot
from mltrack.stores import open_store
from tests.fixtures_snapshots import HERE


def record(uri: str, name: str) -> None:
    policy = Policy()
    adapter = open_store(uri)
    try:
        snapshot, _ = read_snapshot(adapter, policy)
        with CheckSession(adapter, snapshot, policy) as session:
            statuses = {c.name: session.run(c).status.value for c in CHECKS}
            evidence = session.evidence
    finally:
        adapter.close()
    payload = {"snapshot": snapshot.to_dict(), "evidence": evidence, "statuses": statuses}
    (HERE / f"{name}.json.gz").write_bytes(gzip.compress(json.dumps(payload, sort_keys=True).encode(), 9, mtime=0))
    print(name, statuses)


if __name__ == "__main__":
    record(sys.argv[1], sys.argv[2])
