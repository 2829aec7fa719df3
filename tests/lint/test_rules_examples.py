"""Every rule's VALID/INVALID examples, run through the real analysis (the examples are the
rules' tests and docs; examples with `files=` get the project index the engine builds); fixes are proven by `Invalid(..., fixed=...)` examples: applying them
gives exactly the expected source, which parses, and re-linting it finds nothing to fix."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from mltrack.lint.analyze import analyze_source
from mltrack.lint.fixes import apply_fixes
from mltrack.lint.registry import RULES
from mltrack.lint.rule import Invalid, Rule, Valid
from tests.support.lint_project import project_index


def _cases(kind: str):
    for rule in RULES:
        for index, example in enumerate(getattr(rule, kind)):
            yield pytest.param(rule, example, id=f"{rule.code}-{rule.name}-{index}")


def _lint(rule: type[Rule], code: str, files, tmp_path: Path):
    project = None
    path = "example.py"
    if files:
        for name, text in (*files, ("example.py", code)):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(text)
        project = project_index(tmp_path, [tmp_path / "example.py"])  # the engine's builder
        path = str(tmp_path / "example.py")
    found = analyze_source(code, path, project=project, select=[rule.code])  # a crash raises
    return [f for f in found if f.code == rule.code]


@pytest.mark.parametrize(("rule", "example"), list(_cases("VALID")))
def test_valid_example_is_clean(rule: type[Rule], example, tmp_path: Path) -> None:
    example = example if isinstance(example, Valid) else Valid(example)
    assert _lint(rule, example.code, example.files, tmp_path) == []


@pytest.mark.parametrize(("rule", "example"), list(_cases("INVALID")))
def test_invalid_example_triggers(rule: type[Rule], example, tmp_path: Path) -> None:
    example = example if isinstance(example, Invalid) else Invalid(example)
    found = _lint(rule, example.code, example.files, tmp_path)
    assert found, f"{rule.code} did not trigger on:\n{example.code}"
    first = found[0]
    if example.line is not None:
        assert first.location.line == example.line
    if example.message is not None:
        assert example.message in first.message
    if example.fixed is not None:
        assert rule.fixable
        fixed = apply_fixes(example.code, found)
        assert fixed == example.fixed
        cst.parse_module(fixed)
        again = _lint(rule, fixed, example.files, tmp_path)
        assert not [f for f in again if f.fix is not None], again
        assert apply_fixes(fixed, again) == fixed  # idempotent


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_metadata_and_docs(rule: type[Rule]) -> None:
    assert rule.code.startswith("MLT") and rule.name == rule.name.lower()
    assert rule.VALID and rule.INVALID
    doc = rule.doc()
    for section in ("What it does", "Why is this bad?", "Example", "Use instead", "Options"):
        assert f"## {section}" in doc, (rule.code, section)


def test_fixable_rules_prove_their_fix() -> None:
    fixable = [r for r in RULES if r.fixable]
    assert len(fixable) >= 3
    for rule in fixable:
        assert any(isinstance(e, Invalid) and e.fixed for e in rule.INVALID), rule.code


def test_codes_and_names_are_the_contract() -> None:
    expected = [
        ("MLT001", "missing-seed"), ("MLT002", "partial-seed"), ("MLT003", "nondeterministic-ops"),
        ("MLT004", "unlogged-hyperparameters"), ("MLT005", "missing-data-version"),
        ("MLT006", "missing-code-version"), ("MLT007", "model-overwrite"),
        ("MLT008", "unversioned-predictions"), ("MLT009", "metrics-not-logged"),
        ("MLT010", "untracked-results-file"), ("MLT011", "unclosed-run"),
        ("MLT012", "hardcoded-secret"), ("MLT013", "silent-tracking-failure"),
        ("MLT014", "syntax-error"),
    ]
    assert [(r.code, r.name) for r in RULES] == expected
