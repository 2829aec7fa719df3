"""Parse once, build the file's facts, run the selected rules."""

from __future__ import annotations

import ast
import warnings
from collections.abc import Collection
from typing import TYPE_CHECKING

import libcst as cst

from mltrack.lint.builtin_codes import INTERNAL_ERROR, SYNTAX_ERROR
from mltrack.model import Finding, Location

if TYPE_CHECKING:
    from mltrack.lint.config import LintConfig
    from mltrack.lint.project import ProjectIndex


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


def run_rules(
    source: str,
    path: str,
    *,
    project: ProjectIndex | None = None,
    config: LintConfig | None = None,
    select: Collection[str] | None = None,
) -> list[Finding]:
    from mltrack.lint.analyze import RULES

    from mltrack.lint import parsed

    wanted = None if select is None else {s.upper() for s in select}
    kept = parsed.take(source)  # parsed already for the project index (one-job runs)
    if kept is not None:
        module, kept_name, kept_facts = kept
    else:
        kept_name, kept_facts = None, None
        try:
            module = cst.parse_module(source)
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
        except Exception as exc:  # one broken rule must not hide the others' findings
            findings.append(INTERNAL_ERROR.finding(
                f"rule {rule.code} ({rule.name}) crashed on this file: {type(exc).__name__}: {exc}",
                Location(path, 1, 1, 1, 1),
            ))
    findings.sort(key=lambda f: (f.location.line, f.location.column, f.code))
    return findings
