"""The hostile-names store (fixtures/stores/hostile_names.py), built once per pytest run.

Two test modules audit it (escaping, atomic outputs); building it costs a few seconds, so it is
built once under the session's base temp directory (a file lock and a marker make that hold
across xdist workers too) and treated as read-only.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from fixtures.stores import hostile_names

POLICY = Path(hostile_names.__file__).with_name("hostile_names.policy.toml")


@dataclass(frozen=True)
class HostileStore:
    uri: str
    db_path: Path
    policy: Path


def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> HostileStore:
    root = tmp_path_factory.getbasetemp()
    if root.name.startswith("popen-gw"):  # xdist: one store for all workers
        root = root.parent
    folder = root / "mltrack-hostile-names"
    store = HostileStore(f"sqlite:///{folder / 'mlflow.db'}", folder / "mlflow.db", POLICY)
    with FileLock(str(folder) + ".lock", timeout=600):
        if not (folder / "built").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            hostile_names.build(store.uri, str(folder / "artifacts"))
            (folder / "built").write_text("ok")
    return store
