"""The rule table in README.md and docs/rules.md are generated from the rules themselves and
must stay in sync with them. Regenerate with `python -m mltrack.lint.ruledocs`."""

from __future__ import annotations

from pathlib import Path


from mltrack.lint.registry import RULES
from mltrack.lint.ruledocs import END, START, rules_markdown, rules_table, table_in, with_table

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "run `python -m mltrack.lint.ruledocs` and commit the result"


def test_table_lists_every_rule_once_in_code_order() -> None:
    rows = [line for line in rules_table().splitlines()[2:]]
    assert [row.split("|")[1].strip() for row in rows] == [rule.code for rule in RULES]
    for rule, row in zip(RULES, rows):
        assert f"`{rule.name}`" in row and ("yes" in row) == bool(rule.fixable)


def test_docs_rules_md_is_up_to_date() -> None:
    path = ROOT / "docs" / "rules.md"
    assert path.is_file(), REGENERATE
    assert path.read_text(encoding="utf-8") == rules_markdown(), REGENERATE


def test_readme_table_is_up_to_date() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = table_in(readme)
    assert table is not None, f"README.md lost its {START} ... {END} block"
    assert table == rules_table(), REGENERATE


def test_with_table_replaces_only_the_block() -> None:
    text = f"intro\n{START}\nold\n{END}\noutro\n"
    new = with_table(text)
    assert new.startswith("intro\n") and new.endswith("outro\n")
    assert table_in(new) == rules_table()
