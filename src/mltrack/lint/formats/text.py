"""Text output: `path:line:col: MLT001 [missing-seed] message`, like ruff and flake8.

Notebook findings read `path:cell N:line:col: ...` (line inside the cell). A summary line
follows; `--statistics` prints counts by rule instead of the findings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mltrack.lint.formats import finding_record, statistics as count_by_rule

if TYPE_CHECKING:
    from mltrack.lint.engine import LintRun

_BOLD, _RED, _YELLOW, _CYAN, _RESET = "\x1b[1m", "\x1b[31m", "\x1b[33m", "\x1b[36m", "\x1b[0m"


def format_line(record: dict, *, color: bool = False) -> str:
    where = record["path"]
    if record["cell"] is not None:
        where += f":cell {record['cell']}"
    where += f":{record['line']}:{record['column']}"
    code, name = record["code"], record["name"]
    fixable = " [*]" if record["fix"] else ""
    if color:
        tint = _YELLOW if record["severity"] == "warning" else _RED
        return f"{_BOLD}{where}{_RESET}: {tint}{code}{_RESET} [{_CYAN}{name}{_RESET}]{fixable} {record['message']}"
    return f"{where}: {code} [{name}]{fixable} {record['message']}"


def render_text(run: LintRun, *, statistics: bool = False, color: bool = False) -> str:
    findings = run.findings
    lines: list[str] = []
    if statistics:
        for row in count_by_rule(findings):
            mark = "[*]" if row["fixable"] else "   "
            lines.append(f"{row['count']:>5}  {row['code']}  {mark} {row['name']}")
    else:
        lines.extend(format_line(finding_record(f), color=color) for f in findings)
    lines.append(summary(run))
    return "\n".join(lines) + "\n"


def summary(run: LintRun) -> str:
    findings = run.findings
    errors = [f for f in findings if f.severity != "warning"]
    warnings = len(findings) - len(errors)
    files = f"{run.files_checked} file{'s' if run.files_checked != 1 else ''}"
    parts = []
    if run.fixes_applied:
        parts.append(f"Fixed {run.fixes_applied} finding{'s' if run.fixes_applied != 1 else ''}.")
    if not findings:
        parts.append(f"All checks passed ({files} checked).")
        return " ".join(parts)
    fixable = sum(1 for f in findings if f.fix is not None)
    text = f"Found {len(errors)} finding{'s' if len(errors) != 1 else ''}"
    if warnings:
        text += f" and {warnings} warning{'s' if warnings != 1 else ''}"
    text += f" in {files}"
    if fixable:
        text += f" ({fixable} fixable with `--fix`)"
    parts.append(text + ".")
    return " ".join(parts)
