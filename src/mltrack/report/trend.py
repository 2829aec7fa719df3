"""Trend across audits written to the same directory.

Layout of an audit directory (earlier reports are kept, never overwritten):

    DIR/report.json  report.md  report.html  junit.xml     the latest audit
    DIR/history/report-20261123T104000Z.json                 every audit, one file each

The trend compares the new report with the newest one in `history/` (or a lone `report.json`
left by hand): which checks newly fail, which were fixed, and how the key numbers moved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mltrack.report.schema import SUMMARY_NUMBERS, ReportError, is_failing, load

HISTORY = "history"
_STAMP = re.compile(r"[^0-9A-Za-z]")


def history_name(created_at: str) -> str:
    """`2026-11-23T10:40:00Z` -> `report-20261123T104000Z.json` (sorts by time)."""
    return f"report-{_STAMP.sub('', created_at)}.json"


def previous_report(out_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest earlier audit in `out_dir`, or None. A corrupt old file is skipped, not fatal."""
    candidates = sorted((out_dir / HISTORY).glob("report-*.json"), reverse=True)
    latest = out_dir / "report.json"
    if latest.is_file():
        candidates.append(latest)
    for path in candidates:
        try:
            return path, load(path)
        except ReportError:
            continue
    return None


def compute_trend(previous: Mapping[str, Any], current: Mapping[str, Any], previous_ref: str) -> dict[str, Any]:
    """What changed from `previous` to `current` (both report.json dicts)."""
    before = {r["name"]: r for r in previous.get("results", [])}
    after = {r["name"]: r for r in current.get("results", [])}
    newly_failing = [n for n, r in after.items() if is_failing(r) and not (n in before and is_failing(before[n]))]
    fixed = [n for n, r in before.items() if is_failing(r) and n in after and not is_failing(after[n])]
    still_failing = [n for n, r in after.items() if is_failing(r) and n in before and is_failing(before[n])]
    numbers = {}
    for key in SUMMARY_NUMBERS:
        old = previous.get("summary", {}).get(key)
        new = current.get("summary", {}).get(key)
        delta = new - old if isinstance(old, (int, float)) and isinstance(new, (int, float)) else None
        numbers[key] = {"before": old, "after": new, "delta": delta}
    return {
        "previous": previous_ref,
        "previous_created_at": previous.get("created_at"),
        "newly_failing": newly_failing,
        "fixed": fixed,
        "still_failing": still_failing,
        "numbers": numbers,
    }


def ordered_numbers(numbers: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """The trend's numbers in the summary's order (JSON round trips sort them by name)."""
    return sorted(numbers.items(), key=lambda kv: (SUMMARY_NUMBERS.index(kv[0]) if kv[0] in SUMMARY_NUMBERS
                                                   else len(SUMMARY_NUMBERS), kv[0]))


def describe_number(key: str, change: Mapping[str, Any]) -> str:
    """`runs: 120 -> 130 (+10)`; bytes in human units."""
    fmt = human_bytes if key.endswith("bytes") else _plain_number
    before, after, delta = change.get("before"), change.get("after"), change.get("delta")
    if delta is None:
        return f"{key.replace('_', ' ')}: {fmt(before)} -> {fmt(after)}"
    sign = "+" if delta > 0 else ("-" if delta < 0 else "±")
    return f"{key.replace('_', ' ')}: {fmt(before)} -> {fmt(after)} ({sign}{fmt(abs(delta))})"


def _plain_number(value: Any) -> str:
    return "n/a" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def human_bytes(value: Any) -> str:
    if value is None:
        return "n/a"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover - the loop returns at GiB
