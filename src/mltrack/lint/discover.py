"""Which files to lint: `.py` and `.ipynb` under the given paths, minus the excludes."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from mltrack.errors import UsageError
from mltrack.lint.config import LintConfig

SUFFIXES = (".py", ".ipynb")


def discover(paths: Sequence[str | Path], config: LintConfig) -> list[Path]:
    """Files to lint, in a stable order, each once. A path that does not exist is a usage error;
    a file named explicitly is linted whatever its suffix (unless the user excluded it)."""
    found: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{raw}: no such file or directory")
        if path.is_dir():
            for file in walk(path, config):
                found.setdefault(str(file), file)
        elif not config.is_excluded(path, discovered=False):
            found.setdefault(str(path), path)
    return list(found.values())


def walk(directory: Path, config: LintConfig, suffixes: Iterable[str] = SUFFIXES) -> list[Path]:
    """Files under `directory` with one of `suffixes`, pruning excluded folders on the way down."""
    wanted = tuple(suffixes)
    files: list[Path] = []
    base = config.relative(directory)  # resolved once; children extend it as strings
    for folder, dirnames, filenames in os.walk(directory):
        here = Path(folder)
        sub = os.path.relpath(folder, directory).replace(os.sep, "/")
        rel_here = base if sub == "." else (sub if base == "." else f"{base}/{sub}")
        prefix = "" if rel_here == "." else rel_here + "/"
        dirnames[:] = sorted(d for d in dirnames if not config.is_excluded_rel(prefix + d))
        for name in sorted(filenames):
            if name.endswith(wanted) and not config.is_excluded_rel(prefix + name):
                files.append(here / name)
    return files


def display_path(path: Path) -> str:
    """What users see: relative to the working directory when below it, else as given."""
    if not path.is_absolute():
        return os.path.normpath(path).replace(os.sep, "/")
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()
