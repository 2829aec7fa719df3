"""The map in docs/architecture.md, enforced.

1. Import direction: every `import` of every module under src/mltrack (module level, inside
   functions, under `if TYPE_CHECKING:` - all count) is parsed with `ast` and checked against the
   layer table below. Today's violations are listed in KNOWN_VIOLATIONS with the item of issue 12
   that removes them: a NEW violation fails, and so does an entry whose import is gone (delete it:
   the seam is mended).
2. Nothing registered half-way: every pressure check has its module with documentation, a
   `--break` in the seeder and tests that exercise it by name; every lint rule has its
   documentation and VALID/INVALID examples.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "mltrack"
TESTS = ROOT / "tests"

# --------------------------------------------------------------------------- the layer table

# A module's layer is its sub-package under mltrack; every top-level module (model.py, errors.py,
# uri.py, config.py, ranking.py, run_kinds.py, ...) is "core", pytest_plugin.py is "plugin",
# service.py (the orchestration: open the store, run the checks, hand results to report/) is "service".
PACKAGES = ("stores", "lint", "pressure", "report", "ops", "seed", "cli")

# Which layers each layer may import (itself included). Read it bottom-up: core imports only
# core; the linter sees only core (it must run without any tracking SDK); stores, pressure, ops
# and seed build on stores; report renders pressure's data; the service runs pressure against a
# store and hands the outcome to report; cli and the plugin sit on top, and nothing imports them.
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset({"core"}),
    "stores": frozenset({"core", "stores"}),
    "lint": frozenset({"core", "lint"}),
    "pressure": frozenset({"core", "stores", "pressure"}),
    "ops": frozenset({"core", "stores", "ops"}),
    "seed": frozenset({"core", "stores", "seed"}),
    "report": frozenset({"core", "pressure", "report"}),
    "service": frozenset({"core", "stores", "pressure", "report", "service"}),
    "plugin": frozenset({"core", "stores", "pressure", "report", "service", "plugin"}),
    "cli": frozenset({"core", "stores", "lint", "pressure", "report", "service", "ops", "seed", "cli"}),
}

# The bottom of the house: the types and the errors import nothing of mltrack.
FOUNDATION = ("mltrack.model", "mltrack.errors")

# Finer rules inside a layer.
# - A lint rule reads the analysis model (context, facts, effects, ...), never the pipeline.
LINT_PIPELINE = (
    "mltrack.lint.analyze", "mltrack.lint.cache", "mltrack.lint.config", "mltrack.lint.discover",
    "mltrack.lint.engine", "mltrack.lint.filelint", "mltrack.lint.fixes", "mltrack.lint.formats",
    "mltrack.lint.guard", "mltrack.lint.index", "mltrack.lint.notebook", "mltrack.lint.ruledocs",
    "mltrack.lint.suppress", "mltrack.lint.registry",
)
# - A check sees its GatherContext and the snapshot: never the runner, the registry, another
#   check or a concrete store.
CHECK_FORBIDDEN = ("mltrack.pressure.runner", "mltrack.pressure.registry", "mltrack.pressure.checks",
                   "mltrack.stores")
# - report/ renders: from pressure it reads only the data contracts (policy, assumptions, the
#   registry's names), never the runner or the run queries.
REPORT_MAY_READ = ("mltrack.pressure.policy", "mltrack.pressure.assumptions", "mltrack.pressure.registry")
# - ops/ (rollback, cleanup) follows the same policy and zero-configuration inference as the
#   checks (one answer to "which alias is production?"), so it may read those two contracts.
OPS_MAY_READ = ("mltrack.pressure.policy", "mltrack.pressure.assumptions")

# Third-party libraries and the only layers that may import them.
VENDOR_SDKS = ("mlflow", "wandb", "torch", "pandas", "numpy", "sklearn")
VENDOR_LAYERS = frozenset({"stores", "seed"})
ONLY_IN = {"click": frozenset({"cli"}), "pytest": frozenset({"plugin"}), "_pytest": frozenset({"plugin"})}

# Today's violations: (importer, imported) -> the issue-12 item that removes it.
KNOWN_VIOLATIONS: dict[tuple[str, str], str] = {}
# Tolerated while issue-12 work is under way, but not required to exist (uncommitted today).
# Add an edge here only while a change is half-landed in the shared tree, and say which item.
IN_FLIGHT: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in PACKAGES:
        return parts[1]
    if module == "mltrack.pytest_plugin":
        return "plugin"
    if module == "mltrack.service":
        return "service"
    return "core"


def _is_module(name: str) -> bool:
    base = SRC / name.replace(".", "/")
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


@cache
def imports_of(path: Path) -> tuple[str, ...]:
    """Every module `path` imports, anywhere in the file; `from pkg import sub` names `pkg.sub`
    when `sub` is a module, relative imports resolved."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if target.startswith("mltrack") and _is_module(sub) else target)
    return tuple(sorted(found))


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield module_name(path), path


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations() -> dict[tuple[str, str], str]:
    """(importer, imported) -> the rule it breaks."""
    found: dict[tuple[str, str], str] = {}
    for importer, path in modules():
        own = layer(importer)
        for imported in imports_of(path):
            top = imported.split(".")[0]
            edge = (importer, top if top != "mltrack" else imported)
            if top == "mltrack":
                if importer in FOUNDATION:
                    found[edge] = f"{importer} is the foundation and imports nothing of mltrack"
                elif own == "ops" and _within(imported, OPS_MAY_READ):
                    continue
                elif layer(imported) not in ALLOWED[own]:
                    found[edge] = f"{own} may not import {layer(imported)}"
                elif importer.startswith("mltrack.lint.rules.") and _within(imported, LINT_PIPELINE):
                    found[edge] = "a lint rule imports the lint pipeline"
                elif importer.startswith("mltrack.pressure.checks.") and _within(imported, CHECK_FORBIDDEN):
                    found[edge] = "a pressure check imports the runner, registry, another check or a store"
                elif own == "report" and layer(imported) == "pressure" and not _within(imported, REPORT_MAY_READ):
                    found[edge] = "report/ reaches past pressure's data contracts"
            elif top in VENDOR_SDKS and own not in VENDOR_LAYERS:
                found[edge] = f"{top} imported outside stores/ and seed/"
            elif top in ONLY_IN and own not in ONLY_IN[top]:
                found[edge] = f"{top} imported outside {'/'.join(sorted(ONLY_IN[top]))}"
    return found


def test_layers_cover_every_module() -> None:
    names = [name for name, _ in modules()]
    assert len(names) > 100, "src/mltrack not found where the test expects it"
    assert {layer(n) for n in names} == set(ALLOWED)


def test_no_new_import_violations() -> None:
    new = {edge: why for edge, why in violations().items()
           if edge not in KNOWN_VIOLATIONS and edge not in IN_FLIGHT}
    assert not new, "imports against docs/architecture.md (fix the import, or change the map " \
        "and the doc together):\n" + "\n".join(f"  {a} -> {b}: {why}" for (a, b), why in sorted(new.items()))


def test_known_violations_are_still_there() -> None:
    gone = sorted(set(KNOWN_VIOLATIONS) - set(violations()))
    assert not gone, "seam mended: delete these from KNOWN_VIOLATIONS (and from docs/architecture.md):\n" \
        + "\n".join(f"  {a} -> {b} ({KNOWN_VIOLATIONS[(a, b)]})" for a, b in gone)


def test_the_checker_sees_what_it_must(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parser itself: a function-level import counts, relative imports resolve, and each
    kind of violation is reported (so an empty result above means something)."""
    assert "mltrack.stores" in imports_of(PACKAGE / "pressure" / "runner.py")  # inside run_checks
    assert "mltrack.pressure.checks.recovery" in imports_of(PACKAGE / "pressure" / "registry.py")
    assert "mltrack.stores" in imports_of(PACKAGE / "service.py")  # inside open_adapter
    monkeypatch.setitem(ALLOWED, "service", ALLOWED["report"])  # the service demoted to a renderer
    assert ("mltrack.service", "mltrack.stores") in violations()
    monkeypatch.undo()
    assert "mlflow.tracking" in imports_of(PACKAGE / "stores" / "mlflow_writes.py")  # inside a function
    assert layer("mltrack.pytest_plugin") == "plugin" and layer("mltrack.uri") == "core"
    assert layer("mltrack.service") == "service"
    assert "report" not in ALLOWED["lint"] and "cli" not in ALLOWED["plugin"]


def test_nothing_imports_the_top() -> None:
    for importer, path in modules():
        for imported in imports_of(path):
            if layer(imported) == "cli" and imported.startswith("mltrack."):
                assert layer(importer) == "cli", f"{importer} imports {imported}"
            if imported == "mltrack.pytest_plugin":
                pytest.fail(f"{importer} imports the pytest plugin")


# --------------------------------------------------------------------------- checks: nothing half-way


def _checks():
    from mltrack.pressure.registry import CHECKS

    return CHECKS


def _snake(name: str) -> str:
    return name.replace("-", "_")


def _string_constants(path: Path) -> set[str]:
    return {n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _break_plan() -> dict[str, object] | None:
    """The single break plan of seed/breaks.py, when it exists: a module-level dict keyed by the
    check names whose values are plan entries (not just the one-line descriptions)."""
    from mltrack.seed import breaks

    names = {c.name for c in _checks()}
    for value in vars(breaks).values():
        if (isinstance(value, dict) and value and set(value) <= names
                and not all(isinstance(v, str) for v in value.values())):
            return value
    return None


@pytest.mark.parametrize("check", _checks(), ids=lambda c: c.name)
def test_check_has_module_and_documentation(check) -> None:
    module = inspect.getmodule(check.judge)
    assert module.__name__ == f"mltrack.pressure.checks.{_snake(check.name)}", module.__name__
    assert module.__doc__ and check.code in module.__doc__, "module docstring names the check's code"
    for section in ("What it checks", "Why it matters", "How it fails", "How to fix"):
        assert f"## {section}" in check.doc, f"{check.name}: doc lacks '## {section}'"
    assert re.fullmatch(r"MLP\d\d", check.code) and re.fullmatch(r"[a-z]+(-[a-z]+)*", check.name)


@pytest.mark.parametrize("check", _checks(), ids=lambda c: c.name)
def test_check_has_a_break_in_the_seeder(check) -> None:
    from mltrack.seed.breaks import BREAKS, validate_break

    assert validate_break(check.name) == check.name
    assert check.name in BREAKS and BREAKS[check.name], "a one-line description of the break"
    plan = _break_plan()
    if plan is not None:  # one plan both seeders read (issue 12 item 8)
        assert check.name in plan, f"no entry for {check.name} in the break plan of seed/breaks.py"
        from mltrack.seed import breaks

        if hasattr(breaks, "changed_fields"):  # the entry takes something away
            assert breaks.changed_fields(plan[check.name]), f"the {check.name} plan lacks nothing"
        return
    for seeder in ("seeder.py", "wandb_seeder.py"):  # today: each seeder decides on the name
        assert check.name in _string_constants(PACKAGE / "seed" / seeder), \
            f"seed/{seeder} never acts on --break {check.name}"


@pytest.mark.parametrize("check", _checks(), ids=lambda c: c.name)
def test_check_is_exercised_by_name(check) -> None:
    shipped = ROOT / "checks" / f"test_{_snake(check.name)}.py"
    assert shipped.is_file(), f"checks/{shipped.name}: the check as a readable pytest file"
    assert check.name in _string_constants(shipped)
    named = [p for p in TESTS.rglob("test_*.py") if p.name != Path(__file__).name
             and re.search(rf"^def test_{_snake(check.name)}_", p.read_text(encoding="utf-8"), re.M)]
    assert named, f"no test function `test_{_snake(check.name)}_...` under tests/"


def test_every_check_module_is_registered() -> None:
    registered = {_snake(c.name) for c in _checks()}
    modules_on_disk = {p.stem for p in (PACKAGE / "pressure" / "checks").glob("*.py") if p.stem != "__init__"}
    assert modules_on_disk == registered


# --------------------------------------------------------------------------- rules: docs + examples


def _rules():
    from mltrack.lint.registry import RULES

    return RULES


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r.code)
def test_rule_has_docs_and_examples(rule) -> None:
    assert re.fullmatch(r"MLT\d{3}", rule.code) and re.fullmatch(r"[a-z]+(-[a-z]+)*", rule.name)
    assert rule.__module__.startswith(f"mltrack.lint.rules.{rule.code.lower()}_")
    doc = rule.doc()
    for section in ("What it does", "Why is this bad?", "Example", "Use instead", "Options"):
        assert f"## {section}" in doc, f"{rule.code}: doc lacks '## {section}'"
    assert rule.VALID and rule.INVALID, f"{rule.code}: VALID and INVALID examples are its tests"
    assert f"`{rule.name}`" in (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")


def test_the_linter_reaches_no_tracking_sdk() -> None:
    """Everything lint/ imports, followed through mltrack's own modules: no vendor SDK, so the
    pre-commit hook can run the linter without MLflow, W&B, torch, pandas or numpy."""
    paths = {name: path for name, path in modules()}
    todo = [name for name in paths if layer(name) == "lint"]
    seen: set[str] = set(todo)
    reached: dict[str, str] = {}
    while todo:
        importer = todo.pop()
        for imported in imports_of(paths[importer]):
            top = imported.split(".")[0]
            if top in VENDOR_SDKS:
                reached.setdefault(top, importer)
            elif top == "mltrack" and imported in paths and imported not in seen:
                seen.add(imported)
                todo.append(imported)
    assert not reached, f"lint/ reaches {reached} (SDK: first importer)"
    assert "mltrack.model" in seen and "mltrack.pressure.registry" not in seen


def test_docs_refer_to_nothing_outside_the_repository() -> None:
    """A clone has no ../shared/: the README and docs/ link to the map in the repository."""
    texts = {p.relative_to(ROOT): p.read_text(encoding="utf-8")
             for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]}
    outside = [str(path) for path, text in texts.items() if re.search(r"\.\./shared|/work/shared", text)]
    assert not outside, f"references to files outside the repository in {outside}"
    assert "docs/architecture.md" in texts[Path("README.md")]


def test_vendor_sdks_are_imported_lazily() -> None:
    """At module level (outside `if TYPE_CHECKING:`) only seed/'s training modules import an SDK,
    so `mltrack --help`, `mltrack-lint` and a store-less import of mltrack stay fast."""
    eager = []
    for name, path in modules():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                tops = [(node.module or "").split(".")[0]]
            else:
                continue
            eager += [f"{name}: {top}" for top in tops if top in VENDOR_SDKS and layer(name) != "seed"]
    assert not eager, eager
