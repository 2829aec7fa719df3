"""The linter's own codes (internal-error, syntax-error, unused-suppression, file-skipped) are
declared once, in `mltrack.lint.builtin_codes`: configuration, SARIF, `explain`, `rules` and the
pipeline read that table, and no other module spells the codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mltrack.lint import builtin_codes
from mltrack.lint.registry import RULES
from mltrack.lint.builtin_codes import BUILTIN_CODES, SYNTAX_ERROR
from mltrack.lint.config import ENGINE_CODES, LintConfig
from mltrack.lint.formats.sarif import _rule_descriptors
from mltrack.lint.ruledocs import ENGINE_DOCS, engine_doc, rules_markdown

PACKAGE = Path(builtin_codes.__file__).resolve().parents[1]
TABLE = {c.code: c for c in BUILTIN_CODES}
RULE_CODES = {r.code: r for r in RULES}


def test_every_code_is_documented_exactly_once() -> None:
    """Each built-in code is either a rule (documented by its module) or documented by the
    table - never both, never neither."""
    for code in BUILTIN_CODES:
        assert (code.code in RULE_CODES) != (code.doc is not None), code.code
    assert len(TABLE) == len(BUILTIN_CODES)


def test_configuration_reads_the_table() -> None:
    assert ENGINE_CODES == {c.code: c.name for c in BUILTIN_CODES if c.ignorable}
    on = LintConfig(select=("MLT001",)).enabled_codes([r.code for r in RULES])
    assert {c.code for c in BUILTIN_CODES if c.ignorable} <= on


def test_sarif_describes_every_code_from_the_table() -> None:
    described = {d["id"]: d for d in _rule_descriptors()}
    assert set(TABLE) <= set(described)
    for code in BUILTIN_CODES:
        descriptor = described[code.code]
        assert descriptor["name"] == code.name
        assert descriptor["shortDescription"]["text"] == code.summary
        assert descriptor["defaultConfiguration"]["level"] == code.severity


def test_explain_and_docs_read_the_table() -> None:
    assert ENGINE_DOCS == {c.code: (c.name, c.doc) for c in BUILTIN_CODES if c.doc}
    page = rules_markdown()
    for code in BUILTIN_CODES:
        if code.doc is not None:
            assert engine_doc(code.code) == engine_doc(code.name.upper()) is not None
            assert code.doc.splitlines()[1] in engine_doc(code.code)
            assert code.doc.splitlines()[1] in page
        else:
            assert engine_doc(code.code) is None  # the rule documents it


def test_the_syntax_error_rule_is_declared_by_the_table() -> None:
    rule = RULE_CODES[SYNTAX_ERROR.code]
    assert (rule.code, rule.name, rule.summary) == (
        SYNTAX_ERROR.code, SYNTAX_ERROR.name, SYNTAX_ERROR.summary)


@pytest.mark.parametrize("code", BUILTIN_CODES, ids=lambda c: c.code)
def test_findings_carry_the_tables_name_and_severity(code: builtin_codes.BuiltinCode) -> None:
    from mltrack.model import Location

    finding = code.finding("message", Location("x.py", 1, 1, 1, 1))
    assert (finding.code, finding.name, finding.severity) == (code.code, code.name, code.severity)


def test_no_other_module_spells_the_codes() -> None:
    """A grep: the table is the single source; everything else imports it."""
    literal = re.compile("|".join(re.escape(c.code) for c in BUILTIN_CODES))
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{n}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.resolve() != Path(builtin_codes.__file__).resolve()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if literal.search(line)
    ]
    assert offenders == []
