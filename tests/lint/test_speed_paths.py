"""The linter's fast paths give exactly what the slow ones they stand in for give.

Each shortcut taken for speed (issue 11, item 4) is checked against the libcst or plain-Python
computation it replaces: quoting code without libcst's codegen, placing a top-level statement
by its text instead of parsing the file with `ast`, effects computed once per call site, the
bracket-depth scan of the parser guard, the walk that collects the facts, and a run without
the result cache computing no dependency fingerprints.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from mltrack.lint import guard
from mltrack.lint.cache import ResultCache
from mltrack.lint.config import LintConfig
from mltrack.lint.effects import call_effects, direct_effects, local_target
from mltrack.lint.engine import lint_paths
from mltrack.lint.facts import cached_code, collect, plain_code
from mltrack.lint.index import build_index
from mltrack.lint.positions import LazyPositions

_EXPRESSIONS = """\
import os, torch
x = torch.save(model.state_dict(), os.path.join("out", f"best_{epoch}.pth"))
y = f( a , b=1, *rest, **kw )
z = ( obj . attr ) ( "s" 'concat' , key = 1.5, )
w = call(1)(2)[0].name
v = (1 +
     2)
u = run(
    arg,
)
t = print(*args, sep="", end = "\\n")
"""


def _expressions(module: cst.Module) -> list[cst.CSTNode]:
    found, stack = [], [module]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if isinstance(node, cst.BaseExpression):
            found.append(node)
    return found


def test_plain_code_is_libcst_code_or_none() -> None:
    module = cst.parse_module(_EXPRESSIONS)
    nodes = _expressions(module)
    written = [node for node in nodes if plain_code(node) is not None]
    for node in written:
        assert plain_code(node) == module.code_for_node(node)
    # calls with keywords, stars, spaces, parentheses and trailing commas are written directly
    quoted = {plain_code(n) for n in written}
    assert "( obj . attr ) ( \"s\" 'concat' , key = 1.5, )" in quoted
    assert 'print(*args, sep="", end = "\\n")' in quoted
    assert 'torch.save(model.state_dict(), os.path.join("out", f"best_{epoch}.pth"))' not in quoted
    # a line break inside brackets, an operator, an f-string, a subscript: libcst writes them
    multi_line = [n for n in nodes if "\n" in module.code_for_node(n)]
    assert multi_line and all(plain_code(n) is None for n in multi_line)
    assert all(plain_code(n) is None for n in nodes
               if isinstance(n, (cst.BinaryOperation, cst.FormattedString, cst.Subscript)))


def test_cached_code_remembers_each_node_once() -> None:
    module = cst.parse_module("import a\nb = a.f(1)\nc = [i for i in a.g()]\n")
    codes: dict = {}
    nodes = _expressions(module)
    assert [cached_code(module, codes, n) for n in nodes] == [module.code_for_node(n) for n in nodes]
    assert len(codes) == len(nodes)


_STATEMENTS = """\
# a header comment
import os
import torch  # trailing comment

# a comment above
from pathlib import Path
import os
x = 1; y = 2
def main():
    import torch
    return 1
"""


def test_top_level_statement_placed_by_text_without_ast() -> None:
    module = cst.parse_module(_STATEMENTS)
    full = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    by_text = [s for s in module.body if isinstance(s, cst.SimpleStatementLine)
               and module.code_for_node(s).count("import torch") == 1]
    assert by_text  # `import torch  # trailing comment`: its text occurs once
    for statement in by_text:
        lazy = LazyPositions(module, _STATEMENTS)
        assert lazy[statement] == full[statement]
        assert lazy._top is None  # placed without parsing the file with `ast`
    # every top-level line statement, repeated text (`import os`) or not, lands where libcst puts it
    lazy = LazyPositions(module, _STATEMENTS)
    for statement in module.body:
        assert lazy[statement] == full[statement]


def test_a_repeated_call_is_placed_through_its_statement_line() -> None:
    source = (
        "import torch\n"
        "def build():\n"
        "    a = torch.nn.Linear(4, 2)\n"
        "    # the same call again, in a statement over two lines\n"
        "    b = torch.nn.Sequential(\n"
        "        torch.nn.Linear(4, 2))\n"
        "    return a, b\n"
    )
    module = cst.parse_module(source)
    full = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    facts = collect(module)
    lines = {id(s.node): s.line for s in facts.calls if s.line is not None}
    second = [s.node for s in facts.calls if module.code_for_node(s.node) == "torch.nn.Linear(4, 2)"][1]
    lazy = LazyPositions(module, source, line_of=lambda node: lines.get(id(node)))
    assert lazy[second] == full[second]
    assert lazy._top is None  # placed without parsing the file with `ast`
    for site in facts.calls:
        assert lazy[site.node] == full[site.node]


def test_a_last_line_without_line_break_is_not_taken_for_an_earlier_copy() -> None:
    source = "import os\ndef f():\n    return out\ndef g():\n    return out"
    module = cst.parse_module(source)
    full = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    last = module.body[-1].body.body[0]  # type: ignore[attr-defined]
    for statement in (last, module.body[-1]):
        assert LazyPositions(module, source)[statement] == full[statement]


def test_top_level_statement_in_a_crlf_file_and_without_final_newline() -> None:
    for source in ("import os\r\nimport torch\r\nx = 1\r\n", "import os\nimport torch"):
        module = cst.parse_module(source)
        full = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        for statement in module.body:
            lazy = LazyPositions(module, source)
            assert lazy[statement] == full[statement]
            for node in _expressions(module):
                assert lazy[node] == full[node]


def test_effects_are_computed_once_per_call_site() -> None:
    facts = collect(cst.parse_module(
        "import torch\nimport numpy as np\n"
        "def helper():\n    return np.random.rand(3)\n"
        "torch.manual_seed(0)\nhelper()\nloss.backward()\n"))
    for site in facts.calls:
        first = direct_effects(site)
        assert first == frozenset(call_effects(site))
        assert direct_effects(site) is first  # the cached set, not a new computation
        assert local_target(site, facts) == local_target(site, facts)
    assert {s.raw: local_target(s, facts) for s in facts.calls}["helper"] == "helper"
    by_name = {s.raw: direct_effects(s) for s in facts.calls}
    assert by_name["torch.manual_seed"] == frozenset({"seed:torch"})
    assert by_name["np.random.rand"] == frozenset({"rand:numpy"})
    assert by_name["loss.backward"] == frozenset({"train"})


def _loop_depth(source: str) -> bool:
    depth = deepest = 0
    for char in re.sub(r"[^()\[\]{}]+", "", source):
        depth = depth + 1 if char in "([{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest > guard._RISKY_BRACKETS


@pytest.mark.parametrize("seed", range(4))
def test_guard_bracket_depth_matches_the_plain_loop(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(500):
        text = "".join(rng.choice("([{)]}x") for _ in range(rng.randint(0, 300)))
        if rng.random() < 0.5:
            text = "(" * rng.randint(45, 55) + text  # near the limit
        if rng.random() < 0.5:
            text = ")" * rng.randint(1, 4) + text  # surplus closers: the loop ignores them
        assert guard.looks_risky(text) == _loop_depth(text), text


def test_collect_context_of_each_call() -> None:
    source = (
        "import torch\n"
        "class Trainer:\n"
        "    def fit(self):\n"
        "        for x in load():\n"
        "            step(x)\n"
        "        else:\n"
        "            done()\n"
        "        try:\n"
        "            pass\n"
        "        finally:\n"
        "            while more():\n"
        "                close()\n"
        "        def inner():\n"
        "            nested()\n"
        "after()\n"
    )
    facts = collect(cst.parse_module(source))
    context = {s.raw: (s.function, s.loops, s.in_finally) for s in facts.calls}
    assert context == {
        "load": ("Trainer.fit", 0, False),  # a loop's header runs once
        "step": ("Trainer.fit", 1, False),
        "done": ("Trainer.fit", 0, False),  # the else block is not repeated
        "more": ("Trainer.fit", 0, True),
        "close": ("Trainer.fit", 1, True),
        "nested": ("Trainer.fit", 0, False),  # a nested def keeps its outer function's name
        "after": (None, 0, False),
    }
    assert [s.order for s in facts.calls] == list(range(len(facts.calls)))
    assert [s.raw for s in facts.calls] == ["load", "step", "done", "more", "close", "nested",
                                            "after"]
    assert set(facts.functions) == {"Trainer.fit"} and set(facts.classes) == {"Trainer"}
    assert len(facts.loops_for) == 1


def _inter_importing_project(root: Path) -> list[Path]:
    """A package whose modules import each other's helpers (seeding, saving) and two scripts."""
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    for n in range(6):
        imports = "".join(f"from pkg.m{d} import seed_{d}\n" for d in (n - 1, n // 2) if 0 <= d < n)
        (root / "pkg" / f"m{n}.py").write_text(
            f"import torch\n{imports}\ndef seed_{n}(s=0):\n    torch.manual_seed(s)\n\n\n"
            f"def save_{n}(state, filename='ckpt_{n}.pt'):\n    torch.save(state, filename)\n")
    for s in (0, 5):
        (root / f"train_{s}.py").write_text(
            f"import torch\nfrom pkg.m{s} import seed_{s}, save_{s}\n\nmodel = torch.nn.Linear(2, 2)\n"
            f"opt = torch.optim.SGD(model.parameters(), lr=0.1)\nfor x in loader:\n"
            f"    loss = model(x).sum()\n    loss.backward()\n    opt.step()\nsave_{s}(model)\n")
    return sorted(root.rglob("*.py"))


def test_index_without_fingerprints_is_the_same_index(tmp_path: Path) -> None:
    """A run without the result cache skips the dependency fingerprints (their only consumer is
    the cache key) and the content hashes: the index the rules read is unchanged."""
    files = _inter_importing_project(tmp_path)
    sources = {path: path.read_bytes() for path in files}
    full, fingerprints = build_index(files, files, sources, tmp_path,
                                     ResultCache(tmp_path, enabled=False))
    bare, none = build_index(files, files, sources, tmp_path,
                             ResultCache(tmp_path, enabled=False), fingerprints=False)
    assert none == {} and set(fingerprints) == set(files)
    assert len(set(fingerprints.values())) > 1  # real fingerprints: files reach different modules
    assert bare == full and bare.given == full.given
    assert set(full.modules) >= {f"pkg.m{n}" for n in range(6)}
    # With the summary cache on, a summary stored by one run is read back by the next.
    cached = ResultCache(tmp_path, enabled=True)
    cold, _ = build_index(files, files, sources, tmp_path, cached, fingerprints=False)
    warm, _ = build_index(files, files, sources, tmp_path, cached, fingerprints=False)
    assert cold == warm == full
    assert any(p.parent.name.startswith("s") for p in (tmp_path / ".mltrack_cache").rglob("*.json"))


def test_a_run_without_cache_finds_what_a_cached_run_finds(tmp_path: Path, monkeypatch) -> None:
    """--no-cache computes no keys and no fingerprints; cold and warm cached runs agree with it,
    and editing an imported module still re-lints its importers (through a module between)."""
    files = _inter_importing_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    config = LintConfig(root=str(tmp_path))
    plain = lint_paths(["."], config, jobs=1, cache=False)
    assert {f.code for f in plain.findings} >= {"MLT001", "MLT007"}
    cold = lint_paths(["."], config, jobs=1)
    warm = lint_paths(["."], config, jobs=1)
    assert cold.cache_hits == 0 and warm.cache_hits == len(files)
    assert plain.findings == cold.findings == warm.findings
    (tmp_path / "pkg" / "m2.py").write_text("import torch\n\ndef seed_2(s=0):\n    pass\n")
    edited = lint_paths(["."], config, jobs=1)
    relinted = {r.path for r in edited.results if not r.cached}
    # m2 itself, m3/m4/m5 (import it directly or through m3/m4) and train_5 (through m5)
    assert relinted == {"pkg/m2.py", "pkg/m3.py", "pkg/m4.py", "pkg/m5.py", "train_5.py"}
    assert edited.findings == lint_paths(["."], config, jobs=1, cache=False).findings


_LOCAL_HELPERS = """\
import fire
import mlflow
import torch


def seed(s):
    torch.manual_seed(s)


def inner(model):
    mlflow.log_metric("loss", 1.0)
    return seed(0)


class Trainer:
    def __init__(self):
        self.model = torch.nn.Linear(2, 2)

    def fit(self, x):
        self.step(x)

    def step(self, x):
        self.model(x).sum().backward()


def main():
    inner(None)
    Trainer().fit(torch.randn(2))


fire.Fire(main)
print(torch.cuda.is_available())
"""


def _code_files() -> list[Path]:
    root = Path(__file__).resolve().parents[2]
    return sorted([*(root / "fixtures" / "lint").rglob("*.py"),
                   *(root / "fixtures" / "reference").rglob("*.py")])


@pytest.mark.parametrize("source", [_LOCAL_HELPERS, None], ids=["local-helpers", "fixtures"])
def test_file_and_module_effects_need_not_close_every_function(source: str | None) -> None:
    """`file_effects` is the union of the calls' own effects and `module_effects` closes only
    the functions module-level code reaches: both equal the definitions over every function's
    closed effects (`function_effects`) that they replace."""
    from mltrack.lint.context import FileContext

    sources = [source] if source is not None else [p.read_text() for p in _code_files()]
    compared = 0
    for text in sources:
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError:  # a fixture of the syntax-error rule
            continue
        ctx = FileContext.build(text, "t.py", module)
        if ctx is None:
            continue
        compared += 1
        fast_file, fast_module = ctx.file_effects, ctx.module_effects
        functions = ctx.function_effects
        assert fast_file == frozenset().union(*(ctx.effects(site) for site in ctx.calls))
        slow_module: set[str] = set()
        for site in ctx.calls:
            if site.function is None:
                slow_module |= ctx.effects(site)
                slow_module.update(*(functions[a.value.value] for a in site.node.args
                                     if isinstance(a.value, cst.Name) and a.value.value in functions))
        assert fast_module == frozenset(slow_module)
    assert compared >= (1 if source is not None else 20)
    if source is not None:  # the helpers' own effects reach the script through main and fire
        assert {"train", "seed:torch", "log:metric"} <= fast_module


def test_real_paths_are_what_resolve_gives(tmp_path: Path, monkeypatch) -> None:
    """The index resolves each folder once and joins a file's name to it; every kind of path
    (symlinked folders and files, relative, `.` and `..` parts, a file that does not exist)
    comes out as `str(path.resolve())`."""
    import os

    from mltrack.lint.index import _RealPaths

    real = tmp_path / "real"
    (real / "pkg").mkdir(parents=True)
    (real / "pkg" / "a.py").write_text("")
    (real / "b.py").write_text("")
    os.symlink(real / "pkg", tmp_path / "linked_pkg")  # a symlinked folder
    os.symlink(real / "b.py", real / "pkg" / "b_link.py")  # a symlinked file
    os.symlink(tmp_path / "linked_pkg", real / "chain")  # a link to a link
    monkeypatch.chdir(real)
    paths = [Path(p) for p in (
        "pkg/a.py", "./pkg/a.py", "b.py", "pkg/b_link.py", "chain/a.py", "chain/b_link.py",
        "chain/../b.py", "pkg/../b.py", "missing.py", "pkg/missing.py", "chain/missing.py")]
    paths += [tmp_path / "linked_pkg" / "a.py", tmp_path / "linked_pkg" / ".." / "real" / "b.py",
              real / "pkg" / "a.py"]
    resolve = _RealPaths()
    for path in paths * 2:  # the second round from the memo
        assert resolve(path) == str(path.resolve()), path
    assert resolve(Path("chain/a.py")) == str(real / "pkg" / "a.py")


_SAVING_HELPERS = '''\
import os, shutil, torch, joblib, mlflow

CKPT = "ckpt"

def save_checkpoint(state, is_best, checkpoint="checkpoint", filename="checkpoint.pth.tar"):
    filepath = os.path.join(checkpoint, filename)
    torch.save(state, filepath)
    if is_best:
        shutil.copyfile(filepath, os.path.join(checkpoint, "model_best.pth.tar"))

def save_fixed(model):
    print("saving")
    torch.save(model.state_dict(), CKPT + "/model.pt")

def save_epoch(net, epoch, root="out"):
    torch.save(net, f"{root}/epoch_{epoch}.pt")

def save_per_run(model, run_id):
    torch.save(model, f"runs/{run_id}/model.pt")

def save_and_log(model, path="m.pt"):
    torch.save(model, path)
    mlflow.log_artifact(path)

class Trainer:
    def save(self, model, folder="weights", *, name="last.pt"):
        joblib.dump(model, os.path.join(folder, name))

    def run(self):
        for loss in range(3):
            print(loss)

def save_each(models):
    for path in ["a.pt", "b.pt"]:  # the loop's values: fixed paths
        torch.save(models, path)

def save_all(*args, **kwargs):
    torch.save(*args, **kwargs)

def export(model):
    save_all(model, "export.pt")
    with open("clf.pkl", "wb") as fh:
        torch.save(model, fh)
'''


def _helper_saves_over_whole_facts(facts, module, effects):
    """`helper_saves` as it was: calls grouped per function, then every function's calls
    judged, each view a `dataclasses.replace` of the whole Facts."""
    import dataclasses

    from mltrack.lint import saves

    view = saves._HelperView(facts, module)
    wrappers = saves.forwarders(facts)
    by_function: dict = {}
    for site in facts.calls:
        if site.function is not None:
            by_function.setdefault(site.function, []).append(site)
    found = {}
    for function, sites in by_function.items():
        node = facts.functions.get(function)
        if node is None or "log:artifact" in effects.get(function, ()):
            continue
        paths = [(p, False) for p in (saves.saved_path(view, s, wrappers) for s in sites) if p is not None]
        if not paths:
            continue
        paths += [(s.positional(1).value, True) for s in sites
                  if s.imported and s.qual in saves._COPIES and s.positional(1) is not None]
        params = saves._parameters(function, node)
        bound = saves._Reads(facts.assigns)
        for _, name, default in params:
            bound[name] = [default if default is not None else saves._PLACEHOLDER]
        fixed = saves._HelperView(dataclasses.replace(facts, assigns=bound), module, view.codes)
        judged = [save for path, copy in paths
                  if (save := saves._judge(view, fixed, path, params, copy)) is not None]
        if judged:
            found[function] = tuple(dict.fromkeys(judged))
    return found


@pytest.mark.parametrize("source", [_SAVING_HELPERS, None], ids=["saving-helpers", "fixtures"])
def test_helper_saves_in_one_pass_with_bound_views(source: str | None, monkeypatch) -> None:
    """`helper_saves` looks at savers and copies only and binds parameters in a two-field view
    instead of a copy of the whole Facts: the same saves, parameters and defaults as before,
    and the probes see the same for-loops (an epoch-indexed name)."""
    from mltrack.lint.effects import function_effects
    from mltrack.lint.saves import helper_saves

    sources = [source] if source is not None else [p.read_text() for p in _code_files()]
    compared = saving = 0
    for text in sources:
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError:
            continue
        facts = collect(module, "t")
        effects = function_effects(facts, None)
        fast = helper_saves(facts, module, effects)
        assert fast == _helper_saves_over_whole_facts(facts, module, effects)
        compared += 1
        saving += bool(fast)
    assert compared >= (1 if source is not None else 20)
    assert saving >= 1
    if source is not None:
        fast = helper_saves(facts, module, effects)
        assert set(fast) == {"save_checkpoint", "save_fixed", "save_epoch", "save_per_run",
                             "Trainer.save", "save_each", "export"}  # not save_and_log: it logs the file
        assert fast["save_per_run"][0].params == ((1, "run_id", False),)
        assert {s.copy for s in fast["save_checkpoint"]} == {False, True}
        assert {n for s in fast["save_checkpoint"] for _, n, _ in s.params} == {"checkpoint", "filename"}
        assert fast["Trainer.save"][0].params == ((1, "folder", True), (-1, "name", True))


def test_decoded_saves_are_the_decoded_effects() -> None:
    """The remembered decoding of a helper's `save:` effects is the plain decoding, in sorted
    order, ignoring other effects; asking again gives the same (immutable) answer."""
    from mltrack.lint.saves import HelperSave, decoded_saves

    saves = (HelperSave("ckpt/model.pt", ()), HelperSave("x", ((0, "path", True),), "'m.pt'"),
             HelperSave("a/b", ((-1, "folder", False), (1, "name", True))),
             *(HelperSave(f"out/{n}.pt", ((n, f"p{n}", bool(n % 2)),)) for n in range(5)))
    effects = frozenset({"log:metric", "seed:torch", *(s.encode() for s in saves)})
    expected = tuple(s for s in map(HelperSave.decode, sorted(effects)) if s is not None)
    assert len(expected) == 8
    assert decoded_saves(effects) == expected
    assert decoded_saves(effects) is decoded_saves(frozenset(effects))
    assert decoded_saves(frozenset({"log:artifact"})) == ()


def test_modules_resolved_once_per_importing_package() -> None:
    """`resolve_module` remembers answers per (import, importer's package) instead of per
    importing module: for every import and importer, in any order, the answer is the walk up
    the importer's folders that it replaces."""
    from mltrack.lint.project import ModuleSummary, ProjectIndex

    names = ["utils", "exp.utils", "exp.sub.utils", "exp.sub.models", "a.b.c.helpers", "a.helpers",
             "pkg", "pkg.core", "exp.sub"]
    index = ProjectIndex("/r", {n: ModuleSummary(n) for n in names})

    def walk_up(module: str, importer: str) -> str | None:
        if module in index.modules:
            return module
        parts = importer.split(".")[:-1] if importer else []
        while parts:
            if ".".join([*parts, module]) in index.modules:
                return ".".join([*parts, module])
            parts.pop()
        return None

    imports = ["utils", "models", "helpers", "sub.utils", "sub", "core", "torch", "b.c.helpers", ""]
    importers = ["", "train", "exp.train", "exp.sub.train", "exp.sub", "exp.sub.deep.x", "a.b.c.d",
                 "a.b.run", "a.x", "pkg.core", "pkg", "other.train"]
    pairs = [(m, i) for m in imports for i in importers]
    rng = random.Random(7)
    for _ in range(3):
        rng.shuffle(pairs)
        for module, importer in pairs:
            assert index.resolve_module(module, importer) == walk_up(module, importer), (module, importer)
    assert index.resolve_module("models", "exp.sub.train") == "exp.sub.models"
    assert index.resolve_module("helpers", "a.b.c.d") == "a.b.c.helpers"
    assert index.resolve_module("helpers", "a.b.run") == "a.helpers"
    # one answer per package, not per importing module
    assert len({key for key in index._resolved if key[0] == "models"}) < len(importers)
