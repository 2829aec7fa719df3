"""Offline W&B runs (`offline-run-*/run-<id>.wandb`) -> `WandbRun` records.

A run's log is replayed in order: the run record (config, start time, git, job type, tags),
config and summary updates, every history row, logged and used artifacts, the exit record.
A damaged log yields a `CorruptLogError` for that run only; `read_directory` keeps going and
reports it, so one bad file never hides the rest of a project.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mltrack.model import ArtifactFile
from mltrack.stores.base import Progress
from mltrack.stores.wandb_log import CorruptLogError, iter_records
from mltrack.stores.wandb_mapping import WandbArtifact, WandbRun, python_version

log = logging.getLogger(__name__)
RUN_DIR_GLOB = "offline-run-*"


@dataclass
class DirectoryRead:
    runs: list[WandbRun] = field(default_factory=list)
    errors: list[CorruptLogError] = field(default_factory=list)


def find_run_logs(root: Path) -> list[Path]:
    """The `.wandb` log of every offline run under `root` (a `wandb/` folder, a folder holding
    one, a single run directory or a `.wandb` file). `latest-run` links are not followed."""
    root = Path(root)
    if root.is_file():
        return [root]
    if root.name.startswith("offline-run-"):
        return sorted(root.glob("run-*.wandb"))
    logs: list[Path] = []
    for base in (root, root / "wandb"):
        for run_dir in sorted(base.glob(RUN_DIR_GLOB)):
            if run_dir.is_dir() and not run_dir.is_symlink():
                logs += sorted(run_dir.glob("run-*.wandb"))
    return logs


def _value(item: Any) -> Any:
    if item.value_json:
        return json.loads(item.value_json)
    # History items may carry a typed value instead of JSON.
    kind = item.WhichOneof("value") if "value" in item.DESCRIPTOR.oneofs_by_name else None
    return getattr(item, kind) if kind else None


def _path(item: Any) -> list[str]:
    return [item.key] if item.key else list(item.nested_key)


def _apply(target: dict[str, Any], items: Sequence[Any], removals: Sequence[Any] = ()) -> None:
    for item in items:
        *parents, leaf = _path(item)
        node = target
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = _value(item)
    for item in removals:
        *parents, leaf = _path(item)
        node = target
        for part in parents:
            node = node.get(part, {})
        node.pop(leaf, None)


def _ms(timestamp: Any) -> int | None:
    return timestamp.seconds * 1000 + timestamp.nanos // 1_000_000 if timestamp.seconds else None


def _artifact(record: Any, order: int) -> WandbArtifact:
    contents = record.manifest.contents
    return WandbArtifact(
        name=record.name,
        type=record.type,
        digest=record.digest,
        run_id=record.run_id,
        entity=record.entity,
        project=record.project,
        aliases=tuple(a for a in record.aliases if a != "latest"),
        metadata=json.loads(record.metadata) if record.metadata else {},
        files=tuple(ArtifactFile(c.path, int(c.size)) for c in contents),
        local_paths={c.path: c.local_path for c in contents if c.local_path},
    )


# Files W&B saves beside a run that pin its environment (`files/` of the run folder).
ENVIRONMENT_FILES = ("requirements.txt", "conda-environment.yaml", "wandb-metadata.json")
PINNED_LIBRARIES = ("torch", "tensorflow", "jax", "scikit-learn", "numpy", "transformers")


def _apply_environment(run: WandbRun, env: Any) -> None:
    run.user = run.user or env.username
    run.python_version = run.python_version or python_version(env.python)
    run.program = run.program or env.code_path or env.program
    run.host = run.host or env.host
    run.os = run.os or env.os
    if not run.git_commit and env.git.commit:
        run.git_commit, run.git_remote = env.git.commit, env.git.remote_url


def _apply_metadata_file(run: WandbRun, folder: Path) -> None:
    """`files/wandb-metadata.json` (what the W&B UI shows as the run's overview): used for what
    the log itself lacks (older clients wrote the environment only there)."""
    try:
        meta = json.loads((folder / "files" / "wandb-metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(meta, dict):
        return
    git = found if isinstance(found := meta.get("git"), dict) else {}
    if not run.git_commit and git.get("commit"):
        run.git_commit, run.git_remote = str(git["commit"]), str(git.get("remote", "") or "")
    run.python_version = run.python_version or python_version(str(meta.get("python", "")))
    run.program = run.program or str(meta.get("codePath") or meta.get("program") or "")
    run.host = run.host or str(meta.get("host", "") or "")
    run.os = run.os or str(meta.get("os", "") or "")
    run.user = run.user or str(meta.get("username", "") or "")


def _pinned(folder: Path) -> dict[str, str]:
    """Versions of the libraries that matter for a rebuild, from the `requirements.txt` W&B
    saves with every run (a `pip freeze` of the run's environment)."""
    try:
        text = (folder / "files" / "requirements.txt").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    found = {}
    for line in text.splitlines():
        name, sep, version = line.strip().partition("==")
        key = name.strip().lower().replace("_", "-")
        if sep and key in PINNED_LIBRARIES:
            found[key] = version.strip()
    return found


def _saved_files(folder: Path, declared: set[str]) -> tuple[str, ...]:
    present = set()
    try:
        present = {name for name in os.listdir(folder / "files") if name in ENVIRONMENT_FILES}
    except OSError:
        pass
    return tuple(sorted(present | (declared & set(ENVIRONMENT_FILES))))


def read_run(path: Path) -> WandbRun:
    """Replay one `.wandb` log; CorruptLogError (naming the file and records read) on damage.

    A log that simply ends mid-record is what a killed process leaves (wandb-core writes whole
    32 KiB blocks): its records up to the cut are kept, and the run is marked `log_cut` and
    never ended (no exit record). A log cut before its run record is still an error."""
    path = Path(path)
    run = WandbRun(run_id=path.stem.removeprefix("run-"), entity="", project="", location=str(path.parent))
    runtime_s = 0.0
    num_records = 0
    declared: set[str] = set()
    records = iter_records(path)
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except CorruptLogError as exc:
            if not (exc.cut and run.project):
                raise
            run.log_cut = True
            log.warning("%s: the log ends mid-record after %d record(s); the run never ended",
                        path, exc.records_read)
            break
        num_records += 1
        kind = record.WhichOneof("record_type")
        if kind == "run":
            r = record.run
            run.run_id, run.entity, run.project = r.run_id, r.entity, r.project
            run.name, run.job_type, run.tags = r.display_name, r.job_type, tuple(r.tags)
            run.group, run.sweep_id, run.host = r.run_group, r.sweep_id, run.host or r.host
            run.start_time = _ms(r.start_time)
            run.git_commit, run.git_remote = r.git.commit, r.git.remote_url
            run.python_version = run.python_version or python_version(r.telemetry.python_version)
            _apply(run.config, r.config.update)
            _apply(run.summary, r.summary.update)
        elif kind == "config":
            _apply(run.config, record.config.update, record.config.remove)
        elif kind == "summary":
            _apply(run.summary, record.summary.update, record.summary.remove)
        elif kind == "history":
            row: dict[str, Any] = {}
            _apply(row, record.history.item)
            run.history.append(row)
            runtime_s = max(runtime_s, float(row.get("_runtime", 0) or 0))
        elif kind == "environment":
            _apply_environment(run, record.environment)
        elif kind == "files":
            declared.update(Path(f.path).name for f in record.files.files)
        elif kind == "artifact":
            run.logged.append(_artifact(record.artifact, num_records))
        elif kind == "use_artifact":
            run.used.append(record.use_artifact.name)
        elif kind == "exit":
            run.exit_code = record.exit.exit_code
            runtime_s = max(runtime_s, float(record.exit.runtime))
    if not run.project:
        # Only a header: the run is still starting, or its log was cut before the run record.
        raise CorruptLogError(path, num_records, "no run record (the run never started or its log was cut)")
    _apply_metadata_file(run, path.parent)
    run.environment_files = _saved_files(path.parent, declared)
    if "requirements.txt" in run.environment_files:
        run.libraries = _pinned(path.parent)
    run.user = run.user or run.entity
    runtime_s = max(runtime_s, float(run.summary.get("_runtime", 0) or 0))
    if run.exit_code is not None:
        run.state = "FINISHED" if run.exit_code == 0 else "FAILED"
        if run.start_time is not None:
            run.end_time = run.start_time + int(runtime_s * 1000)
    run.synced = path.with_name(path.name + ".synced").exists()
    return run


def read_directory(root: Path, progress: Progress | None = None,
                   projects: Sequence[str] | None = None) -> DirectoryRead:
    """Every offline run under `root`; damaged logs are reported in `.errors`, never fatal."""
    result = DirectoryRead()
    logs = find_run_logs(root)
    for done, path in enumerate(logs, 1):
        try:
            run = read_run(path)
        except CorruptLogError as exc:
            log.warning("%s", exc)
            result.errors.append(exc)
        else:
            if not projects or run.project in projects:
                result.runs.append(run)
        if progress and (done == len(logs) or done % max(1, len(logs) // 20) == 0):  # ~20 updates
            progress(done, len(logs), "W&B offline runs")
    return result
