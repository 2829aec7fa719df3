"""The project index for tests, built by the engine's own builder (`lint.index.build_index`).

Tests of cross-module facts (a `set_seed()` in utils.py seeds train.py; the rules' examples
with `files=`) go through the production path: the same import scan, module naming, reachable
modules and summary cache the engine uses when `mltrack-lint train.py` runs in a project.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mltrack.lint.cache import ResultCache
from mltrack.lint.index import build_index
from mltrack.lint.project import ProjectIndex


def project_index(root: Path, linted: Sequence[Path], *, cache: bool = False) -> ProjectIndex:
    """The index the engine builds when it lints `linted` inside the project at `root` (every
    `.py` file below `root` is a module of the project). `cache=True` stores and reads the
    module summaries in `root/.mltrack_cache`, as a default run does."""
    index, _ = index_and_fingerprints(root, linted, cache=cache)
    return index


def index_and_fingerprints(
    root: Path, linted: Sequence[Path], *, cache: bool = False
) -> tuple[ProjectIndex, dict[Path, str]]:
    """`project_index` and each linted file's dependency fingerprint (its result-cache key part)."""
    project_files = sorted(root.rglob("*.py"))
    sources = {path: path.read_bytes() for path in linted}
    return build_index(list(linted), project_files, sources, root, ResultCache(root, enabled=cache))
