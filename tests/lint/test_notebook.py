"""Notebooks: code cells linted as one program, findings placed in their cell, magics harmless,
fixes written back into the right cell."""

from __future__ import annotations

import json
from pathlib import Path

import libcst as cst
import pytest

from mltrack.lint.config import lint_config_from_table
from mltrack.lint.engine import lint_paths
from mltrack.lint.notebook import neutralise_magics, read_notebook


def notebook(*cells: tuple[str, str], language: str = "python") -> str:
    return json.dumps({
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": text.splitlines(keepends=True),
             **({"outputs": [], "execution_count": None} if kind == "code" else {})}
            for kind, text in cells
        ],
        "metadata": {"kernelspec": {"language": language, "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }, indent=1)


TRAINING_CELLS = (
    ("markdown", "# Training\nSome words."),
    ("code", "%matplotlib inline\nimport torch\nfrom torch import nn"),
    ("code", "!pip install foo\nfiles = !ls\nmodel = nn.Linear(3, 1)\n"
             "opt = torch.optim.SGD(model.parameters(), lr=0.1)"),
    ("code", "%%time\nfor step in range(3):\n    loss = model(torch.randn(4, 3)).sum()\n"
             "    loss.backward()\n    opt.step()\n    %time pass\n"),
    ("code", "%%bash\necho this is not python (\n"),
    ("code", "model?\n"),
)


def test_magics_become_python_without_shifting_lines() -> None:
    text = "%load_ext autoreload\nx = !ls\n!nvidia-smi\nif True:\n    %time f()\nobj?\ny = 1"
    out = neutralise_magics(text)
    assert out.count("\n") == text.count("\n")
    cst.parse_module(out)
    assert out.splitlines()[1] == "x = None" and out.splitlines()[-1] == "y = 1"
    bash = neutralise_magics("%%bash\nls (\n")
    cst.parse_module(bash)


def test_code_cells_join_into_one_parseable_program() -> None:
    program = read_notebook(notebook(*TRAINING_CELLS))
    assert [c.index for c in program.cells] == [1, 2, 3, 4, 5]
    cst.parse_module(program.source)
    # Line 1 of the program is line 1 of cell index 1; cell index 2 starts after its 3 lines.
    assert program.cells[1].first_line == 4
    loc = program.to_cell_location(
        __import__("mltrack.model", fromlist=["Location"]).Location("nb.ipynb", 6, 5, 6, 9))
    assert (loc.cell, loc.line, loc.column) == (2, 3, 5)


def test_findings_name_the_cell_and_the_line_in_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.ipynb").write_text(notebook(*TRAINING_CELLS), encoding="utf-8")
    run = lint_paths(["train.ipynb"], lint_config_from_table({"select": ["MLT001"]}, root=tmp_path),
                     cache=False)
    [finding] = run.findings
    assert finding.code == "MLT001"
    # nn.Linear(3, 1) is on line 3 of the third cell (index 2).
    assert (finding.location.cell, finding.location.line) == (2, 3)


def test_a_seed_in_an_early_cell_counts_for_later_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cells = list(TRAINING_CELLS)
    cells[1] = ("code", cells[1][1] + "\ntorch.manual_seed(0)")
    (tmp_path / "train.ipynb").write_text(notebook(*cells), encoding="utf-8")
    run = lint_paths(["."], lint_config_from_table({"select": ["MLT001"]}, root=tmp_path), cache=False)
    assert run.findings == []


def test_fix_is_written_into_the_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "train.ipynb"
    cells = list(TRAINING_CELLS)
    cells[1] = ("code", "import torch\nfrom torch import nn")
    path.write_text(notebook(*cells), encoding="utf-8")
    config = lint_config_from_table({"select": ["MLT001"]}, root=tmp_path)
    run = lint_paths(["train.ipynb"], config, fix=True)
    assert run.fixes_applied >= 1 and run.findings == []
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [c["cell_type"] for c in data["cells"]] == [k for k, _ in cells]
    code_text = "".join("".join(c["source"]) for c in data["cells"] if c["cell_type"] == "code")
    assert "manual_seed" in code_text
    assert "%%bash" in "".join(data["cells"][4]["source"])  # other cells untouched
    assert lint_paths(["train.ipynb"], config, fix=True).changed == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "bad JSON"),
        ('{"metadata": {}}', "no `cells`"),
        (notebook(("code", "x <- 1"), language="R"), "language is 'R'"),
    ],
)
def test_broken_notebooks_are_one_clear_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.ipynb").write_text(text, encoding="utf-8")
    run = lint_paths(["bad.ipynb"], lint_config_from_table({}, root=tmp_path), cache=False)
    [finding] = run.findings
    assert finding.code == "MLT014" and message in finding.message


def test_syntax_error_in_a_cell_points_into_that_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nb.ipynb").write_text(
        notebook(("code", "import torch\nx = 1"), ("code", "y = 2\ndef f(:\n    pass")), encoding="utf-8")
    [finding] = lint_paths(["nb.ipynb"], lint_config_from_table({}, root=tmp_path), cache=False).findings
    assert finding.code == "MLT014"
    assert finding.location.cell == 1


def test_edits_map_into_cells_and_cross_cell_edits_are_skipped() -> None:
    from mltrack.model import Edit, Finding, Fix, Location

    program = read_notebook(notebook(("code", "a = 1\nb = 2"), ("markdown", "x"), ("code", "c = 3")))

    def finding(*edit: object) -> Finding:
        return Finding("MLT001", "missing-seed", "m", Location("n.ipynb", 1, 1),
                       Fix("t", (Edit(*edit),)))  # type: ignore[arg-type]

    new = json.loads(program.apply_fixes([finding(3, 0, 3, 1, "C")]))
    assert "".join(new["cells"][2]["source"]) == "C = 3"
    assert "".join(new["cells"][0]["source"]) == "a = 1\nb = 2"
    assert program.apply_fixes([finding(2, 0, 3, 1, "X")]) is None  # spans two cells
