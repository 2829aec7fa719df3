"""Text edits: turning `Edit`s (line/column ranges) into a new source."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mltrack.model import Edit, Finding


def _line_starts(source: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(source):
        if char == "\n":
            starts.append(index + 1)
    return starts


def apply_edits(source: str, edits: Iterable[Edit]) -> str:
    """Apply non-overlapping edits (1-based lines, 0-based columns); an edit overlapping an
    earlier one (in source order) is dropped, and an identical edit is applied once."""
    starts = _line_starts(source)

    def offset(line: int, column: int) -> int:
        if line - 1 >= len(starts):
            return len(source)
        return min(starts[line - 1] + column, len(source))

    spans = sorted(
        {(offset(e.line, e.column), offset(e.end_line, e.end_column), e.replacement) for e in edits},
        key=lambda span: (span[0], span[1]),
    )
    kept: list[tuple[int, int, str]] = []
    last_end = -1
    for start, end, text in spans:
        if kept and start < last_end:
            continue  # overlaps a kept edit: unsafe to combine
        if kept and start == last_end == kept[-1][0] == kept[-1][1] and start == end:
            # two insertions at one point: keep both, in order
            pass
        kept.append((start, end, text))
        last_end = max(last_end, end)
    out: list[str] = []
    cursor = 0
    for start, end, text in kept:
        out.append(source[cursor:start])
        out.append(text)
        cursor = end
    out.append(source[cursor:])
    return "".join(out)


def apply_fixes(source: str, findings: Sequence[Finding]) -> str:
    """Apply the safe fixes of `findings` to `source`; overlapping edits after the first are skipped."""
    edits = [
        edit
        for finding in findings
        if finding.fix is not None and finding.fix.safe
        for edit in finding.fix.edits
    ]
    return apply_edits(source, edits)
