"""FileContext: everything a rule may ask about one parsed file.

Built once per file from one walk (`facts.collect`); effects of calls and functions are
computed once and shared by all rules. Positions are computed lazily, only when a rule reports
(most files report nothing, and libcst's position pass costs about as much as parsing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

import libcst as cst

from mltrack.lint import effects as fx
from mltrack.lint.facts import CallSite, Facts, cached_code, collect, dotted
from mltrack.lint.positions import LazyPositions
from mltrack.model import Edit, Location

if TYPE_CHECKING:
    from mltrack.lint.project import ProjectIndex

ML_ROOTS = frozenset(
    "torch torchvision tensorflow keras sklearn jax flax mlflow wandb lightning pytorch_lightning "
    "lightning_fabric transformers accelerate datasets tensorboard tensorboardX numpy pandas "
    "joblib xgboost lightgbm catboost fasttext random optuna dvc trl ray".split()
)
_FROM_LINE = re.compile(r"^[ \t]*from[ \t]+\.*([A-Za-z_]\w*)", re.M)
_IMPORT_LINE = re.compile(r"^[ \t]*import[ \t]+([^\n#;]+)", re.M)
_NAME = re.compile(r"(?:^|,)\s*\(?\s*([A-Za-z_]\w*)")


_TRAINS = frozenset({"train"})

_TRACKER_CALLS = {
    ("mlflow", "params"): "mlflow.log_params(...)",
    ("mlflow", "metrics"): "mlflow.log_metric(...)",
    ("wandb", "params"): "wandb.config.update(...)",
    ("wandb", "metrics"): "wandb.log(...)",
    ("tensorboard", "params"): "SummaryWriter.add_hparams(...)",
    ("tensorboard", "metrics"): "SummaryWriter.add_scalar(...)",
}


# Tracker credentials are worth reporting even in a settings file that imports no ML library.
_SECRET_HINT = re.compile(r"WANDB_API_KEY|MLFLOW_TRACKING_(?:TOKEN|PASSWORD|URI)|HF_TOKEN|"
                          r"HUGGING_FACE_HUB_TOKEN|://[^/\s:@'\"]+:[^@\s/'\"]+@")


def imported_roots(source: str) -> set[str]:
    """Top-level names of every imported module, from the text alone (no parse needed)."""
    roots = set(_FROM_LINE.findall(source))
    for names in _IMPORT_LINE.findall(source):
        roots.update(_NAME.findall(names))
    return roots


@dataclass
class FileContext:
    source: str
    path: str
    module: cst.Module
    facts: Facts
    project: ProjectIndex | None = None
    config: Any = None
    module_name: str = ""
    _site_effects: dict[int, frozenset[str]] = field(default_factory=dict)
    _direct_effects: dict[int, frozenset[str]] = field(default_factory=dict)
    _call_effect_sets: dict[int, frozenset[str]] = field(default_factory=dict)
    # node id -> (node, its code): rules quote the same nodes again and again, and regenerating
    # code is slow; the node is kept so its id cannot be reused by another node
    _codes: dict[int, tuple[cst.CSTNode, str]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        source: str,
        path: str,
        module: cst.Module,
        *,
        project: ProjectIndex | None = None,
        config: Any = None,
        facts_of: tuple[str | None, Facts | None] = (None, None),
    ) -> FileContext | None:
        """None when the file imports no ML or tracking library (nor a project module that
        does): a cheap text check that spares most non-ML files the analysis."""
        roots = imported_roots(source)
        relevant = bool(roots & ML_ROOTS) or bool(_SECRET_HINT.search(source))
        module_name = ""
        if project is not None:
            module_name = project.module_name_for(path) or ""
            if not relevant:  # a project helper module may do the ML work
                relevant = any(project.has_effects_named(root) for root in roots)
        if not relevant:
            return None
        # Facts collected for the project index under the same module name are the same facts.
        kept_name, facts = facts_of
        if facts is None or kept_name != module_name:
            facts = collect(module, module_name)
        return cls(source, path, module, facts, project, config, module_name)

    # -- effects ---------------------------------------------------------------------------
    def _external(self, site: CallSite) -> frozenset[str] | None:
        if self.project is None:
            return None
        if not site.imported:
            return self._instance_method(site)
        module, _, function = site.qual.rpartition(".")
        return self.project.effects_of(module, function, self.module_name)

    def _instance_method(self, site: CallSite) -> frozenset[str] | None:
        """`data = VAEDataset(...)` then `data.setup()`: the method of the project class the
        variable holds an instance of (assigned once, from an imported class)."""
        owner, _, method = (site.raw or "").partition(".")
        if not method or "." in method:
            return None
        values = self.facts.assigns.get(owner, ())
        if len(values) == 1 and isinstance(values[0], cst.Call):
            qual = self.facts.imports.resolve(dotted(values[0].func) or "")
            if qual and "." in qual:
                module, _, klass = qual.rpartition(".")
                return self.project.effects_of(module, f"{klass}.{method}", self.module_name)
        return self._imported_training_method(method)

    def _imported_training_method(self, method: str) -> frozenset[str] | None:
        """`algorithm = algorithm_class(...)` then `algorithm.update(batch)`: the class is chosen at
        run time, but when a class of a project module this file imports has a method of that
        name that trains, the call trains (only `train` is inferred, nothing else)."""
        if method in ("train", "eval"):
            return None  # `model.train()` switches a torch module's mode: it trains nothing
        return _TRAINS if method in self._training_methods else None

    @cached_property
    def _training_methods(self) -> frozenset[str]:
        """Names of the methods that train, of the classes of the project modules this file
        imports (`Class.update` -> `update`)."""
        found: set[str] = set()
        for imported in self.facts.imports.modules:
            resolved = self.project.resolve_module(imported, self.module_name)
            summary = self.project.modules.get(resolved) if resolved else None
            if summary is not None:
                found.update(name.rpartition(".")[2] for name, effects in summary.functions.items()
                             if "." in name and "train" in effects)
        return frozenset(found)

    def effects(self, site: CallSite) -> frozenset[str]:
        cached = self._site_effects.get(site.order)
        if cached is None:
            found = self._call_effects(site)
            target = fx.local_target(site, self.facts)
            if target is not None:
                found = found | self.function_effects.get(target, frozenset())
            cached = frozenset(found)
            self._site_effects[site.order] = cached
        return cached

    def _call_effects(self, site: CallSite) -> frozenset[str]:
        """`effects.site_effects` of a call (what it does and the project helper it reaches
        does), once per call: the file's function effects and `effects` both ask."""
        cached = self._call_effect_sets.get(site.order)
        if cached is None:
            cached = self._call_effect_sets[site.order] = frozenset(
                fx.site_effects(site, self.facts, self._external))
        return cached

    def direct(self, site: CallSite) -> frozenset[str]:
        """Effects of the call itself, not of the helper it reaches (where to point a finding)."""
        cached = self._direct_effects.get(site.order)
        if cached is None:
            cached = self._direct_effects[site.order] = fx.direct_effects(site)
        return cached

    @cached_property
    def function_effects(self) -> dict[str, frozenset[str]]:
        return fx.function_effects(self.facts, self._external, self._call_effects)

    @cached_property
    def file_effects(self) -> frozenset[str]:
        """The union of every call's `effects`. A call's effects beyond its own are those of the
        local function it reaches, and those are the own effects of calls of this same file:
        the union of the calls' own effects is the same set, without closing the effects of
        every function of the file (which most library modules never need)."""
        found: set[str] = set()
        for site in self.facts.calls:
            found.update(self._call_effects(site))
        return frozenset(found)

    def has(self, effect: str) -> bool:
        return effect in self.file_effects

    @cached_property
    def module_effects(self) -> frozenset[str]:
        """What running the file does: its module-level calls (the `__main__` block included),
        the local functions they reach, and local functions handed to a module-level call
        (`fire.Fire(main)`, `study.optimize(objective)`)."""
        found: set[str] = set()
        local = self.facts.functions  # the keys of `function_effects`, closed only when needed
        for site in self.facts.calls:
            if site.function is not None:
                continue
            found |= self.effects(site)
            for arg in site.node.args:
                if isinstance(arg.value, cst.Name) and arg.value.value in local:
                    found |= self.function_effects[arg.value.value]
        return frozenset(found)

    @cached_property
    def trains(self) -> bool:
        """Judge file-level rules only on training entry points: files whose module-level code
        trains. A library module whose functions train when someone else calls them is judged
        where it is called (its seeds and logging are usually there too)."""
        return "train" in self.module_effects

    @property
    def calls(self) -> list[CallSite]:
        return self.facts.calls

    def sites_with(self, effect: str) -> Iterable[CallSite]:
        return (site for site in self.facts.calls if effect in self.effects(site))

    def local_name(self, module: str) -> str | None:
        return self.facts.imports.local_name_for(module)

    # -- positions -------------------------------------------------------------------------
    @cached_property
    def _positions(self) -> LazyPositions:
        # not `self.code`: a bound method would make a reference cycle through the whole tree,
        # which only the cyclic collector (paused while linting) could free
        lines = {id(site.node): site.line for site in self.facts.calls if site.line is not None}
        return LazyPositions(self.module, self.source, partial(cached_code, self.module, self._codes),
                             lambda node: lines.get(id(node)))

    def span(self, node: cst.CSTNode) -> tuple[int, int, int, int]:
        """(line, column, end_line, end_column): 1-based lines, 0-based columns."""
        code_range = self._positions[node]
        return (code_range.start.line, code_range.start.column, code_range.end.line,
                code_range.end.column)

    def location(self, node: cst.CSTNode) -> Location:
        line, column, end_line, end_column = self.span(node)
        return Location(self.path, line, column + 1, end_line, end_column + 1)

    def code(self, node: cst.CSTNode) -> str:
        return cached_code(self.module, self._codes, node)

    @cached_property
    def lines(self) -> list[str]:
        # split on "\n" only: libcst counts lines the same way (str.splitlines would not)
        rows = [f"{row}\n" for row in self.source.split("\n")]
        rows[-1] = rows[-1][:-1]
        return rows

    def indent_of(self, line: int) -> str:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return text[: len(text) - len(text.lstrip(" \t"))]

    def insert_after(self, statement: cst.CSTNode, text: str) -> Edit:
        """An edit inserting `text` (one or more lines, no indent) after `statement`, at its
        indentation."""
        line, _, end_line, _ = self.span(statement)
        indent = self.indent_of(line)
        body = "".join(f"{indent}{row}\n" for row in text.splitlines())
        if end_line >= len(self.lines) and not self.source.endswith(("\n", "\r")):
            return Edit(end_line, len(self.lines[-1]), end_line, len(self.lines[-1]), "\n" + body)
        return Edit(end_line + 1, 0, end_line + 1, 0, body)

    def tracker_hint(self, kind: str) -> str:
        """` (use `mlflow.log_params`)`: the call to use with the team's configured tracker
        (`tracker` in `[tool.mltrack.lint]`), or "" when none is configured."""
        tracker = getattr(self.config, "tracker", None)
        call = _TRACKER_CALLS.get((tracker, kind))
        return f" (use `{call}`)" if call else ""

    def newline(self) -> str:
        return self.module.default_newline
