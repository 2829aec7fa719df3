"""Build the onboarding report from a live store: one snapshot (shared with the checks), metric
histories for the few top runs, then data -> HTML."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mltrack.errors import ConfigError
from mltrack.report.onboarding import build_onboarding
from mltrack.report.onboarding_html import render_onboarding
from mltrack.report.schema import ReportError
from mltrack.report.writer import write_file
from mltrack.stores.base import Progress

if TYPE_CHECKING:
    from mltrack.pressure.policy import Policy


def write_onboarding(uri: str, out_file: Path, *, policy: Policy, checks: str | None = "all",
                     progress: Progress | None = None) -> dict[str, Any]:
    """Write the page; returns {"bytes", "seconds"}. `checks=None` skips the pressure checks."""
    from mltrack.pressure.runner import resolve_policy, run_checks
    from mltrack.report.audit import with_assumptions
    from mltrack.stores import open_store

    started = time.perf_counter()
    adapter = open_store(uri, timeout=policy.timeout_s, read_deadline_s=policy.read_deadline_s)
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
        data = build_onboarding(snapshot, policy, outcome.results if outcome else (),
                                history=adapter.metric_history)
        data["checks_note"] = note
        data["assumptions"] = with_assumptions({}, assumptions)["assumptions"]
    finally:
        adapter.close()
    text = render_onboarding(data)
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot write {out_file}: {exc.strerror or exc}") from None
    write_file(out_file, text)  # all or nothing: a full disk leaves the previous page whole
    return {"bytes": len(text.encode()), "seconds": time.perf_counter() - started}
