"""The analysis step: one file's source -> the findings of the selected rules.

Parse once (or take the tree the project index already parsed), build the file's facts
(`context.FileContext`), run each selected rule of `registry.RULES`. A file that does not parse
is one `syntax-error` finding - a problem of the file, not of the linter. A crash of the linter
itself (a rule, the facts) propagates: the engine's per-file boundary (`engine._lint_one`) turns
it into one `internal-error` finding for that file, so there is one place that does so.
"""

from __future__ import annotations

import ast
import gc
import warnings
from collections.abc import Collection
from typing import TYPE_CHECKING

import libcst as cst

from mltrack.lint import cstparse, parsed
from mltrack.lint.builtin_codes import SYNTAX_ERROR
from mltrack.lint.registry import RULES
from mltrack.model import Finding, Location

if TYPE_CHECKING:
    from mltrack.lint.config import LintConfig
    from mltrack.lint.project import ProjectIndex

__all__ = ["analyze_source", "syntax_error_finding"]


def analyze_source(
    source: str,
    path: str,
    *,
    project: ProjectIndex | None = None,
    config: LintConfig | None = None,
    select: Collection[str] | None = None,
) -> list[Finding]:
    """All findings of the selected rules (codes; None = all) on one file, sorted by position.
    Raises only on a bug of the linter; the exception names the rule it happened in."""
    # A parsed file is a million small acyclic objects: the cyclic garbage collector finds
    # nothing in them but, triggered by their allocation, re-traverses them over and over.
    # Reference counting frees the tree; the collector is back on as soon as the file is done.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run_rules(source, path, project, config, select)
    finally:
        if collecting:
            gc.enable()


def _run_rules(source: str, path: str, project, config, select) -> list[Finding]:
    wanted = None if select is None else {s.upper() for s in select}
    kept = parsed.take(source)  # parsed already for the project index (one-job runs)
    if kept is not None:
        module, kept_name, kept_facts = kept
    else:
        kept_name, kept_facts = None, None
        try:
            module = cstparse.parse_module(source)
        except cst.ParserSyntaxError as exc:
            if wanted is None or SYNTAX_ERROR.code in wanted:
                return [syntax_error_finding(path, exc, source)]
            return []
    from mltrack.lint.context import FileContext

    ctx = FileContext.build(source, path, module, project=project, config=config,
                            facts_of=(kept_name, kept_facts))
    if ctx is None:  # imports no ML or tracking library: nothing to judge
        return []
    findings: list[Finding] = []
    for rule in RULES:
        if wanted is not None and rule.code not in wanted:
            continue
        try:
            findings.extend(rule().check(ctx))
        except Exception as exc:
            exc.add_note(f"in rule {rule.code} ({rule.name})")  # for the internal-error message
            raise
    findings.sort(key=lambda f: (f.location.line, f.location.column, f.code))
    return findings


def syntax_error_finding(path: str, exc: cst.ParserSyntaxError, source: str = "") -> Finding:
    """libcst's error positions are rough; Python's own parser (run only on failure) names the
    exact line and column when it rejects the file too."""
    first_line = str(exc.message).splitlines()[0] if exc.message else "invalid syntax"
    line, column = exc.raw_line, exc.raw_column + 1
    try:
        with warnings.catch_warnings():  # SyntaxWarnings are not ours to print
            warnings.simplefilter("ignore")
            compile(source, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        if error.lineno:
            line, column = error.lineno, max(error.offset or 1, 1)
            first_line = error.msg
    except (ValueError, RecursionError, MemoryError):  # null bytes, absurd nesting
        pass
    return SYNTAX_ERROR.finding(
        f"cannot parse this file: {first_line}",
        Location(path, line, column, line, column),
    )
