"""The orchestration behind `mltrack audit`, `mltrack report` and the pytest plugin: open the
store, read the snapshot once, run the checks, hand the results and the snapshot to report/,
which builds the data and renders it. report/ itself never opens a store or runs a check.

The one module that may import pressure, stores and report together (docs/architecture.md,
the "service" layer); cli/ and the plugin call it, nothing below them does.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mltrack.errors import ConfigError

if TYPE_CHECKING:
    from mltrack.pressure.policy import Policy
    from mltrack.stores.base import Progress, StoreAdapter


def open_adapter(uri: str, policy: Policy) -> StoreAdapter:
    """The read-only adapter for `uri`, with the policy's connect timeout and read deadline."""
    from mltrack.stores import open_store

    return open_store(uri, timeout=policy.timeout_s, read_deadline_s=policy.read_deadline_s)


def run_audit(
    uri: str,
    out_dir: Path,
    *,
    checks: str = "all",
    policy: Policy | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the checks against `uri` and write the audit directory; returns report.json's data."""
    from mltrack.pressure.policy import load_policy
    from mltrack.pressure.registry import select
    from mltrack.pressure.runner import run_checks
    from mltrack.report.audit import key_numbers, with_assumptions
    from mltrack.report.schema import build_report
    from mltrack.report.writer import write_audit
    from mltrack.uri import parse

    policy = policy or load_policy()
    names = None if checks == "all" else [c.name for c in select(checks)]
    started = time.perf_counter()
    outcome = run_checks(uri, policy, names, progress=progress)
    results = tuple(outcome.results)
    report = build_report(
        uri=uri,
        tracker=getattr(outcome.snapshot, "tracker", None) or parse(uri).tracker,
        server_version=getattr(outcome, "server_version", None) or outcome.snapshot.server_version,
        results=results,
        numbers=key_numbers(outcome.snapshot, outcome.policy or policy, results),
        checks_requested=checks,
        duration_s=time.perf_counter() - started,
    )
    return write_audit(with_assumptions(report.to_dict(), outcome.assumptions), out_dir)


def write_onboarding(uri: str, out_file: Path, *, policy: Policy, checks: str | None = "all",
                     progress: Progress | None = None) -> dict[str, Any]:
    """Write the onboarding page for `uri`: one snapshot (shared with the checks), metric
    histories for the few top runs, then data -> HTML. Returns {"bytes", "seconds"};
    `checks=None` skips the pressure checks."""
    from mltrack.pressure.runner import resolve_policy, run_checks
    from mltrack.report.build import onboarding_data, write_page

    started = time.perf_counter()
    adapter = open_adapter(uri, policy)
    try:
        note = "not run (--checks none)" if checks is None else None
        outcome = None
        if checks is not None:
            try:
                outcome = run_checks(adapter, policy, None if checks == "all" else checks, progress=progress)
            except ConfigError as exc:
                # A store that does not follow the policy's names still deserves an onboarding
                # page; the page says why the verdicts are missing instead of refusing.
                note = f"not run: {exc}"
        snapshot = outcome.snapshot if outcome else adapter.snapshot(progress=progress)
        # The page ranks and groups by the same names the checks used: the user's policy with
        # every key it does not set inferred from the store (mltrack.pressure.assumptions).
        if outcome is not None and outcome.policy is not None:
            policy, assumptions = outcome.policy, outcome.assumptions
        else:
            policy, assumptions = resolve_policy(snapshot, policy)
        data = onboarding_data(snapshot, policy, outcome.results if outcome else (),
                               history=adapter.metric_history, checks_note=note, assumptions=assumptions)
    finally:
        adapter.close()
    size = write_page(data, out_file)
    return {"bytes": size, "seconds": time.perf_counter() - started}
