"""Jupyter notebooks: code cells -> one Python program, and positions back to cells.

The code cells are joined in order into one program (a notebook runs top to bottom, so a seed in
cell 1 seeds cell 5). IPython syntax that is not Python - `%magic`, `!shell`, `%%cell` magics,
`obj?` help - is replaced line for line by `pass` (or `x = None` for `x = !ls`), so line numbers
never shift and one magic does not hide the rest of the notebook behind a syntax error. Cells whose
cell magic makes them non-Python (`%%bash`, `%%html`, ...) become comments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from mltrack.model import Edit, Finding, Location

# Cell magics whose body is still Python.
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug", "pypy"}
_ASSIGNED_MAGIC = re.compile(r"^(\s*)([A-Za-z_][\w.,\s\[\]()]*?)\s*=\s*[!%]")
_LINE_MAGIC = re.compile(r"^(\s*)([%!?]|\w[\w.]*\?\??\s*$)")


class NotebookError(ValueError):
    """The file is not a readable notebook (bad JSON, no cells list)."""


@dataclass(frozen=True)
class Cell:
    index: int  # position among all cells of the notebook (0-based)
    first_line: int  # 1-based line of the cell's first line in the joined program
    line_count: int
    source: str  # the cell's own text, as stored (before magics are neutralised)


@dataclass(frozen=True)
class NotebookProgram:
    source: str  # the joined program the rules see
    cells: tuple[Cell, ...]
    raw: dict  # the parsed notebook JSON (for writing fixes back)

    def cell_at(self, line: int) -> Cell | None:
        for cell in self.cells:
            if cell.first_line <= line < cell.first_line + cell.line_count:
                return cell
        return None

    def to_cell_location(self, location: Location) -> Location:
        """A program position -> the same position inside its cell (`cell` set, lines in cell)."""
        cell = self.cell_at(location.line) or (self.cells[-1] if self.cells else None)
        if cell is None:
            return location
        offset = cell.first_line - 1
        line = max(1, location.line - offset)
        end_line = location.end_line
        if end_line is not None:
            end_line = min(max(line, end_line - offset), cell.line_count or 1)
        return Location(
            location.path, line, location.column, end_line, location.end_column, cell.index
        )

    def map_findings(self, findings: Sequence[Finding]) -> list[Finding]:
        return [
            Finding(f.code, f.name, f.message, self.to_cell_location(f.location), f.fix, f.severity)
            for f in findings
        ]

    # -- fixes ----------------------------------------------------------------------------
    def apply_fixes(self, findings: Sequence[Finding]) -> str | None:
        """The notebook JSON with safe fixes applied inside cells (None when nothing changed).
        An edit that spans two cells or touches a neutralised magic line is skipped."""
        from mltrack.lint.fixes import apply_edits

        per_cell: dict[int, list[Edit]] = {}
        for finding in findings:
            if finding.fix is None or not finding.fix.safe:
                continue
            for edit in finding.fix.edits:
                cell = self.cell_at(edit.line) or _last_cell_for_append(self, edit)
                if cell is None:
                    continue
                after = cell.first_line + cell.line_count  # first program line after the cell
                if edit.end_line > after or (edit.end_line == after and edit.end_column > 0):
                    continue  # spans two cells: not safe to split
                offset = cell.first_line - 1
                per_cell.setdefault(cell.index, []).append(
                    Edit(edit.line - offset, edit.column, edit.end_line - offset,
                         edit.end_column, edit.replacement)
                )
        if not per_cell:
            return None
        raw = json.loads(json.dumps(self.raw))
        for index, edits in per_cell.items():
            cell_json = raw["cells"][index]
            old = _cell_text(cell_json)
            new = apply_edits(old, edits)
            if new != old:
                cell_json["source"] = new.splitlines(keepends=True)
        return dumps_notebook(raw)


def _last_cell_for_append(program: NotebookProgram, edit: Edit) -> Cell | None:
    # An insertion just past the program's end belongs to the last cell.
    if program.cells and edit.line >= program.cells[-1].first_line:
        return program.cells[-1]
    return None


def _cell_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def neutralise_magics(text: str) -> str:
    """IPython-only lines -> Python with the same number of lines."""
    lines = text.split("\n")
    first = lines[0].lstrip() if lines else ""
    if first.startswith("%%"):
        magic = first[2:].split(None, 1)[0] if len(first) > 2 else ""
        if magic not in _PYTHON_CELL_MAGICS:
            return "\n".join("#" + line if line.strip() else line for line in lines)
        lines[0] = "pass"
    out = []
    continued = False  # inside a backslash-continued line: leave it alone
    for line in lines:
        if not continued:
            assigned = _ASSIGNED_MAGIC.match(line)
            if assigned:
                line = f"{assigned.group(1)}{assigned.group(2)} = None"
            elif _LINE_MAGIC.match(line):
                indent = line[: len(line) - len(line.lstrip())]
                line = f"{indent}pass"
        continued = line.endswith("\\")
        out.append(line)
    return "\n".join(out)


def read_notebook(text: str) -> NotebookProgram:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"not a valid notebook: bad JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotebookError("not a valid notebook: no `cells` list")
    language = (
        raw.get("metadata", {}).get("kernelspec", {}).get("language")
        or raw.get("metadata", {}).get("language_info", {}).get("name")
        or "python"
    )
    if str(language).lower() != "python":
        raise NotebookError(f"notebook language is {language!r}, not python")
    parts: list[str] = []
    cells: list[Cell] = []
    line = 1
    for index, cell in enumerate(raw["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        text_ = _cell_text(cell)
        body = neutralise_magics(text_.rstrip("\n"))
        count = body.count("\n") + 1
        cells.append(Cell(index, line, count, text_))
        parts.append(body + "\n")
        line += count
    return NotebookProgram("".join(parts), tuple(cells), raw)


def dumps_notebook(raw: dict) -> str:
    """nbformat's own layout (indent 1, non-ASCII kept), so a fix makes a minimal diff."""
    return json.dumps(raw, indent=1, ensure_ascii=False) + "\n"
