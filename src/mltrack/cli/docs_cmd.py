"""`mltrack explain CODE|NAME`, `mltrack rules`, `mltrack checks`: the built-in documentation.

Lint rules come from `mltrack.lint.registry.RULES`, pressure checks from
`mltrack.pressure.registry.CHECKS`; both are listed with code, name, summary and fixable.
"""

from __future__ import annotations

import json
from typing import Any

import click

from mltrack.cli import main
from mltrack.cli.common import handle_errors
from mltrack.errors import UsageError

_LIST_FORMATS = ("text", "json", "markdown")


def _rules() -> list[Any]:
    from mltrack.lint.registry import RULES

    return list(RULES)


def _checks() -> list[Any]:
    from mltrack.pressure.registry import CHECKS  # part of mltrack: its absence is a bug, not an option

    return list(CHECKS)


def _doc(item: Any) -> str:
    doc = item.doc
    return doc() if callable(doc) else str(doc)


def _entry(item: Any) -> dict[str, Any]:
    return {"code": item.code, "name": item.name, "summary": item.summary,
            "fixable": bool(getattr(item, "fixable", False))}


def _render_list(items: list[Any], fmt: str, title: str) -> str:
    entries = [_entry(i) for i in items]
    if fmt == "json":
        return json.dumps(entries, indent=2) + "\n"
    if fmt == "markdown":
        if title == "rules":
            from mltrack.lint.ruledocs import rules_table

            return rules_table()
        rows = ["| Code | Name | What it checks |", "| --- | --- | --- |"]
        rows += [f"| {e['code']} | `{e['name']}` | {e['summary']} |" for e in entries]
        return "\n".join(rows) + "\n"
    width = max((len(e["name"]) for e in entries), default=0)
    return "".join(
        f"{e['code']}  {e['name']:<{width}}  {'[*] ' if e['fixable'] else ''}{e['summary']}\n"
        for e in entries
    )


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(_LIST_FORMATS), default="text", show_default=True)
@handle_errors
def rules_command(fmt: str) -> None:
    """List the lint rules ([*]: has a safe fix)."""
    click.echo(_render_list(_rules(), fmt, "rules"), nl=False)


@main.command("checks")
@click.option("--format", "fmt", type=click.Choice(_LIST_FORMATS), default="text", show_default=True)
@handle_errors
def checks_command(fmt: str) -> None:
    """List the ten pressure checks."""
    click.echo(_render_list(_checks(), fmt, "checks"), nl=False)


def find_doc(key: str) -> str:
    """The documentation of a lint rule or pressure check, by code or name."""
    from mltrack.lint.registry import rule_by_code_or_name

    from mltrack.lint.ruledocs import engine_doc

    rule = rule_by_code_or_name(key)
    if rule is not None:
        return rule.doc()
    if (doc := engine_doc(key)) is not None:
        return doc
    wanted = key.strip()
    for check in _checks():
        if wanted.upper() == check.code or wanted.lower() == check.name:
            text = _doc(check)
            heading = f"# {check.name} ({check.code})"
            return text if text.lstrip().startswith("# ") else f"{heading}\n\n{text.strip()}\n"
    raise UsageError(f"unknown rule or check {key!r}",
                     "see `mltrack rules` and `mltrack checks` for codes and names")


@main.command("explain")
@click.argument("key", metavar="CODE|NAME")
@handle_errors
def explain_command(key: str) -> None:
    """Print the documentation of a lint rule (MLT001, missing-seed) or a check (MLP05, rollback)."""
    text = find_doc(key)
    click.echo(text if text.endswith("\n") else text + "\n", nl=False)
