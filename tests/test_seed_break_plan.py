"""The break plan (seed/breaks.py) is the one place the ten `--break` decisions live.

Every registered pressure check has exactly one plan entry, each entry changes exactly one
property of the reference history and no two entries change the same one, and both seeders
read the plan instead of testing break names themselves. Fast: no store is seeded here
(tests/test_seed_breaks.py and tests/test_wandb_checks.py seed the break stores).
"""

from __future__ import annotations

import ast
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mltrack.errors import UsageError
from mltrack.pressure.registry import CHECKS
from mltrack.seed import breaks
from mltrack.seed.breaks import PLANS, REFERENCE, BreakPlan, Omissions, changed_fields, plan_for

SEED_DIR = Path(breaks.__file__).parent
SEEDERS = ("seeder.py", "wandb_seeder.py")
PROPERTIES = tuple(f.name for f in fields(BreakPlan) if f.name != "description")


def _coverage_problems(check_names: list[str], plans: dict[str, BreakPlan]) -> list[str]:
    """Why `plans` does not give each check exactly one break of its own (empty: it does)."""
    problems = [f"{name}: registered without a break" for name in check_names if name not in plans]
    problems += [f"{name}: a break for no registered check" for name in plans if name not in check_names]
    owners: dict[str, list[str]] = {}
    for name, plan in plans.items():
        changed = changed_fields(plan)
        if len(changed) != 1:
            problems.append(f"{name}: changes {len(changed)} properties {changed}, not exactly one")
        for prop in changed:
            owners.setdefault(prop, []).append(name)
    problems += [f"{prop}: changed by {names}" for prop, names in owners.items() if len(names) > 1]
    problems += [f"{prop}: no break changes it" for prop in PROPERTIES if prop not in owners]
    return problems


def test_every_registered_check_has_exactly_one_break_of_its_own() -> None:
    names = [check.name for check in CHECKS]
    assert _coverage_problems(names, PLANS) == []
    assert list(PLANS) == names  # registry order: `mltrack seed --help` lists them MLP01-MLP10
    assert changed_fields(REFERENCE) == ()


def test_the_coverage_check_can_fail() -> None:
    """A check registered without a break, or a break that changes two things, is reported."""
    names = [check.name for check in CHECKS]
    assert _coverage_problems(names + ["new-check"], PLANS) == ["new-check: registered without a break"]
    doubled = dict(PLANS, rollback=PLANS["production-model"])
    problems = _coverage_problems(names, doubled)
    assert "production_alias: changed by ['production-model', 'rollback']" in problems
    assert "promotion_records: no break changes it" in problems


def test_descriptions_are_the_help_lines() -> None:
    assert breaks.BREAKS == {name: plan.description for name, plan in PLANS.items()}
    assert len(set(breaks.BREAKS.values())) == len(PLANS)
    assert all(line and line != REFERENCE.description for line in breaks.BREAKS.values())


def test_plan_for_answers_the_reference_and_refuses_unknown_names() -> None:
    assert plan_for(None) is REFERENCE
    assert plan_for("rollback") is PLANS["rollback"]
    with pytest.raises(UsageError, match="unknown --break 'rollbak'"):
        plan_for("rollbak")


def _timeline():
    from mltrack.seed import plan

    configs = plan.search_configs(plan.MIN_RUNS)
    accs = [0.5 + 0.01 * (i % 5) for i in range(len(configs))]  # several runs tie for the best
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    return plan.build_timeline(configs, accs, now), now


def test_omissions_follow_the_plan_per_run() -> None:
    timeline, now = _timeline()
    slots = timeline.slots
    assert len(timeline.best_indexes) > 1
    assert all(REFERENCE.omissions(s, timeline, now) == Omissions() for s in slots)
    recovery = [PLANS["recovery"].omissions(s, timeline, now).seed_and_commit for s in slots]
    assert recovery == [s.index in timeline.best_indexes for s in slots]
    assert all(PLANS["data-change"].omissions(s, timeline, now) == Omissions(data_hash=True) for s in slots)
    stripped = [PLANS["long-term-repro"].omissions(s, timeline, now).environment_and_artifacts for s in slots]
    assert stripped == [s.start < now - timedelta(days=breaks.OLD_RUN_DAYS) for s in slots]
    assert any(stripped) and not all(stripped)


def _string_constants(tree: ast.AST) -> set[str]:
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def _called_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.id if isinstance(func, ast.Name) else getattr(func, "attr", ""))
    return names


@pytest.mark.parametrize("module", SEEDERS)
def test_seeders_read_the_plan_and_name_no_break(module: str) -> None:
    """A seeder that tests `break_check == "rollback"` again would pass this only by reading the plan."""
    tree = ast.parse((SEED_DIR / module).read_text())
    named = _string_constants(tree) & set(PLANS)
    assert not named, f"{module} names breaks {sorted(named)}: read seed/breaks.py's plan instead"
    assert "plan_for" in _called_names(tree)
    read = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)} & set(PROPERTIES)
    # Every property is translated by the seeder, directly or through BreakPlan.omissions.
    through_omissions = {"best_runs_lose_seed_and_commit", "runs_lose_data_hash",
                         "old_runs_lose_environment_after_days"}
    assert read | through_omissions == set(PROPERTIES), set(PROPERTIES) - read - through_omissions
    assert "omissions" in _called_names(tree)
