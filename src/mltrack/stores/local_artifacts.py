"""A run's artifacts read straight from the local disk, when the artifact store is a folder.

Listing a local folder is far faster than the tracking API's one request a directory, so the
pressure suite walks it when a run's artifact URI is a local path. Where the files are is
MLflow's on-disk layout, which is why this lives in the store layer: run artifacts under the
run's artifact URI, and MLflow 3 logged models beside the runs, under
`<experiment root>/models/<model_id>/artifacts`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mltrack.model import ArtifactFile, RunRecord


def local_root(uri: str) -> Path | None:
    """A run's artifact URI as a local directory, when the artifact store is the local disk."""
    if not uri:
        return None
    if uri.startswith("file:"):
        return Path(unquote(urlsplit(uri).path))
    if uri.startswith("/"):
        return Path(uri)
    return None


def walk_local(run: RunRecord, root: Path) -> tuple[ArtifactFile, ...]:
    """Every file under the run's artifact root, plus its logged models' files (paths prefixed
    `models/<model_id>/`, as `StoreAdapter.list_artifacts` names them)."""
    files = [ArtifactFile(str(p.relative_to(root)), p.stat().st_size) for p in _files(root)]
    experiment_root = root.parent.parent if root.name == "artifacts" else root.parent
    for model_id in run.logged_model_ids:
        model_root = experiment_root / "models" / model_id / "artifacts"
        files += [ArtifactFile(f"models/{model_id}/{p.relative_to(model_root)}", p.stat().st_size)
                  for p in _files(model_root)]
    return tuple(files)


def _files(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    yield Path(entry.path)
