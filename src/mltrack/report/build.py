"""The onboarding report from what the service read (mltrack.service.write_onboarding opens
the store and runs the checks): snapshot + results -> the page's data -> one HTML file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mltrack.model import CheckResult, StoreSnapshot
from mltrack.report.onboarding import History, build_onboarding
from mltrack.report.onboarding_html import render_onboarding
from mltrack.report.schema import ReportError
from mltrack.report.writer import write_file

if TYPE_CHECKING:
    from mltrack.pressure.assumptions import Assumption
    from mltrack.pressure.policy import Policy


def onboarding_data(snapshot: StoreSnapshot, policy: Policy, results: Sequence[CheckResult], *,
                    history: History | None, checks_note: str | None,
                    assumptions: Sequence[Assumption]) -> dict[str, Any]:
    """The page's data: `policy` is the resolved one (the names the checks used), `checks_note`
    says why verdicts are missing (None when the checks ran)."""
    from mltrack.report.audit import with_assumptions

    data = build_onboarding(snapshot, policy, results, history=history)
    data["checks_note"] = checks_note
    data["assumptions"] = with_assumptions({}, assumptions)["assumptions"]
    return data


def write_page(data: dict[str, Any], out_file: Path) -> int:
    """Render the page and write it whole; returns its size in bytes."""
    text = render_onboarding(data)
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot write {out_file}: {exc.strerror or exc}") from None
    write_file(out_file, text)  # all or nothing: a full disk leaves the previous page whole
    return len(text.encode())
