"""report.json -> report.md (reads the dict only; golden-file tested).

Every string from the report passes through `mltrack.textsafe` (`for_markdown` inline,
`markdown_code` in backticks, `markdown_fence` for evidence): names and messages come from
whoever can log to the store, and a rendered report.md must show them as text, never as HTML,
headings, links or broken tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mltrack.pressure.assumptions import shown_value
from mltrack.report.trend import describe_number, ordered_numbers as _ordered, human_bytes
from mltrack.textsafe import for_markdown as _md, markdown_code as _code, markdown_fence

_ICON = {"pass": "✅ pass", "fail": "❌ fail", "warn": "⚠️ warn", "error": "💥 error", "skip": "⏭️ skip"}
_EVIDENCE_LIMIT = 4000  # characters of evidence JSON per check; the full text is in report.json


def render_markdown(report: Mapping[str, Any]) -> str:
    summary = report.get("summary", {})
    lines = [
        "# mltrack audit",
        "",
        f"- **Store:** {_code(report['uri'])} ({_md(report['tracker'])}, server "
        f"{_md(report.get('server_version') or 'unknown')})",
        f"- **When:** {_md(report['created_at'])} (took {report.get('duration_s', 0):.1f} s)",
        f"- **mltrack:** {_md(report['mltrack_version'])}, Python {_md(report['environment'].get('python', '?'))}, "
        f"checks: {_md(report['environment'].get('checks_requested', 'all'))}",
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
    if summary.get("masked_secrets"):  # mltrack.secrets: masked in report.json already
        lines += [f"> {int(summary['masked_secrets'])} secret-looking value(s) (params, tags, URIs with "
                  "passwords, tokens) are shown as `***` in this report.", ""]
    lines += _assumptions(report.get("assumptions"))
    lines += _trend(report.get("trend"))
    lines += ["## Checks", "", "| code | check | status | verdict | time |", "|---|---|---|---|---:|"]
    for result in report["results"]:
        lines.append(
            f"| {_md(result['code'])} | [{_md(result['name'])}](#{_anchor(result['name'])}) | {_status(result)} "
            f"| {_md(result['message'])} | {result.get('duration_s', 0):.2f} s |"
        )
    lines.append("")
    for result in report["results"]:
        lines += _details(result)
    return "\n".join(lines).rstrip("\n") + "\n"


def _assumptions(assumptions: Any) -> list[str]:
    """What zero configuration inferred (report.json `assumptions`), each with its override."""
    if not assumptions:
        return []
    lines = ["## Assumptions", "",
             "No policy named these, so they were inferred from the store; set the policy key in "
             "`[tool.mltrack]` (or `--config FILE`) to override one.", "",
             "| assumed | value | how | coverage | policy key |", "|---|---|---|---|---|"]
    for item in assumptions:
        lines.append(f"| {_md(item.get('key'))} | {_md(shown_value(item.get('value')))} | {_md(item.get('how'))} "
                     f"| {_md(item.get('coverage') or '')} | {_code(str(item.get('override')))} |")
    return lines + [""]



def _verdict(summary: Mapping[str, Any]) -> str:
    parts = [f"{summary.get(s, 0)} {s}" for s in ("pass", "fail", "warn", "error", "skip") if summary.get(s)]
    failing = summary.get("fail", 0) + summary.get("error", 0)
    head = "all checks pass" if not failing else f"{failing} check(s) need attention"
    return f"{head} ({', '.join(parts) or 'no checks'})"


def _trend(trend: Mapping[str, Any] | None) -> list[str]:
    if not trend:
        return ["## Since the last audit", "", "First audit in this directory: no trend yet.", ""]
    lines = ["## Since the last audit", "", f"Compared with the audit of {_md(trend.get('previous_created_at'))} "
             f"({_code(trend.get('previous'))}).", ""]
    lines.append(f"- Newly failing: {_names(trend.get('newly_failing'))}")
    lines.append(f"- Fixed: {_names(trend.get('fixed'))}")
    lines.append(f"- Still failing: {_names(trend.get('still_failing'))}")
    for key, change in _ordered(trend.get("numbers", {})):
        lines.append(f"- {_md(describe_number(key, change))}")
    return lines + [""]


def _details(result: Mapping[str, Any]) -> list[str]:
    lines = [f"### {_md(result['name'])}", "", f"**{_md(result['code'])} — {_status(result)}:** "
             f"{_md(result['message'])}", ""]
    if result.get("fix"):
        lines += [f"**Fix:** {_md(result['fix'])}", ""]
    if result.get("evidence"):
        text = json.dumps(result["evidence"], indent=2, sort_keys=True, default=str)
        if len(text) > _EVIDENCE_LIMIT:
            text = text[:_EVIDENCE_LIMIT] + "\n… (truncated; the full evidence is in report.json)"
        lines += ["<details><summary>Evidence</summary>", "", *markdown_fence(text, "json"), "", "</details>", ""]
    return lines


def _names(names: Any) -> str:
    return ", ".join(_code(n) for n in names) if names else "none"


def _num(value: Any) -> str:
    return "n/a" if value is None else f"{value:,}" if isinstance(value, int) else _md(value)


def _status(result: Mapping[str, Any]) -> str:
    return _ICON.get(result["status"]) or _md(result["status"])


def _anchor(name: str) -> str:
    """The id GitHub gives the check's `### name` heading: lower case, only [a-z0-9_-] kept."""
    return "".join(c for c in str(name).lower().replace(" ", "-") if c.isalnum() or c in "-_")
