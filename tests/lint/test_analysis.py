"""The analysis under the rules: import aliases, effects, entry points, the project index,
positions, fixes, the rule registry, and the one error boundary (a file's parse error is a
finding; a crash of the linter is one internal-error finding for that file)."""

from __future__ import annotations

import pickle
from pathlib import Path

import libcst as cst
import pytest

from mltrack.lint.analyze import analyze_source
from mltrack.lint.config import LintConfig
from mltrack.lint.context import FileContext, imported_roots
from mltrack.lint.engine import lint_paths
from mltrack.lint.fixes import apply_fixes
from mltrack.lint.imports import ImportMap
from mltrack.lint.registry import RULES, rule_by_code_or_name
from mltrack.model import Edit, Finding, Fix, Location
from tests.support.lint_project import index_and_fingerprints, project_index

TRAIN_LOOP = "for x in loader:\n    loss = model(x)\n    loss.backward()\n    opt.step()\n"


def _context(source: str, path: str = "t.py") -> FileContext:
    ctx = FileContext.build(source, path, cst.parse_module(source))
    assert ctx is not None
    return ctx


def _codes(source: str, **kwargs) -> list[str]:
    return [f.code for f in analyze_source(source, "t.py", **kwargs)]


# -- imports -------------------------------------------------------------------------------
def test_import_aliases_resolve_to_qualified_names() -> None:
    ctx = _context(
        "import numpy as np\nimport torch.nn as nn\nimport os.path\n"
        "from torch import manual_seed as ms\nfrom .utils import set_seed\n"
        "np.random.seed(1)\nnn.Linear(2, 2)\nms(0)\nset_seed(3)\nos.path.join('a')\n",
        "pkg/train.py",
    )
    ctx.facts.imports.module_name = "pkg.train"
    quals = [site.qual for site in ctx.calls]
    assert quals[:3] == ["numpy.random.seed", "torch.nn.Linear", "torch.manual_seed"]
    assert quals[4] == "os.path.join"


def test_relative_imports_use_the_module_name() -> None:
    imports = ImportMap("pkg.sub.train")
    imports.add(cst.parse_statement("from ..seeding import seed_all").body[0])
    imports.add(cst.parse_statement("from . import helpers").body[0])
    assert imports.resolve("seed_all") == "pkg.seeding.seed_all"
    assert imports.resolve("helpers.go") == "pkg.sub.helpers.go"
    assert imports.resolve("unknown") is None


def test_text_precheck_finds_every_imported_root() -> None:
    assert imported_roots("import os, numpy as np\nfrom torch import nn\n  import wandb # x\n") == {
        "os", "numpy", "torch", "wandb"}


def test_files_without_ml_imports_are_not_analysed() -> None:
    source = "import os\nfor x in y:\n    loss.backward()\n    print('loss', loss)\n"
    assert FileContext.build(source, "t.py", cst.parse_module(source)) is None
    assert analyze_source(source, "t.py") == []


# -- effects and entry points ----------------------------------------------------------------
@pytest.mark.parametrize(
    "seeding",
    [
        "torch.manual_seed(0)",
        "import lightning as L\nL.seed_everything(0)",
        "from transformers import set_seed\nset_seed(0)",
        "import keras\nkeras.utils.set_random_seed(0)",
        "from my_unlinted_helpers import set_seed\nset_seed(0)",  # unknown helper: trust its name
        "def main(args):\n    if args.seed is not None:\n        torch.manual_seed(args.seed)\nmain(a)",
    ],
)
def test_every_seeding_idiom_counts(seeding: str) -> None:
    source = f"import torch\n{seeding}\nmodel = torch.nn.Linear(2, 2)\n{TRAIN_LOOP}"
    assert "MLT001" not in _codes(source)


def test_seeded_generators_and_random_state_draw_nothing_global() -> None:
    source = (
        "import numpy as np\nfrom sklearn.ensemble import RandomForestClassifier\n"
        "rng = np.random.default_rng(0)\nX = rng.normal(size=(9, 2))\n"
        "RandomForestClassifier(random_state=0).fit(X, X[:, 0] > 0)\n"
    )
    assert _codes(source) == []


def test_only_entry_points_are_judged_by_file_level_rules() -> None:
    library = f"import torch\ndef fit(model, loader, opt):\n    model = torch.nn.Linear(2, 2)\n" + "".join(
        f"    {line}\n" for line in TRAIN_LOOP.splitlines())
    assert "MLT001" not in _codes(library)
    assert "MLT001" in _codes(library + "\nif __name__ == '__main__':\n    fit(None, [], None)\n")
    assert "MLT001" in _codes(library + "\nimport fire\nfire.Fire(fit)\n")


def test_methods_reached_through_an_instance_are_followed() -> None:
    source = (
        "import torch\nclass Runner:\n    def go(self):\n        m = torch.nn.Linear(2, 2)\n"
        "        loss.backward()\n\nRunner().go()\n"
    )
    assert "MLT001" in _codes(source)


# -- the project index -------------------------------------------------------------------------
def _project(tmp_path: Path, utils: str) -> tuple[Path, object]:
    (tmp_path / "utils.py").write_text(utils)
    train = tmp_path / "train.py"
    train.write_text(
        f"import torch\nfrom utils import set_seed\nset_seed(0)\nmodel = torch.nn.Linear(2, 2)\n{TRAIN_LOOP}"
    )
    return train, project_index(tmp_path, [train])


def test_a_seed_helper_in_another_module_seeds_the_caller(tmp_path: Path) -> None:
    train, project = _project(tmp_path, "import torch\ndef set_seed(s):\n    torch.manual_seed(s)\n")
    assert analyze_source(train.read_text(), str(train), project=project) == []
    # A helper with that name that seeds nothing is judged by what it does, not by its name.
    train, project = _project(tmp_path, "def set_seed(s):\n    print('seeding', s)\n")
    assert "MLT001" in [f.code for f in analyze_source(train.read_text(), str(train), project=project)]


def test_fingerprint_follows_the_imported_modules_only(tmp_path: Path) -> None:
    """The result cache re-lints train.py when a module it imports (even indirectly) changes,
    and only then."""
    (tmp_path / "seeding.py").write_text("import torch\ndef seed_all(s):\n    torch.manual_seed(s)\n")
    (tmp_path / "other.py").write_text("x = 1\n")

    def fingerprint(utils: str) -> str:
        train, _ = _project(tmp_path, utils)
        _, fingerprints = index_and_fingerprints(tmp_path, [train])
        return fingerprints[train]

    seeded = fingerprint("from seeding import seed_all\ndef set_seed(s):\n    seed_all(s)\n")
    assert fingerprint("def set_seed(s):\n    pass\n") != seeded
    assert fingerprint("from seeding import seed_all\ndef set_seed(s):\n    seed_all(s)\n") == seeded
    (tmp_path / "other.py").write_text("x = 2\n")  # not imported by train.py
    assert fingerprint("from seeding import seed_all\ndef set_seed(s):\n    seed_all(s)\n") == seeded
    (tmp_path / "seeding.py").write_text("def seed_all(s):\n    pass\n")  # reached through utils
    assert fingerprint("from seeding import seed_all\ndef set_seed(s):\n    seed_all(s)\n") != seeded


def test_the_index_survives_pickling_and_its_summary_cache(tmp_path: Path) -> None:
    """Workers receive the index pickled; a warm run reads the summaries from the cache."""
    train, _ = _project(tmp_path, "import torch\ndef set_seed(s):\n    torch.manual_seed(s)\n")
    cold = project_index(tmp_path, [train], cache=True)
    warm = project_index(tmp_path, [train], cache=True)
    assert list((tmp_path / ".mltrack_cache").rglob("*")), "summaries are cached"
    for index in (cold, warm, pickle.loads(pickle.dumps(cold))):
        assert index.effects_of("utils", "set_seed", "train") == frozenset({"seed:torch"})
        assert analyze_source(train.read_text(), str(train), project=index) == []


# -- positions, selection, registry ----------------------------------------------------------------
def test_positions_are_one_based_lines_and_columns() -> None:
    [finding] = analyze_source("import torch\nx = 1\ny = torch.save(m, 'model.pt')\n", "t.py")
    assert finding.code == "MLT007"
    location = finding.location
    assert (location.line, location.column, location.end_line, location.end_column) == (3, 5, 3, 30)  # end is exclusive, like ruff


def test_select_limits_the_rules_that_run() -> None:
    source = "import torch\nwandb_key = 1\ntorch.save(m, 'model.pt')\n"
    assert _codes(source, select=["MLT001"]) == []
    assert _codes(source, select=["MLT007"]) == ["MLT007"]


def test_registry_lookup_by_code_or_name() -> None:
    assert rule_by_code_or_name("mlt001") is rule_by_code_or_name("missing-seed") is RULES[0]
    assert rule_by_code_or_name("MLT999") is None


# -- never raises -----------------------------------------------------------------------------
@pytest.mark.parametrize("source", ["", "\n\n", "x = (", "\x00\x01", "def f(:\n", "\ufeffimport torch\n",
                                    "import torch\r\nx = 1\r\n", "import torch\n" + "(" * 300 + ")" * 300])
def test_analyze_source_never_raises(source: str) -> None:
    found = analyze_source(source, "odd.py")
    assert all(f.code in ("MLT014", "MLT000") for f in found)


def test_a_crashing_rule_becomes_one_internal_error_finding(tmp_path: Path, monkeypatch) -> None:
    """One boundary: the rule's exception (naming the rule) reaches the engine, which makes it
    one finding for that file; the other file's findings are unaffected."""
    def boom(self, ctx):
        if "BOOM" in ctx.source:
            raise RuntimeError("kaput")
        return ()

    (tmp_path / "boom.py").write_text("import torch  # BOOM\ntorch.save(m, 'model.pt')\n")
    (tmp_path / "fine.py").write_text("import torch\ntorch.save(m, 'model.pt')\n")
    monkeypatch.setattr(RULES[0], "check", boom)
    with pytest.raises(RuntimeError, match="kaput") as raised:
        analyze_source((tmp_path / "boom.py").read_text(), "boom.py")
    assert raised.value.__notes__ == [f"in rule {RULES[0].code} ({RULES[0].name})"]
    run = lint_paths([tmp_path], LintConfig(root=str(tmp_path)), jobs=1, cache=False)
    by_file = {Path(r.path).name: [(f.code, f.name) for f in r.findings] for r in run.results}
    assert by_file == {"boom.py": [("MLT000", "internal-error")],
                       "fine.py": [("MLT007", "model-overwrite")]}
    [crash] = run.results[0].findings
    assert "crashed on this file: RuntimeError: kaput, in rule MLT001 (missing-seed)" in crash.message


# -- fixes --------------------------------------------------------------------------------------
def _finding(*edits: Edit) -> Finding:
    return Finding("MLT001", "missing-seed", "m", Location("t.py", 1, 1), Fix("fix", edits))


def test_apply_fixes_skips_overlaps_and_keeps_insertions_in_order() -> None:
    source = "a = 1\nb = 2\n"
    fixes = [
        _finding(Edit(1, 0, 1, 5, "a = 10")),
        _finding(Edit(1, 4, 2, 0, "X")),  # overlaps the first: dropped
        _finding(Edit(2, 0, 2, 0, "# one\n")),
        _finding(Edit(2, 0, 2, 0, "# one\n")),  # the same edit twice: applied once
    ]
    assert apply_fixes(source, fixes) == "a = 10\n# one\nb = 2\n"


def test_unsafe_fixes_are_not_applied() -> None:
    finding = Finding("MLT001", "missing-seed", "m", Location("t.py", 1, 1),
                      Fix("fix", (Edit(1, 0, 1, 0, "x"),), safe=False))
    assert apply_fixes("a\n", [finding]) == "a\n"


# -- configuration the rules read ---------------------------------------------------------------
def test_required_hyperparameters_and_tracker_hint() -> None:
    source = (
        "import argparse, mlflow\np = argparse.ArgumentParser()\np.add_argument('--lr', default=0.1)\n"
        "args = p.parse_args()\nwith mlflow.start_run():\n    mlflow.log_params(vars(args))\n"
        "    model.fit(X, y)\n"
    )
    assert _codes(source) == []
    config = LintConfig(required_hyperparameters=("seed",), tracker="mlflow")
    [finding] = analyze_source(source, "t.py", config=config)
    assert finding.code == "MLT004" and "`seed`" in finding.message
    assert "mlflow.log_params(...)" in finding.message


def test_the_garbage_collector_is_back_on_after_each_file() -> None:
    import gc

    assert gc.isenabled()
    analyze_source("import torch\nx = (\n", "t.py")
    analyze_source("import torch\ntorch.save(m, 'm.pt')\n", "t.py")
    assert gc.isenabled()
