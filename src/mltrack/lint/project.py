"""Cross-module facts: what each module of the linted project's functions do.

`summarize_module` keeps a small, picklable summary per module (which top-level functions seed
which generators, log parameters, track runs, ...), so a `set_seed()` defined in `utils.py`
seeds `train.py` that calls it. `ProjectIndex` holds the summaries and answers the rules'
questions; `index.build_index` (the one builder) fills it and the engine sends it to worker
processes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# A function summary: the set of effect names it has, e.g. {"seed:torch", "log:params", "track"}.
FunctionEffects = frozenset[str]


@dataclass(frozen=True)
class ModuleSummary:
    module: str  # dotted name relative to the project root, e.g. "pkg.utils"
    functions: Mapping[str, FunctionEffects] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectIndex:
    root: str
    modules: Mapping[str, ModuleSummary] = field(default_factory=dict)  # dotted name -> summary
    paths: Mapping[str, str] = field(default_factory=dict)  # resolved path -> dotted name
    # The linted files' absolute paths as given (symlinks unresolved) -> the same names as
    # `paths`: resolving each path again costs a whole-tree run about 1%.
    given: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    # (import, importer's package) -> `resolve_module`'s answer: every call site of every file
    # asks, and the files of one folder get the same answers.
    _resolved: dict[tuple[str, str], str | None] = field(
        default_factory=dict, compare=False, repr=False)

    def summary(self, module: str) -> ModuleSummary | None:
        return self.modules.get(module)

    def module_name_for(self, path: str | Path) -> str | None:
        text = str(path)
        # Without "..", paths equal once made absolute are the same file, symlinks or not.
        name = self.given.get(os.path.abspath(text)) if ".." not in text else None
        return name if name is not None else self.paths.get(str(Path(path).resolve()))

    def resolve_module(self, module: str, importer: str = "") -> str | None:
        """The project module an import names. A script's own folder is on `sys.path`, so
        `import utils` in `exp/train.py` means `exp.utils` when the root is above `exp/`."""
        if module in self.modules:
            return module
        key = (module, importer.rpartition(".")[0])
        if key not in self._resolved:
            self._resolved[key] = self._resolve_below(module, key[1])
        return self._resolved[key]

    def _resolve_below(self, module: str, package: str) -> str | None:
        parts = package.split(".") if package else []
        while parts:
            candidate = ".".join([*parts, module])
            if candidate in self.modules:
                return candidate
            parts.pop()
        return None

    def effects_of(self, module: str, function: str, importer: str = "") -> FunctionEffects | None:
        """Effects of `module.function`, or None when the project has no such function."""
        resolved = self.resolve_module(module, importer)
        if resolved is None:
            return None
        return self.modules[resolved].functions.get(function)

    def has_effects_named(self, name: str) -> bool:
        """Some project module named `name` (a component of its dotted name) has effects."""
        return any(
            name in dotted.split(".") and any(summary.functions.values())
            for dotted, summary in self.modules.items()
        )


def module_name(path: Path, root: Path) -> str:
    """Dotted module name of `path` relative to `root` (`a/b/c.py` -> `a.b.c`, `a/__init__.py` -> `a`)."""
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        rel = Path(path.name)
    parts = list(rel.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


# Effects worth exporting to other modules (a helper's draws count where it is called: seeding).
_EXPORTED = ("seed:", "train", "track", "log:", "read:data", "git", "nogit", "load:model",
             "write:output", "rand:", "print:metric")


def summarize_module(source: str, name: str) -> ModuleSummary | None:
    """Effects of each top-level function of one module; None when it cannot be parsed."""
    from mltrack.lint.cstparse import parse_module
    from mltrack.lint.effects import function_effects
    from mltrack.lint.facts import collect

    try:
        module = parse_module(source)
    except Exception:  # a broken helper module: its callers simply learn nothing from it
        return None
    facts = collect(module, name)
    from mltrack.lint import parsed

    parsed.keep(source, module, name, facts)  # the rules reuse them when this file is linted next
    effects = function_effects(facts, None)
    functions = {
        fn: frozenset(e for e in found if e.startswith(_EXPORTED))
        for fn, found in effects.items()
        if fn.count(".") <= 1  # functions and methods (`Class.method`, for `obj.method()` calls)
    }
    for fn, found in effects.items():  # a class: constructing it runs its __init__
        if fn.endswith(".__init__") and fn.count(".") == 1:
            owner = fn.split(".", 1)[0]
            functions[owner] = functions.get(owner, frozenset()) | {
                e for e in found if e.startswith(_EXPORTED)}
    from mltrack.lint.saves import encode_append, helper_appends, helper_saves

    for fn, saves in helper_saves(facts, module, effects).items():  # model-overwrite
        if fn in functions:
            functions[fn] = functions[fn] | {save.encode() for save in saves}
    for fn, appends in helper_appends(facts).items():  # untracked-results-file
        if "." not in fn:  # a function, or a class through its __init__
            functions[fn] = functions.get(fn, frozenset()) | {encode_append(*a) for a in appends}
    return ModuleSummary(name, functions)
