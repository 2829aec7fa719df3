"""artifact-cleanup on a local store walks at most LOCAL_WALK_LIMIT candidates on disk and
estimates the rest from their mean (a million-run store must not take half an hour of walks)."""

from __future__ import annotations

from mltrack.pressure.checks import artifact_cleanup
from mltrack.pressure.policy import Policy
from mltrack.pressure.registry import BY_NAME
from mltrack.pressure.runner import CheckSession, resolve_policy
from mltrack.stores import open_store


def _evidence(uri: str) -> dict:
    adapter = open_store(uri)
    try:
        snapshot = adapter.snapshot()
        policy, _ = resolve_policy(snapshot, Policy())
        with CheckSession(adapter, snapshot, policy) as session:
            result = session.run(BY_NAME["artifact-cleanup"])
            return dict(result.evidence)
    finally:
        adapter.close()


def test_local_walks_stop_at_the_limit_and_the_rest_is_estimated(small_reference_store, monkeypatch):
    whole = _evidence(small_reference_store.uri)
    candidates = whole["candidates"]
    assert candidates > 3 and whole["runs_estimated"] == 0 and whole["runs_counted"] == candidates
    monkeypatch.setattr(artifact_cleanup, "LOCAL_WALK_LIMIT", 2)
    capped = _evidence(small_reference_store.uri)
    assert capped["runs_counted"] == 2 and capped["runs_estimated"] == candidates - 2
    assert "estimated from their mean" in capped["how_counted"]
    # The reference runs' artifacts are alike, so the estimate lands near the walked total.
    assert 0.5 * whole["reclaimable_bytes"] <= capped["reclaimable_bytes"] <= 1.5 * whole["reclaimable_bytes"]
