"""The linter's own codes: the one table of what the pipeline reports itself (not a rule's check).

Configuration (`select`/`ignore`), SARIF's rule descriptors, `mltrack explain`, `mltrack rules`
and docs/rules.md all read this table; the pipeline builds these findings with
`BuiltinCode.finding`. No other module spells these codes (tests/lint/test_builtin_codes.py).

`syntax-error` is also listed as a rule (`rules/mlt014_syntax_error.py`) because users select,
ignore and look it up like one and its documentation has examples; its `check` reports nothing,
since a file that does not parse never reaches the rules - the pipeline reports it from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from mltrack.model import Finding, Location


@dataclass(frozen=True)
class BuiltinCode:
    code: str
    name: str
    summary: str  # one line: SARIF's short description
    severity: str  # "error" | "warning" (a warning does not fail the run)
    ignorable: bool  # False: `select`/`ignore` cannot name it (a crash is always reported)
    doc: str | None  # `explain` text; None when the rule class of the same code documents it

    def finding(self, message: str, location: Location) -> Finding:
        return Finding(self.code, self.name, message, location, severity=self.severity)

    def matches(self, key: str) -> bool:
        """`key` names this code, by code (any case) or by name."""
        return key.strip().upper() == self.code or key.strip().lower() == self.name


INTERNAL_ERROR = BuiltinCode(
    "MLT000", "internal-error", "mltrack-lint crashed on a file", "error", ignorable=False,
    doc="""## What it means
mltrack-lint crashed on this file (a bug in a rule, or the parser process died). The rest of
the run is unaffected; the exit code is 2 so CI does not mistake it for a clean file.

## What to do
Report it with the file (or a reduced version). `--ignore` cannot hide it.""",
)

SYNTAX_ERROR = BuiltinCode(
    "MLT014", "syntax-error", "File cannot be parsed", "error", ignorable=True,
    doc=None,  # documented by rules/mlt014_syntax_error.py
)

UNUSED_SUPPRESSION = BuiltinCode(
    "MLT100", "unused-suppression", "A `noqa` directive suppresses nothing", "warning",
    ignorable=True,
    doc="""## What it means
A `# noqa: MLT...` directive names a rule that is enabled but reported nothing on that line,
so the comment is stale and would hide a future finding. A warning: it does not fail the run.

## What to do
Delete the directive (or the code it names). Bare `# noqa` and other tools' codes
(`# noqa: E501`) are never reported. Switch the warning off with `ignore = ["MLT100"]`.""",
)

FILE_SKIPPED = BuiltinCode(
    "MLT101", "file-skipped", "A file was too large to lint", "warning", ignorable=True,
    doc="""## What it means
The file was not linted: it is larger than 8 MiB, or its expressions nest more than 1,000
levels deep (generated code), which the parser cannot handle in reasonable time. A warning.

## What to do
Exclude generated files with `exclude = [...]` in `[tool.mltrack.lint]`.""",
)

BUILTIN_CODES: tuple[BuiltinCode, ...] = (INTERNAL_ERROR, SYNTAX_ERROR, UNUSED_SUPPRESSION,
                                          FILE_SKIPPED)


def by_key(key: str) -> BuiltinCode | None:
    """The built-in code named `key` (code or name), or None."""
    return next((c for c in BUILTIN_CODES if c.matches(key)), None)


def documented_here() -> tuple[BuiltinCode, ...]:
    """Codes with no rule class behind them: their docs and SARIF descriptors come from here."""
    return tuple(c for c in BUILTIN_CODES if c.doc is not None)


__all__ = [
    "BUILTIN_CODES",
    "BuiltinCode",
    "FILE_SKIPPED",
    "INTERNAL_ERROR",
    "SYNTAX_ERROR",
    "UNUSED_SUPPRESSION",
    "by_key",
    "documented_here",
]
