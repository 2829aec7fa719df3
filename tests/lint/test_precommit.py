"""The hook in `.pre-commit-hooks.yaml`, installed and run by the real `pre-commit` in a
temporary git repository.

No network: pre-commit would install a `language: python` hook by pip-installing this project
and its dependencies (mlflow among them) from PyPI. The test therefore copies our hook
definition into a temporary hook repository, changing only `language` to `unsupported` (the
pre-commit 4 name of `system`) and `entry` to this virtualenv's `mltrack-lint`; every other
key (id, types_or, require_serial, ...) is ours, and pre-commit clones that repository by path
exactly as it would clone GitHub.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
MLTRACK_LINT = Path(sys.executable).parent / "mltrack-lint"

BAD = (
    "import torch\n"
    "model = torch.nn.Linear(3, 1)\n"
    "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    "for _ in range(3):\n"
    "    model(torch.randn(2, 3)).sum().backward()\n"
    "    opt.step()\n"
)

pytestmark = pytest.mark.skipif(
    not PRE_COMMIT.exists() or shutil.which("git") is None, reason="needs pre-commit and git"
)


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def hook_repo(tmp_path: Path) -> tuple[Path, str]:
    import yaml  # pre-commit's own dependency

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    [hook] = [h for h in hooks if h["id"] == "mltrack-lint"]
    assert hook["language"] == "python" and hook["entry"] == "mltrack-lint"
    hook = {**hook, "language": "unsupported", "entry": str(MLTRACK_LINT)}
    repo = tmp_path / "hooks"
    repo.mkdir()
    (repo / ".pre-commit-hooks.yaml").write_text(yaml.safe_dump([hook]))
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "hooks")
    return repo, git(repo, "rev-parse", "HEAD")


def test_hook_installs_and_fails_on_a_bad_file(tmp_path: Path) -> None:
    hooks, rev = hook_repo(tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    git(project, "init", "-q")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n      - id: mltrack-lint\n"
    )
    (project / "pyproject.toml").write_text('[tool.mltrack.lint]\nselect = ["MLT001"]\n')
    (project / "train.py").write_text(BAD)
    (project / "notes.txt").write_text("not python\n")
    git(project, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}
    env.pop("PRE_COMMIT_COLOR", None)

    def run_hooks() -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(PRE_COMMIT), "run", "--all-files", "--color", "never"],
                              cwd=project, env=env, capture_output=True, text=True, timeout=300)

    failed = run_hooks()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "mltrack-lint" in failed.stdout and "Failed" in failed.stdout
    assert "train.py:2:9: MLT001 [missing-seed]" in failed.stdout

    (project / "train.py").write_text(BAD.replace("import torch\n", "import torch\ntorch.manual_seed(0)\n"))
    git(project, "add", ".")
    passed = run_hooks()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
