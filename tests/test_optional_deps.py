"""`pip install mltrack` is the linter alone (click, libcst): the pre-commit hook's environment
never installs MLflow, pandas, numpy, torch or W&B. The store side needs an extra, and says
which one; a missing mltrack module is loud, never a command that silently disappears.

The fast tests block the SDKs in a subprocess (tests/support/without_modules.py); the slow one
builds a fresh venv and installs the project the way pre-commit installs a `language: python`
hook (`pip install .`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKER = ROOT / "tests" / "support" / "without_modules.py"
STORE_SDKS = ("mlflow", "pandas", "numpy", "torch", "wandb", "sklearn", "psycopg", "sqlalchemy")
LINT_FIXTURES = ROOT / "fixtures" / "lint"


def _run(blocked: str | tuple[str, ...], target: str, *args: str, cwd: Path | None = None,
         ) -> subprocess.CompletedProcess[str]:
    names = blocked if isinstance(blocked, str) else ",".join(blocked)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(BLOCKER), names, target, *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120, check=False)


def _name(requirement: str) -> str:
    return re.split(r"[\s;\[=<>!~]", requirement, maxsplit=1)[0].lower()


def test_core_dependencies_are_the_linters_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert {_name(dep) for dep in project["dependencies"]} == {"click", "libcst", "tomli"}
    extras = project["optional-dependencies"]
    assert any(dep.startswith("mlflow==") for dep in extras["mlflow"])
    assert any(dep.startswith("wandb==") for dep in extras["wandb"])
    assert {"mlflow", "numpy", "torch", "wandb"} <= {_name(dep) for dep in extras["dev"]}  # the full set


def test_the_linter_runs_without_any_store_sdk(tmp_path: Path) -> None:
    shutil.copytree(LINT_FIXTURES, tmp_path / "lint")  # outside the repo: its exclude does not apply
    result = _run(STORE_SDKS, "mltrack.cli.lint_cmd:main", "lint", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # 1: findings
    assert len(json.loads(result.stdout)) > 10
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [("--help",), ("checks",), ("rules",), ("explain", "MLP05")])
def test_docs_commands_run_without_any_store_sdk(args: tuple[str, ...]) -> None:
    result = _run(STORE_SDKS, "mltrack.cli:main", *args)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("uri, extra", [
    ("sqlite:///{tmp}/mlflow.db", "mlflow"),
    ("wandb-offline:{tmp}", "wandb"),
])
def test_a_store_command_without_its_extra_names_it(tmp_path: Path, uri: str, extra: str) -> None:
    result = _run(STORE_SDKS, "mltrack.cli:main", "audit", "--tracking-uri", uri.format(tmp=tmp_path),
                  "--out", str(tmp_path / "audit"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mltrack: error: "), result.stderr
    assert f"pip install 'mltrack[{extra}]'" in lines[0]
    assert not (tmp_path / "mlflow.db").exists()


def test_a_missing_command_module_is_loud() -> None:
    """A renamed command module used to vanish from `mltrack --help` without a word."""
    result = _run("mltrack.cli.report_cmd", "mltrack.cli:main", "--help")
    assert result.returncode != 0
    assert "ModuleNotFoundError" in result.stderr and "mltrack.cli.report_cmd" in result.stderr


def test_a_missing_pressure_registry_is_not_an_unknown_check() -> None:
    """`explain MLP05` used to answer "unknown rule or check" when the registry failed to import."""
    result = _run("mltrack.pressure.registry", "mltrack.cli:main", "explain", "MLP05")
    assert result.returncode == 2
    assert "internal error: ModuleNotFoundError" in result.stderr
    assert "mltrack.pressure.registry" in result.stderr and "unknown rule" not in result.stderr


@pytest.mark.slow
def test_the_pre_commit_environment_holds_only_the_linter(tmp_path: Path) -> None:
    """pre-commit installs a python hook with `pip install .` into a fresh venv: do the same."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(ROOT)],
                             capture_output=True, text=True, timeout=900, check=False)
    assert install.returncode == 0, install.stderr[-2000:]
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"],
                            capture_output=True, text=True, timeout=120, check=True)
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "libcst" in installed and "mltrack" in installed
    assert not installed & {"mlflow", "mlflow-skinny", "pandas", "numpy", "torch", "wandb"}

    work = tmp_path / "work"
    shutil.copytree(LINT_FIXTURES, work / "lint")

    def lint(executable: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(executable), "lint", "--format", "json", "--no-cache"], cwd=work,
                              capture_output=True, text=True, timeout=300, check=False)

    fresh = lint(venv / "bin" / "mltrack-lint")
    assert fresh.returncode == 1, fresh.stderr  # findings, not a crash
    full = lint(Path(sys.executable).with_name("mltrack-lint"))
    assert json.loads(fresh.stdout) == json.loads(full.stdout)
