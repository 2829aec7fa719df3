"""report.json -> report.md (reads the dict only; golden-file tested)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mltrack.report.trend import describe_number, ordered_numbers as _ordered, human_bytes

_ICON = {"pass": "✅ pass", "fail": "❌ fail", "warn": "⚠️ warn", "error": "💥 error", "skip": "⏭️ skip"}
_EVIDENCE_LIMIT = 4000  # characters of evidence JSON per check; the full text is in report.json


def render_markdown(report: Mapping[str, Any]) -> str:
    summary = report.get("summary", {})
    lines = [
        "# mltrack audit",
        "",
        f"- **Store:** `{report['uri']}` ({report['tracker']}, server {report.get('server_version') or 'unknown'})",
        f"- **When:** {report['created_at']} (took {report.get('duration_s', 0):.1f} s)",
        f"- **mltrack:** {report['mltrack_version']}, Python {report['environment'].get('python', '?')}, "
        f"checks: {report['environment'].get('checks_requested', 'all')}",
        f"- **Verdict:** {_verdict(summary)}",
        "",
        "## Key numbers",
        "",
        "| runs | users | experiments | untracked fields | reclaimable |",
        "|---:|---:|---:|---:|---:|",
        "| {} | {} | {} | {} | {} |".format(
            _num(summary.get("runs")), _num(summary.get("users")), _num(summary.get("experiments")),
            _num(summary.get("untracked_fields")), human_bytes(summary.get("reclaimable_bytes")),
        ),
        "",
    ]
    lines += _trend(report.get("trend"))
    lines += ["## Checks", "", "| code | check | status | verdict | time |", "|---|---|---|---|---:|"]
    for result in report["results"]:
        lines.append(
            f"| {result['code']} | [{result['name']}](#{result['name']}) | {_ICON.get(result['status'], result['status'])} "
            f"| {_cell(result['message'])} | {result.get('duration_s', 0):.2f} s |"
        )
    lines.append("")
    for result in report["results"]:
        lines += _details(result)
    return "\n".join(lines).rstrip("\n") + "\n"


def _verdict(summary: Mapping[str, Any]) -> str:
    parts = [f"{summary.get(s, 0)} {s}" for s in ("pass", "fail", "warn", "error", "skip") if summary.get(s)]
    failing = summary.get("fail", 0) + summary.get("error", 0)
    head = "all checks pass" if not failing else f"{failing} check(s) need attention"
    return f"{head} ({', '.join(parts) or 'no checks'})"


def _trend(trend: Mapping[str, Any] | None) -> list[str]:
    if not trend:
        return ["## Since the last audit", "", "First audit in this directory: no trend yet.", ""]
    lines = ["## Since the last audit", "", f"Compared with the audit of {trend.get('previous_created_at')} "
             f"(`{trend.get('previous')}`).", ""]
    lines.append(f"- Newly failing: {_names(trend.get('newly_failing'))}")
    lines.append(f"- Fixed: {_names(trend.get('fixed'))}")
    lines.append(f"- Still failing: {_names(trend.get('still_failing'))}")
    for key, change in _ordered(trend.get("numbers", {})):
        lines.append(f"- {describe_number(key, change)}")
    return lines + [""]


def _details(result: Mapping[str, Any]) -> list[str]:
    lines = [f"### {result['name']}", "", f"**{result['code']} — {_ICON.get(result['status'], result['status'])}:** "
             f"{result['message']}", ""]
    if result.get("fix"):
        lines += [f"**Fix:** {result['fix']}", ""]
    if result.get("evidence"):
        text = json.dumps(result["evidence"], indent=2, sort_keys=True, default=str)
        if len(text) > _EVIDENCE_LIMIT:
            text = text[:_EVIDENCE_LIMIT] + "\n… (truncated; the full evidence is in report.json)"
        lines += ["<details><summary>Evidence</summary>", "", "```json", text, "```", "", "</details>", ""]
    return lines


def _names(names: Any) -> str:
    return ", ".join(f"`{n}`" for n in names) if names else "none"


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
