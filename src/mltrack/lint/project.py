"""Cross-module facts: what each module of the linted project's functions do.

`build_project` reads every module once and keeps a small, picklable summary per module
(which top-level functions seed which generators, log parameters, track runs, ...), so a
`set_seed()` defined in `utils.py` seeds `train.py` that calls it. The engine sends the index
to worker processes and uses `fingerprint_for(path)` in its cache key: editing `utils.py`
changes the fingerprint of every file that imports it, so they are re-linted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# A function summary: the set of effect names it has, e.g. {"seed:torch", "log:params", "track"}.
FunctionEffects = frozenset[str]


@dataclass(frozen=True)
class ModuleSummary:
    module: str  # dotted name relative to the project root, e.g. "pkg.utils"
    functions: Mapping[str, FunctionEffects] = field(default_factory=dict)
    imports: tuple[str, ...] = ()  # project modules this module imports (dotted)

    def digest(self) -> str:
        payload = json.dumps(
            {k: sorted(v) for k, v in sorted(self.functions.items())}, sort_keys=True
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ProjectIndex:
    root: str
    modules: Mapping[str, ModuleSummary] = field(default_factory=dict)  # dotted name -> summary
    paths: Mapping[str, str] = field(default_factory=dict)  # resolved path -> dotted name
    # The linted files' absolute paths as given (symlinks unresolved) -> the same names as
    # `paths`: resolving each path again costs a whole-tree run about 1%.
    given: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    # (import, importer) -> `resolve_module`'s answer: every call site of every file asks.
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
        key = (module, importer)
        if key not in self._resolved:
            self._resolved[key] = self._resolve_below(module, importer)
        return self._resolved[key]

    def _resolve_below(self, module: str, importer: str) -> str | None:
        parts = importer.split(".")[:-1] if importer else []
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

    def fingerprint_for(self, path: str | Path) -> str:
        """Hash of the summaries of the project modules that `path` imports (directly)."""
        name = self.module_name_for(path)
        own = self.modules.get(name) if name else None
        if own is None:
            return ""
        parts = [f"{dep}={self.modules[dep].digest()}" for dep in own.imports if dep in self.modules]
        return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:16]


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


def build_project(paths: Sequence[Path], root: Path) -> ProjectIndex:
    """Summaries of every Python module among `paths` (notebooks are never imported)."""
    modules: dict[str, ModuleSummary] = {}
    by_path: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        if path.suffix != ".py":
            continue
        name = module_name(path, root)
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        summary = summarize_module(source, name)
        if summary is None:
            continue
        modules[name] = summary
        by_path[str(path.resolve())] = name
    index = ProjectIndex(str(root), modules, by_path)
    linked = {}
    for name, summary in modules.items():
        deps = {index.resolve_module(i, name) for i in summary.imports}
        linked[name] = ModuleSummary(summary.module, summary.functions,
                                     tuple(sorted(d for d in deps if d and d != name)))
    return ProjectIndex(str(root), linked, by_path)


# Effects worth exporting to other modules (a helper's draws count where it is called: seeding).
_EXPORTED = ("seed:", "train", "track", "log:", "read:data", "git", "nogit", "load:model",
             "write:output", "rand:", "print:metric")


def summarize_module(source: str, name: str) -> ModuleSummary | None:
    """Effects of each top-level function of one module; None when it cannot be parsed."""
    import libcst as cst

    from mltrack.lint.effects import function_effects
    from mltrack.lint.facts import collect

    try:
        module = cst.parse_module(source)
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
    imports: set[str] = set()
    for imported in facts.imports.modules:
        parts = imported.split(".")
        imports.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return ModuleSummary(name, functions, tuple(sorted(imports)))
