"""Memory that does not grow with the store (issue 13): the policy inference, the ten checks,
the audit's key numbers and the onboarding data consume the snapshot's runs as a stream.

The store is the real reference store (seeded, really trained) grown by N synthetic copies of its
training runs in a spilled run table, as `mltrack.run_table` holds a big store's read. Each phase
runs under tracemalloc at two sizes; its peak must not grow with N. Holding the extra runs as
records would cost several KiB each, so a phase that keeps a list of them fails by tens of MiB.
The copies score worse than every real run and are no older, so the runs a check inspects
through the store (the best run, production's, the oldest) stay real ones."""

from __future__ import annotations

import dataclasses
import tracemalloc
from collections.abc import Callable

import pytest

from mltrack.model import RunRecord, StoreSnapshot
from mltrack.pressure.policy import Policy
from mltrack.pressure.registry import CHECKS
from mltrack.pressure.runner import CheckSession, resolve_policy
from mltrack.run_table import RunTableBuilder
from mltrack.stores import open_store

SMALL, LARGE = 1_000, 6_000
# What the extra 5,000 runs may add to a phase's peak: a few hundred bytes a run at most (5,000
# records held cost ~25 MiB: measured 4.8 KiB a run, params, tags and metrics included).
ALLOWED_GROWTH_MIB = 2.0


def _grown(snapshot: StoreSnapshot, extra: int) -> StoreSnapshot:
    templates = [r for r in snapshot.runs
                 if r.lifecycle_stage == "active" and "val_acc" in r.metrics and not r.tags.get("mlflow.parentRunId")]
    assert templates, "the reference store has training runs with val_acc"
    worst = min(r.metrics["val_acc"] for r in templates)
    newest = max(r.start_time or 0 for r in snapshot.runs)
    builder = RunTableBuilder(spill_after=0)
    for run in snapshot.runs:
        builder.add(run)
    for i in range(extra):
        t = templates[i % len(templates)]
        metrics = dict(t.metrics, val_acc=worst * (0.5 + (i % 97) / 1000))
        builder.add(dataclasses.replace(
            t, run_id=f"c{i:031x}", name=f"{t.name}-copy-{i}", user=f"user-{i % 13}", metrics=metrics,
            params=dict(t.params, seed=str(10_000 + i)), start_time=newest + 1 + i, end_time=newest + 2 + i))
    return dataclasses.replace(snapshot, runs=builder.finish())


def _peak_mib(phase: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        phase()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - start) / 2**20


def _phase_peaks(uri: str, snapshot: StoreSnapshot) -> dict[str, float]:
    from mltrack.report.audit import key_numbers
    from mltrack.report.onboarding import build_onboarding

    peaks: dict[str, float] = {}
    held: dict[str, object] = {}

    def policy() -> None:
        held["policy"], _ = resolve_policy(snapshot, Policy())

    peaks["policy inference"] = _peak_mib(policy)
    resolved = held["policy"]
    results = []
    adapter = open_store(uri)
    try:
        with CheckSession(adapter, snapshot, resolved) as session:
            for check in CHECKS:
                peaks[f"check {check.name}"] = _peak_mib(lambda check=check: results.append(session.run(check)))
    finally:
        adapter.close()
    peaks["audit key numbers"] = _peak_mib(lambda: key_numbers(snapshot, resolved, results))
    peaks["onboarding data"] = _peak_mib(lambda: build_onboarding(snapshot, resolved, results))
    return peaks


@pytest.fixture(scope="module")
def grown_peaks(small_reference_store):
    adapter = open_store(small_reference_store.uri)
    try:
        base = adapter.snapshot()
    finally:
        adapter.close()
    return {n: _phase_peaks(small_reference_store.uri, _grown(base, n)) for n in (SMALL, LARGE)}


def test_no_phase_of_an_audit_holds_memory_in_proportion_to_the_runs(grown_peaks):
    small, large = grown_peaks[SMALL], grown_peaks[LARGE]
    grew = {phase: round(large[phase] - small[phase], 2) for phase in small
            if large[phase] - small[phase] > ALLOWED_GROWTH_MIB}
    table = "\n".join(f"  {p}: {small[p]:.1f} -> {large[p]:.1f} MiB" for p in small)
    assert not grew, f"peak memory grew with {LARGE - SMALL} more runs: {grew}\n{table}"


def test_the_grown_copies_are_really_read_by_every_phase(small_reference_store):
    # The measurement above means something only if the phases see the copies: the audit counts them.
    from mltrack.report.audit import key_numbers

    adapter = open_store(small_reference_store.uri)
    try:
        base = adapter.snapshot()
    finally:
        adapter.close()
    grown = _grown(base, 500)
    policy, _ = resolve_policy(grown, Policy())
    assert key_numbers(grown, policy, [])["runs"] == key_numbers(base, policy, [])["runs"] + 500
    assert isinstance(next(iter(grown.runs)), RunRecord) and grown.runs.spilled
