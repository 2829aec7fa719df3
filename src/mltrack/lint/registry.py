"""The rule table: every `Rule` under `lint/rules/`, in code order, and lookup by code or name.

The lint side's counterpart of `pressure/registry.py`. A rule is registered by existing: one
module under `lint/rules/` defining one `Rule` subclass (see docs/architecture.md, "A new lint
rule"). Config (`select`/`ignore`), suppressions, SARIF, `mltrack rules` and `explain` read
the table here; the analysis step (`analyze.analyze_source`) runs it.
"""

from __future__ import annotations

import importlib
import pkgutil

from mltrack.lint.rule import Rule

__all__ = ["RULES", "rule_by_code_or_name"]


def _load_rules() -> tuple[type[Rule], ...]:
    from mltrack.lint import rules as package

    found: list[type[Rule]] = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Rule)
                and value is not Rule
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return tuple(sorted(found, key=lambda rule: rule.code))


RULES: tuple[type[Rule], ...] = _load_rules()


def rule_by_code_or_name(key: str) -> type[Rule] | None:
    """The rule whose code (any case) or kebab-case name is `key`; None when there is none."""
    wanted = key.strip()
    for rule in RULES:
        if wanted.upper() == rule.code or wanted.lower() == rule.name:
            return rule
    return None
