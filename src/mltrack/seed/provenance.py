"""Where the code and the interpreter came from: git commit, dirty flag, Python/torch versions.

Outside a git checkout (an installed wheel) the commit is "unknown" rather than a crash.
"""

from __future__ import annotations

import functools
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Provenance:
    git_commit: str
    git_dirty: str  # "true" | "false" | "unknown"
    python_version: str
    torch_version: str


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state(path: Path) -> tuple[str, str]:
    """(commit, dirty) of the git checkout holding `path`, or ("unknown", "unknown")."""
    folder = path if path.is_dir() else path.parent
    commit = _git(["rev-parse", "HEAD"], folder)
    if not commit:
        return UNKNOWN, UNKNOWN
    status = _git(["status", "--porcelain", "--untracked-files=no"], folder)
    return commit, UNKNOWN if status is None else str(bool(status)).lower()


@functools.lru_cache(maxsize=None)
def current_provenance() -> Provenance:
    """Computed once a process, so every run of one seeding records the same code version."""
    import torch

    commit, dirty = git_state(Path(__file__).resolve().parent)
    return Provenance(commit, dirty, platform.python_version(), torch.__version__.split("+")[0])
