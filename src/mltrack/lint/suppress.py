"""Suppression comments: `# noqa`, `# noqa: MLT001, missing-seed`, file-level `# mltrack: noqa`.

Only real comments count (a `# noqa` inside a string is text), found with `tokenize`; files that
never mention "noqa" skip that work. A directive that suppressed nothing is reported as an
`unused-suppression` warning - but only for mltrack codes that were enabled for the file (a
`# noqa: E501` belongs to another tool, a bare `# noqa` may too).
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from mltrack.lint.builtin_codes import UNUSED_SUPPRESSION
from mltrack.model import Finding, Location

_LINE_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[\w\-]+(?:[,\s]+[\w\-]+)*))?", re.IGNORECASE)
_FILE_NOQA = re.compile(
    r"#\s*mltrack:\s*noqa(?::\s*(?P<codes>[\w\-]+(?:[,\s]+[\w\-]+)*))?", re.IGNORECASE
)


@dataclass
class Directive:
    line: int
    column: int  # 1-based column of the `#`
    codes: tuple[str, ...] | None  # as written (codes or names); None = every rule
    used: set[str] = field(default_factory=set)  # codes it suppressed


@dataclass
class Suppressions:
    lines: dict[int, Directive] = field(default_factory=dict)
    file_all: bool = False
    file_codes: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.lines) or self.file_all or bool(self.file_codes)


def _comments(source: str) -> list[tuple[int, int, str]]:
    """(line, 1-based column, text) of each comment; falls back to a line scan when the file
    does not tokenize (the parser will report the syntax error anyway)."""
    found: list[tuple[int, int, str]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                found.append((token.start[0], token.start[1] + 1, token.string))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        found = []
        for number, line in enumerate(source.splitlines(), start=1):
            index = line.find("#")
            if index >= 0:
                found.append((number, index + 1, line[index:]))
    return found


def _split_codes(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    return tuple(part for part in re.split(r"[,\s]+", text) if part)


def parse_suppressions(source: str) -> Suppressions:
    result = Suppressions()
    if "noqa" not in source and "NOQA" not in source.upper():
        return result
    for line, column, comment in _comments(source):
        file_level = _FILE_NOQA.search(comment)
        if file_level:
            codes = _split_codes(file_level.group("codes"))
            if codes is None:
                result.file_all = True
            else:
                result.file_codes = result.file_codes | {_canonical(c) for c in codes}
            continue
        match = _LINE_NOQA.search(comment)
        if match:
            result.lines[line] = Directive(line, column, _split_codes(match.group("codes")))
    return result


def _canonical(key: str) -> str:
    """A code or rule name -> the code (upper-case); unknown keys stay as written."""
    from mltrack.lint.registry import rule_by_code_or_name

    rule = rule_by_code_or_name(key)
    if rule is not None:
        return rule.code
    return key.upper() if re.fullmatch(r"[A-Za-z]+\d+", key) else key


def apply_suppressions(
    findings: Sequence[Finding],
    source: str,
    path: str,
    *,
    enabled: Collection[str],
    report_unused: bool = True,
) -> list[Finding]:
    """Drop suppressed findings; add an `unused-suppression` warning per unused directive code."""
    suppressions = parse_suppressions(source)
    if not suppressions:
        return list(findings)
    kept: list[Finding] = []
    for finding in findings:
        if suppressions.file_all or finding.code in suppressions.file_codes:
            continue
        directive = suppressions.lines.get(finding.location.line)
        if directive is not None and finding.code != UNUSED_SUPPRESSION.code:
            wanted = None if directive.codes is None else {_canonical(c) for c in directive.codes}
            if wanted is None or finding.code in wanted:
                directive.used.add(finding.code)
                continue
        kept.append(finding)
    if report_unused and not suppressions.file_all:
        kept.extend(_unused(suppressions, path, enabled))
        kept.sort(key=lambda f: (f.location.line, f.location.column, f.code))
    return kept


def _unused(suppressions: Suppressions, path: str, enabled: Collection[str]) -> list[Finding]:
    warnings: list[Finding] = []
    for directive in suppressions.lines.values():
        if directive.codes is None:
            continue  # a bare `# noqa` may serve another linter
        unused = []
        for key in directive.codes:
            code = _canonical(key)
            ours = code.startswith("MLT") and code[3:].isdigit()
            if ours and code in enabled and code not in directive.used:
                unused.append(code)
            elif ours and code not in enabled and _unknown(code):
                unused.append(code)
        if unused:
            listed = ", ".join(unused)
            location = Location(path, directive.line, directive.column, directive.line,
                                directive.column + 1)
            warnings.append(
                UNUSED_SUPPRESSION.finding(
                    f"unused `noqa` directive for {listed}: nothing to suppress on this line",
                    location,
                )
            )
    return warnings


def _unknown(code: str) -> bool:
    from mltrack.lint.registry import rule_by_code_or_name

    return rule_by_code_or_name(code) is None and code != UNUSED_SUPPRESSION.code
