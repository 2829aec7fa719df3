"""The W&B store adapter: `wandb-offline:PATH` (offline run logs) and `wandb://ENTITY/PROJECT`.

Both paths produce `WandbRun` records and share `wandb_mapping.build_snapshot`, so the pressure
checks see the same `StoreSnapshot` shape as for MLflow. Read-only: nothing here writes to a
run directory or to W&B.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from mltrack.errors import StoreError, StoreUnreachable
from mltrack.model import ArtifactFile, StoreSnapshot
from mltrack.stores.base import Progress
from mltrack.stores.deadline import ReadDeadline
from mltrack.stores.wandb_log import CorruptLogError, UnreadableLogError
from mltrack.stores.wandb_mapping import (
    MODEL_TYPE,
    REGISTRY_PROJECT,
    WandbArtifact,
    WandbRun,
    build_snapshot,
    model_collections,
)
from mltrack.uri import TrackingUri

_MODEL_URI = re.compile(r"^(?:models:/|wandb-artifact://(?:[^/]+/){2})(?P<name>[^/@:]+)"
                        r"(?:/(?P<version>\d+)|@(?P<alias>[\w.-]+)|:v(?P<wversion>\d+)|:(?P<walias>[\w.-]+))$")


def _wandb_version() -> str | None:
    try:
        from importlib.metadata import version

        return f"wandb {version('wandb')}"
    except Exception:  # noqa: BLE001 - only used in report headers
        return None


def _error_kind(error: CorruptLogError) -> str:
    """"no run record" (a run whose process died before W&B wrote anything but the header),
    "unreadable" (no regular file) or "damaged"."""
    if isinstance(error, UnreadableLogError):
        return "unreadable"
    return "no run record" if "no run record" in error.reason else "damaged"


class WandbStore:
    """StoreAdapter over W&B runs. `runs` are read once per `snapshot()` and kept for lookups."""

    def __init__(self, uri: TrackingUri, timeout: float = 30.0) -> None:
        self.uri = uri
        self.timeout = timeout
        self._runs: dict[str, WandbRun] = {}
        self._snapshot: StoreSnapshot | None = None
        # The read's overall deadline, started by open_store; runner.read_snapshot enforces it
        # (stores/deadline.py) around the whole read.
        self.read_deadline: ReadDeadline | None = None
        if uri.scheme == "wandb-offline":
            self.root: Path | None = Path(uri.raw[len("wandb-offline:"):]).expanduser()
            if not self.root.exists():
                raise StoreUnreachable(f"W&B offline directory {self.root} does not exist",
                                       hint="pass wandb-offline:PATH, the wandb/ folder of a project")
            self.entity = self.project = ""
        else:
            self.root = None
            self.entity, self.project = [p for p in uri.raw[len("wandb://"):].split("/") if p]

    # -- StoreAdapter ---------------------------------------------------------------------
    def server_version(self) -> str | None:
        return _wandb_version()

    def snapshot(self, experiments: Sequence[str] | None = None, *,
                 progress: Progress | None = None) -> StoreSnapshot:
        extras: dict[str, object] = {}
        if self.root is not None:
            from mltrack.stores.wandb_offline import read_directory

            wanted = [*experiments, REGISTRY_PROJECT] if experiments else None
            read = read_directory(self.root, progress=progress, projects=wanted)
            runs = read.runs
            extras["read_errors"] = [
                {"path": str(e.path), "records_read": e.records_read, "message": str(e), "kind": _error_kind(e)}
                for e in read.errors
            ]
        else:
            from mltrack.stores.wandb_api import read_projects

            # wandb://ENTITY/P1,P2 names several projects (training and inference, say).
            projects = list(dict.fromkeys([*self.project.split(","), *(experiments or ())]))
            runs = read_projects(self.entity, projects, timeout=self.timeout, progress=progress)
        self._runs = {run.run_id: run for run in runs}
        self._snapshot = build_snapshot(self.uri.redacted, runs, server_version=self.server_version(),
                                        extras=extras)
        return self._snapshot

    def _run(self, run_id: str) -> WandbRun:
        if not self._runs:
            self.snapshot()
        run = self._runs.get(run_id)
        if run is None:
            raise StoreError(f"no W&B run {run_id!r} in {self.uri.redacted}")
        return run

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float, int]]:
        run = self._run(run_id)
        rows = run.history
        if self.root is None:  # the API snapshot carries summaries only: fetch this one history
            from mltrack.stores.wandb_api import history

            rows = history(run.entity, run.project, run_id, key, timeout=self.timeout)
        points = []
        for index, row in enumerate(rows):
            value = row.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                step = int(row.get("_step", index))
                points.append((step, float(value), int(float(row.get("_timestamp", 0)) * 1000)))
        return sorted(points)

    def list_artifacts(self, run_id: str) -> tuple[ArtifactFile, ...]:
        self._run(run_id)
        record = self._snapshot.run(run_id) if self._snapshot else None
        return record.artifacts or () if record else ()

    def _find_artifact(self, name: str, *, version: str | None = None,
                       alias: str | None = None) -> WandbArtifact:
        """A model collection's version by number (W&B's vN) or alias; the last version logged
        with an alias holds it, as on the W&B server."""
        if self._snapshot is None:
            self.snapshot()
        arts = model_collections(list(self._runs.values())).get(name, [])
        found: WandbArtifact | None = None
        if version is not None and version.isdigit() and int(version) < len(arts):
            found = arts[int(version)]
        elif version is None and arts:
            wanted = alias or "latest"
            holders = arts if wanted == "latest" else [a for a in arts if wanted in a.aliases]
            found = holders[-1] if holders else None
        if found is None:
            raise StoreError(f"no W&B model artifact {name!r} ({version or alias}) in {self.uri.redacted}")
        return found

    def _copy(self, art: WandbArtifact, prefix: str, dst: Path) -> Path:
        if self.root is None:
            from mltrack.stores.wandb_api import download

            return download(art, prefix, dst, timeout=self.timeout)
        dst.mkdir(parents=True, exist_ok=True)
        copied = 0
        for entry, local in art.local_paths.items():
            if entry == prefix or entry.startswith(prefix.rstrip("/") + "/") or not prefix:
                if not Path(local).is_file():
                    raise StoreError(f"artifact file {art.name}/{entry} is no longer staged at {local}")
                target = dst / entry
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(local, target)
                copied += 1
        if not copied:
            raise StoreError(f"no file {prefix!r} in W&B artifact {art.name}")
        return dst / prefix if prefix else dst

    def download_artifact(self, run_id: str, path: str, dst: Path) -> Path:
        run = self._run(run_id)
        head, _, rest = path.partition("/")
        if head == "models":
            name, _, rest = rest.partition("/")
            art = self._find_artifact(name.split(":v")[0], version=name.split(":v")[-1])
            return self._copy(art, rest, Path(dst))
        for art in run.logged:
            if art.name == head:
                return self._copy(art, rest, Path(dst))
        raise StoreError(f"run {run_id} logged no artifact {head!r}")

    def download_model(self, model_uri: str, dst: Path) -> Path:
        match = _MODEL_URI.match(model_uri)
        if not match:
            raise StoreError(f"unsupported W&B model URI {model_uri!r}",
                             hint="use models:/NAME/VERSION, models:/NAME@ALIAS or NAME:vN")
        art = self._find_artifact(match["name"], version=match["version"] or match["wversion"],
                                  alias=match["alias"] or match["walias"])
        if art.type != MODEL_TYPE:
            raise StoreError(f"W&B artifact {art.name} is a {art.type}, not a model")
        return self._copy(art, "", Path(dst))

    def close(self) -> None:
        self._runs = {}
        self._snapshot = None


def open_wandb_store(uri: TrackingUri, timeout: float = 30.0) -> WandbStore:
    return WandbStore(uri, timeout=timeout)
