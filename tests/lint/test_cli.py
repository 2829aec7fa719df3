"""`mltrack-lint` / `mltrack lint`, `mltrack explain`, `mltrack rules`, `mltrack checks` through
click's CliRunner (exit codes, formats, flags) plus a real subprocess for start-up imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrack.cli import main as mltrack
from mltrack.cli.lint_cmd import lint_command

UNSEEDED = (
    "import torch\n"
    "model = torch.nn.Linear(3, 1)\n"
    "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    "for _ in range(3):\n"
    "    model(torch.randn(2, 3)).sum().backward()\n"
    "    opt.step()\n"
)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.mltrack.lint]\nselect = ["MLT001"]\n')
    (tmp_path / "train.py").write_text(UNSEEDED)
    (tmp_path / "clean.py").write_text("import os\nprint(os.getcwd())\n")
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(lint_command, list(args), prog_name="mltrack-lint")


def test_exit_codes(repo: Path) -> None:
    assert invoke("clean.py").exit_code == 0
    result = invoke(".")
    assert result.exit_code == 1
    assert "train.py:2:9: MLT001 [missing-seed]" in result.output
    assert invoke(".", "--exit-zero").exit_code == 0
    assert invoke(".", "--ignore", "missing-seed").exit_code == 0


def test_group_command_is_the_same(repo: Path) -> None:
    result = CliRunner().invoke(mltrack, ["lint", "--format", "json", "--no-cache", "."])
    assert result.exit_code == 1
    [item] = json.loads(result.output)
    assert (item["path"], item["code"], item["line"]) == ("train.py", "MLT001", 2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing-dir"], "no such file or directory"),
        (["--select", "MLT999", "."], "unknown rule 'MLT999'"),
        (["--format", "xml", "."], "Invalid value for '--format'"),
        (["--jobs", "0", "."], "Invalid value for '-j' / '--jobs'"),
        (["--config", "nope.toml", "."], "does not exist"),
    ],
)
def test_usage_errors_exit_2_with_one_line(repo: Path, args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_bad_configuration_exits_2(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.mltrack.lint]\nselct = ["MLT001"]\n')
    result = invoke(".")
    assert result.exit_code == 2 and "unknown key(s)" in result.output and "selct" in result.output


def test_statistics_diff_fix_and_output_file(repo: Path) -> None:
    stats = invoke("--statistics", ".")
    assert stats.exit_code == 1 and "1  MLT001  [*] missing-seed" in stats.output
    diff = invoke("--diff", "train.py")
    assert diff.exit_code == 1 and "+torch.manual_seed(0)" in diff.output
    assert (repo / "train.py").read_text() == UNSEEDED
    fixed = invoke("--fix", "train.py")
    assert fixed.exit_code == 0, fixed.output
    assert "Fixed 1 finding" in fixed.output and "manual_seed" in (repo / "train.py").read_text()
    assert invoke("--diff", "train.py").exit_code == 0
    (repo / "train.py").write_text(UNSEEDED)
    assert invoke("--format", "sarif", "-o", "out.sarif", ".").exit_code == 1
    assert json.loads((repo / "out.sarif").read_text())["version"] == "2.1.0"


def test_github_format(repo: Path) -> None:
    result = invoke("--format", "github", ".")
    assert result.output.startswith("::error file=train.py,line=2,col=9,")


def test_rules_and_checks_as_json() -> None:
    rules = json.loads(CliRunner().invoke(mltrack, ["rules", "--format", "json"]).output)
    assert rules[0]["code"] == "MLT001" and rules[0]["name"] == "missing-seed"
    assert all(set(r) == {"code", "name", "summary", "fixable"} for r in rules)
    result = CliRunner().invoke(mltrack, ["checks", "--format", "json"])
    assert result.exit_code == 0, result.output
    checks = json.loads(result.output)
    assert [c["code"] for c in checks] == [f"MLP{i:02d}" for i in range(1, 11)]
    assert checks[4]["name"] == "rollback"


@pytest.mark.parametrize(("key", "heading"), [
    ("MLT001", "# missing-seed (MLT001)"), ("missing-seed", "# missing-seed (MLT001)"),
    ("mlp05", "# rollback (MLP05)"), ("rollback", "# rollback (MLP05)"),
])
def test_explain_rules_and_checks(key: str, heading: str) -> None:
    result = CliRunner().invoke(mltrack, ["explain", key])
    assert result.exit_code == 0
    assert result.output.startswith(heading)


def test_explain_rule_has_the_ruff_sections() -> None:
    text = CliRunner().invoke(mltrack, ["explain", "MLT001"]).output
    for section in ("What it does", "Why is this bad?", "Example", "Use instead"):
        assert section in text


def test_explain_unknown_exits_2() -> None:
    result = CliRunner().invoke(mltrack, ["explain", "MLT777"])
    assert result.exit_code == 2 and "unknown rule or check 'MLT777'" in result.output


def test_lint_command_imports_no_vendor_sdk(repo: Path) -> None:
    """mltrack-lint must start fast: no mlflow, pandas, torch or wandb at import, at --help,
    or while linting."""
    code = (
        "import sys\n"
        "from mltrack.cli.lint_cmd import main\n"
        "for args in (['--help'], ['--no-cache', '--exit-zero', 'train.py']):\n"
        "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
        "heavy = [m for m in ('mlflow', 'pandas', 'torch', 'wandb') if m in sys.modules]\n"
        "print(','.join(heavy) or 'none')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "none"
