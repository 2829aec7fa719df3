"""Offline: the judges on recorded snapshots (+ gathered evidence) of the seeded reference store
and of each `--break` variant (120 runs, recorded with tests/fixtures_snapshots/record.py).
No store, no network: each break fails exactly its check; the complete store passes all ten."""

from __future__ import annotations

import pytest

from mltrack.model import Status
from mltrack.pressure.policy import Policy
from mltrack.pressure.registry import CHECKS
from mltrack.pressure.render import format_result
from mltrack.pressure.runner import run_offline
from tests.fixtures_snapshots import load_recording
from tests.support.stores import expected_verdicts

NAMES = [c.name for c in CHECKS]


def test_reference_recording_passes_all_ten():
    snapshot, evidence = load_recording("reference")
    results = run_offline(snapshot, Policy(), evidence)
    assert [r.status for r in results] == [Status.PASS] * 10, [r.message for r in results]


@pytest.mark.parametrize("broken", NAMES)
def test_break_recording_fails_exactly_its_check(broken):
    snapshot, evidence = load_recording(f"break-{broken}")
    results = {r.name: r for r in run_offline(snapshot, Policy(), evidence)}
    assert {n: r.status.value for n, r in results.items()} == expected_verdicts(broken, NAMES)
    failed = results[broken]
    assert failed.fix, "a failing check says how to fix it"
    text = format_result(failed)
    assert text.startswith(f"{failed.code} {broken}: FAIL - ") and "evidence:" in text and "fix:" in text


def test_judges_without_evidence_never_crash():
    """A check whose gather could not run still judges (or errors) cleanly from the snapshot."""
    snapshot, _ = load_recording("reference")
    for result in run_offline(snapshot, Policy(), {}):
        assert result.status in (Status.PASS, Status.WARN, Status.SKIP), result
