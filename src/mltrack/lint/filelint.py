"""Lint one file's bytes: decode, read notebooks, run the rules, fix, apply suppressions.

Runs inside worker processes, so it takes plain data and returns a picklable `FileResult`.
Every problem with the file itself (binary, undecodable, not a notebook, too large, not Python)
becomes one finding for that file. A bug of the linter raises: the engine's per-file boundary
(`engine._lint_one`) makes it one `internal-error` finding for that file.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Collection
from dataclasses import dataclass

from mltrack.lint import guard, parsed
from mltrack.lint.builtin_codes import (
    FILE_SKIPPED,
    SYNTAX_ERROR,
    UNUSED_SUPPRESSION,
    BuiltinCode,
)
from mltrack.lint.config import LintConfig
from mltrack.lint.notebook import NotebookError, NotebookProgram, read_notebook
from mltrack.lint.suppress import apply_suppressions
from mltrack.model import Finding, Location

MAX_BYTES = 8 * 1024 * 1024  # generated files beyond this are skipped with a warning
MAX_FIX_PASSES = 8


@dataclass
class FileResult:
    path: str  # as displayed
    findings: tuple[Finding, ...]
    lines: int = 0
    cached: bool = False
    original: str | None = None  # the text before fixes (kept only when fixes changed it)
    fixed: str | None = None  # the text after fixes
    encoding: str = "utf-8"
    fixes_applied: int = 0
    seconds: float = 0.0


def count_lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def _problem(path: str, kind: BuiltinCode, message: str, line: int = 1, column: int = 1) -> Finding:
    return kind.finding(message, Location(path, line, column, line, column))


def decode(data: bytes, path: str) -> tuple[str | None, str, Finding | None]:
    """(text, encoding, problem). Honours PEP 263 coding cookies and a UTF-8 BOM."""
    if b"\0" in data[:8192]:
        return None, "", _problem(path, SYNTAX_ERROR, "cannot lint this file: it is binary (contains NUL bytes)")
    encoding = "utf-8"
    if not path.endswith(".ipynb"):
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        except SyntaxError:
            encoding = "utf-8"  # no usable cookie: decoding says where the bad byte is
    try:
        return data.decode(encoding), encoding, None
    except (UnicodeDecodeError, LookupError) as exc:
        start = getattr(exc, "start", 0)
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        detail = f"byte 0x{data[start]:02x} is not valid {encoding}" if isinstance(
            exc, UnicodeDecodeError) else str(exc)
        return None, encoding, _problem(
            path, SYNTAX_ERROR, f"cannot decode this file: {detail} (declare its encoding with a "
            "`# -*- coding: ... -*-` line or save it as UTF-8)", line, column)


def lint_bytes(
    data: bytes,
    path: str,
    *,
    config: LintConfig,
    enabled: Collection[str],
    project=None,
    fix: bool = False,
) -> FileResult:
    if len(data) > MAX_BYTES:
        skipped = _problem(path, FILE_SKIPPED, f"skipped: {len(data) / 1e6:.1f} MB is over the "
                           f"{MAX_BYTES // 2**20} MiB limit for one file")
        return FileResult(path, (skipped,) if FILE_SKIPPED.code in enabled else ())
    text, encoding, problem = decode(data, path)
    if problem is not None:
        kept = (problem,) if problem.code in enabled else ()
        return FileResult(path, kept, count_lines(data.decode("latin-1")))
    assert text is not None
    notebook: NotebookProgram | None = None
    program = text
    if path.endswith(".ipynb"):
        try:
            notebook = read_notebook(text)
        except NotebookError as exc:
            problem = _problem(path, SYNTAX_ERROR, f"cannot lint this notebook: {exc}")
            return FileResult(path, (problem,) if problem.code in enabled else ())
        program = notebook.source

    guarded = None if parsed.guard_passed(program) else guard.check(program)
    if guarded is not None:
        kind, message, line, column = guarded
        code = SYNTAX_ERROR if kind == SYNTAX_ERROR.name else FILE_SKIPPED
        problem = _problem(path, code, message, line, column)
        if notebook is not None:
            problem = notebook.map_findings([problem])[0]
        return FileResult(path, (problem,) if problem.code in enabled else (), count_lines(program))
    findings = _analyze(program, path, config, enabled, project)
    result = FileResult(path, (), count_lines(program), encoding=encoding)
    if fix:
        text, program, notebook, findings, result.fixes_applied = _fix_loop(
            text, program, notebook, findings, path, config, enabled, project)
        if result.fixes_applied:
            result.original = data.decode(encoding)
            result.fixed = text
    findings = apply_suppressions(findings, program, path, enabled=enabled,
                                  report_unused=UNUSED_SUPPRESSION.code in enabled)
    if notebook is not None:
        findings = notebook.map_findings(findings)
    result.findings = tuple(findings)
    return result


def _analyze(program: str, path: str, config: LintConfig, enabled: Collection[str],
             project) -> list[Finding]:
    from mltrack.lint.analyze import analyze_source

    found = analyze_source(program, path, project=project, config=config, select=enabled)
    return [f for f in found if f.code in enabled]


def _keep_newlines(old: str, new: str) -> str:
    """Rules write fixes with `\n`; a CRLF file must stay CRLF."""
    crlf = old.count("\r\n")
    if crlf and crlf == old.count("\n"):
        return re.sub(r"(?<!\r)\n", "\r\n", new)
    return new


def _fix_loop(text, program, notebook, findings, path, config, enabled, project):
    """Apply safe fixes until none is left (a fix may enable another); stop, keeping the last
    good text, if a fix would make the file unparseable."""
    import libcst as cst

    from mltrack.lint.fixes import apply_fixes

    applied = 0
    for _ in range(MAX_FIX_PASSES):
        fixable = [f for f in findings if f.fix is not None and f.fix.safe and f.fix.edits]
        if not fixable:
            break
        if notebook is not None:
            new_text = notebook.apply_fixes(fixable)
            if new_text is None:
                break
            new_notebook = read_notebook(new_text)
            new_program = new_notebook.source
        else:
            new_text = new_program = _keep_newlines(program, apply_fixes(program, fixable))
            new_notebook = None
        if new_program == program:
            break
        try:
            cst.parse_module(new_program)
        except Exception:  # noqa: BLE001 - a fix that breaks the file is never written
            break
        applied += len(fixable)
        text, program, notebook = new_text, new_program, new_notebook
        findings = _analyze(program, path, config, enabled, project)
    return text, program, notebook, findings, applied
