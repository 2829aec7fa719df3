"""Suppression comments: `# noqa: CODE`, `# noqa: name`, bare `# noqa`, file-level
`# mltrack: noqa`, and the unused-suppression warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltrack.lint.config import lint_config_from_table
from mltrack.lint.engine import lint_paths
from mltrack.lint.suppress import parse_suppressions

UNSEEDED = (
    "import torch\n"
    "model = torch.nn.Linear(3, 1){comment}\n"
    "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    "for _ in range(3):\n"
    "    model(torch.randn(2, 3)).sum().backward()\n"
    "    opt.step()\n"
)


def lint(tmp_path: Path, text: str, **table):
    (tmp_path / "train.py").write_text(text, encoding="utf-8")
    config = lint_config_from_table({"select": ["MLT001"], **table}, root=tmp_path)
    return sorted((f.location.line, f.code) for f in lint_paths([tmp_path / "train.py"], config, cache=False).findings)


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_unsuppressed_baseline(tmp_path: Path) -> None:
    assert lint(tmp_path, UNSEEDED.format(comment="")) == [(2, "MLT001")]


@pytest.mark.parametrize("comment", ["  # noqa: MLT001", "  # noqa: missing-seed", "  # NOQA:MLT001,E501",
                                     "  # noqa", "  # noqa: E501, mlt001  -- seeded by the caller"])
def test_line_noqa_suppresses(tmp_path: Path, comment: str) -> None:
    assert lint(tmp_path, UNSEEDED.format(comment=comment)) == []


def test_noqa_for_another_rule_does_not_suppress(tmp_path: Path) -> None:
    assert lint(tmp_path, UNSEEDED.format(comment="  # noqa: MLT004")) == [(2, "MLT001")]


@pytest.mark.parametrize("header", ["# mltrack: noqa\n", "# mltrack: noqa: missing-seed\n"])
def test_file_level_noqa(tmp_path: Path, header: str) -> None:
    assert lint(tmp_path, header + UNSEEDED.format(comment="")) == []


def test_unused_suppression_is_a_warning(tmp_path: Path) -> None:
    seeded = "torch.manual_seed(0)  # noqa: MLT001\n"
    text = UNSEEDED.format(comment="").replace("import torch\n", "import torch\n" + seeded)
    (tmp_path / "train.py").write_text(text, encoding="utf-8")
    config = lint_config_from_table({"select": ["MLT001"]}, root=tmp_path)
    [warning] = lint_paths(["train.py"], config, cache=False).findings
    assert (warning.code, warning.name, warning.severity) == ("MLT100", "unused-suppression", "warning")
    assert warning.location.line == 2 and "MLT001" in warning.message
    # Not reported for rules that are off, for other tools' codes, or when ignored.
    off = lint_config_from_table({"select": ["MLT003"]}, root=tmp_path)
    assert lint_paths(["train.py"], off, cache=False).findings == []
    quiet = lint_config_from_table({"select": ["MLT001"], "ignore": ["unused-suppression"]}, root=tmp_path)
    assert lint_paths(["train.py"], quiet, cache=False).findings == []


def test_noqa_inside_a_string_is_not_a_directive() -> None:
    assert not parse_suppressions('x = "# noqa: MLT001"\n')
    assert parse_suppressions("x = 1  # noqa: MLT001\n").lines[1].codes == ("MLT001",)
