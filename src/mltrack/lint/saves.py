"""Where a helper writes, and which of its parameters decide it (model-overwrite, results files).

A call saves a model when it is a known saver (`torch.save`, `joblib.dump`, `model.save`,
`fabric.save`, `accelerator.save_state`, TF `saver.save`, ...). A project helper such as
`save_checkpoint(state, is_best, filename="checkpoint.pth.tar")` saves to the same path on every
run unless its caller passes another: `helper_saves` records, per function, each saved path
that is fixed once the helper's parameters are, and which parameters it depends on. The project
index exports these as `save:` effects so a helper in `utils.py` is judged where it is called.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import libcst as cst

from mltrack.lint.autolog import helper_logs_artifact
from mltrack.lint.facts import CallSite, Facts, cached_code, dotted, literal_string
from mltrack.lint.paths import is_fixed_path, shown as short

# call -> (index of the path argument, its keyword)
SAVERS = {
    "torch.save": (1, "f"),
    "joblib.dump": (1, "filename"),
    "pickle.dump": (1, "file"),
    "keras.models.save_model": (1, "filepath"),
    "tensorflow.saved_model.save": (1, "export_dir"),
}
METHODS = {"save": (0, "filepath"), "save_pretrained": (0, "save_directory"),
           "save_model": (0, "output_dir"), "save_checkpoint": (0, "filepath"),
           "save_weights": (0, "filepath"), "save_state": (0, "output_dir")}
# receiver -> its own argument order where it differs from METHODS
_RECEIVER_METHODS = {("accelerator", "save"): (1, "f"), ("saver", "save"): (1, "save_path"),
                     ("fabric", "save"): (0, "path")}
MODELISH = ("model", "net", "clf", "classifier", "regressor", "estimator", "pipeline", "pipe",
            "booster", "learner", "trainer", "bst", "gbm", "encoder", "policy", "agent",
            "tokenizer", "fabric", "accelerator", "saver", "generator", "discriminator")
_COPIES = ("shutil.copyfile", "shutil.copy", "shutil.copy2", "shutil.move")
_PLACEHOLDER = cst.SimpleString('"p"')
_PER_RUN = cst.Name("run_id")


def forwarders(facts: Facts) -> frozenset[str]:
    """Functions of the file that hand all their arguments to a saver
    (`def save_on_master(*args, **kwargs): torch.save(*args, **kwargs)`): savers themselves."""
    return frozenset(
        site.function for site in facts.calls
        if site.function is not None and site.imported and site.qual in SAVERS
        and any(arg.star == "*" for arg in site.node.args)
    )


def saved_path(ctx: Any, site: CallSite, wrappers: frozenset[str] = frozenset()) -> cst.BaseExpression | None:
    """The path a model-saving call writes to (a `with open(...)` handle followed to its path)."""
    spec = SAVERS.get(site.qual.replace("tensorflow.keras.", "keras.")) if site.imported else None
    if spec is None and not site.imported and site.raw in wrappers:
        spec = (1, "f")
    if spec is None and site.name in METHODS and isinstance(site.node.func, cst.Attribute):
        receiver = (dotted(site.node.func.value) or "").lower().rsplit(".", 1)[-1]
        if any(token in receiver for token in MODELISH):
            spec = next((s for (r, n), s in _RECEIVER_METHODS.items()
                         if n == site.name and r in receiver), None) or METHODS.get(site.name)
    if spec is None:
        return None
    saved = site.positional(0)
    if spec[0] == 1 and saved is not None and "pred" in ctx.code(saved.value).lower():
        return None  # predictions: unversioned-predictions' business
    arg = site.positional(spec[0]) or site.kwarg(spec[1])
    if arg is None:
        return None
    opened = opened_path(ctx.facts, arg.value)
    return opened if opened is not None else arg.value


def opened_path(facts: Facts, handle: cst.BaseExpression) -> cst.BaseExpression | None:
    """The path of `open(path, "wb")` given directly or bound by `with open(...) as fh`."""
    if isinstance(handle, cst.Call) and isinstance(handle.func, cst.Name) and handle.func.value == "open":
        return handle.args[0].value if handle.args else None
    if isinstance(handle, cst.Name):
        for with_node in facts.with_of.values():
            for item in with_node.items:
                if (isinstance(item.asname, cst.AsName) and isinstance(item.asname.name, cst.Name)
                        and item.asname.name.value == handle.value and isinstance(item.item, cst.Call)):
                    return opened_path(facts, item.item)
    return None


@dataclass(frozen=True)
class HelperSave:
    """A path a helper saves to: fixed once `params` ((positional index or -1, name,
    has a default)) are; `shown` is the path as written in the helper."""

    shown: str
    params: tuple[tuple[int, str, bool], ...]
    default: str = ""  # the parameter's default when the path is that parameter alone
    copy: bool = False  # a `shutil.copyfile` of the checkpoint, not the save itself

    def encode(self) -> str:
        spec = ",".join(f"{i}:{n}:{int(d)}" for i, n, d in self.params)
        return f"save:{spec}|{self.default}|{self.shown}"

    @classmethod
    def decode(cls, effect: str) -> HelperSave | None:
        if not effect.startswith("save:") or "|" not in effect:
            return None
        spec, default, shown = effect[5:].split("|", 2)
        params = []
        for part in filter(None, spec.split(",")):
            index, name, has_default = part.split(":")
            params.append((int(index), name, has_default == "1"))
        return cls(shown, tuple(params), default)

    def describe(self, ctx: Any, site: CallSite) -> str:
        """The path this call saves to, as the message names it."""
        if self.default and len(self.params) == 1:
            index, name, _ = self.params[0]
            arg = (site.positional(index) if index >= 0 else None) or site.kwarg(name)
            if arg is None:
                return f"`{self.default}` (the default of `{name}`)"
            return f"`{ctx.code(arg.value)}`"
        kept = [name for index, name, has_default in self.params if has_default
                and ((site.positional(index) if index >= 0 else None) or site.kwarg(name)) is None]
        if kept:
            return f"`{self.shown}` (with the defaults of {', '.join(f'`{n}`' for n in kept)})"
        return f"`{self.shown}`"

    def fixed_at(self, ctx: Any, site: CallSite) -> bool:
        """The call leaves every parameter the path depends on fixed."""
        if any(arg.star for arg in site.node.args):
            return False
        for index, name, has_default in self.params:
            arg = (site.positional(index) if index >= 0 else None) or site.kwarg(name)
            if arg is None:
                if not has_default:
                    return False
            elif is_fixed_path(ctx, arg.value) is not True:
                return False
        return True


@functools.lru_cache(maxsize=4096)
def decoded_saves(effects: frozenset[str]) -> tuple[HelperSave, ...]:
    """The `save:` effects of a project function, decoded in sorted order. Every file calling
    the same helper asks again with the same summary set, so the answer is remembered (effects
    are immutable; a bounded cache)."""
    return tuple(s for s in map(HelperSave.decode, sorted(effects)) if s is not None)


class _Bound:
    """The slice of Facts that `is_fixed_path` reads (assignments and for-loops), with a
    helper's parameters bound: cheaper to make per probe than a `dataclasses.replace` of the
    whole Facts (tests/lint/test_speed_paths.py checks the two give the same saves)."""

    __slots__ = ("assigns", "loops_for")

    def __init__(self, assigns: dict[str, list[cst.BaseExpression]], loops_for: list[cst.For]) -> None:
        self.assigns = assigns
        self.loops_for = loops_for


@dataclass
class _HelperView:
    """The slice of FileContext that `is_fixed_path` reads, with parameters bound."""

    facts: Facts | _Bound
    module: cst.Module
    # node id -> (node, its code), shared by the views of one file: probes quote the same nodes
    codes: dict[int, tuple[cst.CSTNode, str]] = dataclasses.field(default_factory=dict)

    def code(self, node: cst.CSTNode) -> str:
        return cached_code(self.module, self.codes, node)


def _parameters(function: str, node: cst.FunctionDef) -> list[tuple[int, str, cst.BaseExpression | None]]:
    params = node.params
    positional = [*params.posonly_params, *params.params]
    if "." in function and positional and positional[0].name.value in ("self", "cls"):
        positional = positional[1:]
    found = [(i, p.name.value, p.default) for i, p in enumerate(positional)]
    found += [(-1, p.name.value, p.default) for p in params.kwonly_params]
    return found


def helper_saves(facts: Facts, module: cst.Module,
                 effects: dict[str, frozenset[str]]) -> dict[str, tuple[HelperSave, ...]]:
    """Per function of the file: the paths it saves a model to that its parameters decide or
    that are fixed outright. Functions that log an artifact are left out."""
    view = _HelperView(facts, module)
    wrappers = forwarders(facts)
    # one pass over the calls: most functions save nothing, so only savers and copies are kept
    saved: dict[str, list[tuple[cst.BaseExpression, bool]]] = {}
    copied: dict[str, list[tuple[cst.BaseExpression, bool]]] = {}
    for site in facts.calls:
        function = site.function
        if function is None:
            continue
        path = saved_path(view, site, wrappers)
        if path is not None:
            saved.setdefault(function, []).append((path, False))
        elif site.imported and site.qual in _COPIES and (copy := site.positional(1)) is not None:
            copied.setdefault(function, []).append((copy.value, True))
    found: dict[str, tuple[HelperSave, ...]] = {}
    for function, paths in saved.items():
        node = facts.functions.get(function)
        if node is None or helper_logs_artifact(effects.get(function, ())):
            continue
        paths += copied.get(function, [])
        params = _parameters(function, node)
        bound = _Reads(facts.assigns)
        for _, name, default in params:
            bound[name] = [default if default is not None else _PLACEHOLDER]
        fixed = _HelperView(_Bound(bound, facts.loops_for), module, view.codes)
        saves = [save for path, copy in paths
                 if (save := _judge(view, fixed, path, params, copy)) is not None]
        if saves:
            found[function] = tuple(dict.fromkeys(saves))
    return found


class _Reads(dict):
    """Assignments that remember which names a judgement looked up: a parameter it never read
    cannot change its verdict, so only those it read need probing."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key) -> bool:
        self.read.add(key)
        return super().__contains__(key)


def _judge(view: _HelperView, fixed: _HelperView, path: cst.BaseExpression, params,
           copy: bool) -> HelperSave | None:
    """`fixed` binds every parameter to its default (or a placeholder) in a `_Reads` mapping."""
    bound = fixed.facts.assigns
    bound.read = set()
    if is_fixed_path(fixed, path) is not True:
        return None
    read = bound.read
    depends = []
    for index, name, default in params:
        if name not in read:
            continue  # the judgement never looked this parameter up: probing cannot change it
        probe = dict(bound)
        probe[name] = [_PER_RUN]
        probed = _HelperView(_Bound(probe, fixed.facts.loops_for), view.module, view.codes)
        verdict = is_fixed_path(probed, path)
        if verdict is not True:
            depends.append((index, name, default is not None))
    shown = view.code(path)
    values = view.facts.assigns.get(path.value, ()) if isinstance(path, cst.Name) else ()
    if len(values) == 1 and path.value not in {p[1] for p in params}:
        shown = view.code(values[0])  # `filepath = os.path.join(checkpoint, filename)`
    default = ""
    if isinstance(path, cst.Name):
        default = next((view.code(d) for _, n, d in params if n == path.value and d is not None), "")
    return HelperSave(short(shown).replace("|", "/"), tuple(depends), default.replace("|", "/"), copy)


def helper_appends(facts: Facts) -> dict[str, tuple[tuple[int, str, str], ...]]:
    """Functions (and classes, through `__init__`) that append to a file their caller names:
    `def train_n_test(output_file): open(output_file, "a")` -> {"train_n_test": ((0,
    "output_file", ""),)}; the last item is the parameter's default as written, or ""."""
    found: dict[str, list[tuple[int, str, str]]] = {}
    for site in facts.calls:
        if site.function is None or site.raw != "open" or site.imported:
            continue
        mode = site.positional(1) or site.kwarg("mode")
        target = site.positional(0) or site.kwarg("file")
        text = literal_string(mode.value) if mode is not None else None
        if not text or "a" not in text or target is None or not isinstance(target.value, cst.Name):
            continue
        function = site.function
        node = facts.functions.get(function)
        if node is None:
            continue
        for index, name, default in _parameters(function, node):
            if name == target.value.value:
                shown = literal_string(default) if default is not None else ""
                owner = function[: -len(".__init__")] if function.endswith(".__init__") else function
                found.setdefault(owner, []).append((index, name, shown or ""))
    return {name: tuple(dict.fromkeys(items)) for name, items in found.items()}


def encode_append(index: int, name: str, default: str) -> str:
    return f"append:{index}:{name}|{default}"


def decode_append(effect: str) -> tuple[int, str, str] | None:
    if not effect.startswith("append:") or "|" not in effect:
        return None
    spec, default = effect[7:].split("|", 1)
    index, _, name = spec.partition(":")
    return int(index), name, default
