"""Entry points of the analysis: the rule registry, `analyze_source` and `apply_fixes`.

The engine (discovery, config, suppression, notebooks, cache, output) calls only what is here.
"""

from __future__ import annotations

import gc
import importlib
import pkgutil
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from mltrack.lint.builtin_codes import INTERNAL_ERROR
from mltrack.lint.project import ProjectIndex, build_project
from mltrack.lint.rule import Rule
from mltrack.model import Finding, Location

if TYPE_CHECKING:
    from mltrack.lint.config import LintConfig

__all__ = [
    "RULES",
    "ProjectIndex",
    "analyze_source",
    "apply_fixes",
    "build_project",
    "rule_by_code_or_name",
]


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
    wanted = key.strip()
    for rule in RULES:
        if wanted.upper() == rule.code or wanted.lower() == rule.name:
            return rule
    return None


def analyze_source(
    source: str,
    path: str,
    *,
    project: ProjectIndex | None = None,
    config: LintConfig | None = None,
    select: Collection[str] | None = None,
) -> list[Finding]:
    """All findings of the selected rules (codes; None = all) on one file. Never raises."""
    from mltrack.lint.runner import run_rules

    # A parsed file is a million small acyclic objects: the cyclic garbage collector finds
    # nothing in them but, triggered by their allocation, re-traverses them over and over.
    # Reference counting frees the tree; the collector is back on as soon as the file is done.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return run_rules(source, path, project=project, config=config, select=select)
    except Exception as exc:  # a crash on one file is a finding for that file, never a dead run
        return [
            INTERNAL_ERROR.finding(
                f"mltrack-lint crashed on this file: {type(exc).__name__}: {exc}",
                Location(path, 1, 1, 1, 1),
            )
        ]
    finally:
        if collecting:
            gc.enable()


def apply_fixes(source: str, findings: Sequence[Finding]) -> str:
    """Apply the safe fixes of `findings` to `source`; overlapping edits after the first are skipped."""
    from mltrack.lint.fixes import apply_edits

    edits = [
        edit
        for finding in findings
        if finding.fix is not None and finding.fix.safe
        for edit in finding.fix.edits
    ]
    return apply_edits(source, edits)
