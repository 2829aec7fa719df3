"""Output formats. Every format renders from the same data: `finding_record` per finding.

`render(run, "text" | "json" | "sarif" | "github", statistics=...)` returns the whole output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mltrack.model import Finding

if TYPE_CHECKING:
    from mltrack.lint.engine import LintRun

FORMATS = ("text", "json", "sarif", "github")


def located_message(record: dict[str, Any]) -> str:
    """The message, prefixed with the notebook cell and line when the format has no cell field."""
    if record["cell"] is None:
        return record["message"]
    return f"cell {record['cell']}, line {record['line']}: {record['message']}"


def finding_record(finding: Finding) -> dict[str, Any]:
    """The public JSON form of a finding. Lines and columns are 1-based (edits too); `cell` is
    the 1-based position of the notebook cell among all cells, or null outside notebooks."""
    loc = finding.location
    fix = None
    if finding.fix is not None:
        fix = {
            "title": finding.fix.title,
            "applicability": "safe" if finding.fix.safe else "unsafe",
            "edits": [
                {
                    "line": e.line,
                    "column": e.column + 1,
                    "end_line": e.end_line,
                    "end_column": e.end_column + 1,
                    "content": e.replacement,
                }
                for e in finding.fix.edits
            ],
        }
    return {
        "path": loc.path,
        "line": loc.line,
        "column": loc.column,
        "end_line": loc.end_line if loc.end_line is not None else loc.line,
        "end_column": loc.end_column if loc.end_column is not None else loc.column,
        "cell": None if loc.cell is None else loc.cell + 1,
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "severity": finding.severity,
        "fix": fix,
    }


def statistics(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """Counts by rule, most frequent first: code, name, count, fixable (how many have a fix)."""
    counts = Counter((f.code, f.name) for f in findings)
    fixable = Counter((f.code, f.name) for f in findings if f.fix is not None)
    return [
        {"code": code, "name": name, "count": count, "fixable": fixable[(code, name)]}
        for (code, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def render(run: LintRun, fmt: str, *, statistics: bool = False, color: bool = False) -> str:
    if fmt == "text":
        from mltrack.lint.formats.text import render_text

        return render_text(run, statistics=statistics, color=color)
    if fmt == "json":
        from mltrack.lint.formats.json_format import render_json

        return render_json(run, statistics=statistics)
    if fmt == "sarif":
        from mltrack.lint.formats.sarif import render_sarif

        return render_sarif(run)
    if fmt == "github":
        from mltrack.lint.formats.github import render_github

        return render_github(run)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
