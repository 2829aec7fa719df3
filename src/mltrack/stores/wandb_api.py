"""`wandb://ENTITY/PROJECT[,PROJECT…]`: W&B's public API -> `WandbRun` records (thin on purpose).

Only the translation of API objects lives here (`run_from_api`, `artifact_from_api`); the
mapping to a snapshot is `wandb_mapping`, shared with the offline reader. W&B's cloud cannot be
reached from mltrack's test environment, so this module is tested on recorded API-shaped data
(`fixtures/wandb/api_runs.json`) through the same attribute names `wandb.apis.public.Run` and
`Artifact` expose (0.31): `id, name, entity, project, user.username, job_type, state,
created_at, config, summary, tags, metadata["git"], logged_artifacts(), used_artifacts()`;
artifacts: `name ("coll:v3"), type, digest, version ("v3"), aliases, metadata, created_at,
manifest.entries`. Project names come from the URI and from the snapshot's `experiments`;
W&B's registry project `model-registry` is read too when it exists.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mltrack.errors import StoreError, StoreUnreachable
from mltrack.model import ArtifactFile
from mltrack.stores.base import Progress
from mltrack.stores.wandb_mapping import REGISTRY_PROJECT, WandbArtifact, WandbRun, python_version

_STATES = {"finished": "FINISHED", "failed": "FAILED", "crashed": "FAILED", "killed": "KILLED",
           "running": "RUNNING", "pending": "SCHEDULED", "preempted": "KILLED"}


def _ms(value: Any) -> int | None:
    """W&B timestamps are ISO strings without a zone (UTC)."""
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1000)


def artifact_from_api(art: Any, run_id: str) -> WandbArtifact:
    name, _, version = str(art.name).partition(":")
    version = getattr(art, "version", None) or version
    entries = getattr(getattr(art, "manifest", None), "entries", {}) or {}
    return WandbArtifact(
        name=name, type=art.type, digest=art.digest, run_id=run_id,
        entity=getattr(art, "entity", "") or "", project=getattr(art, "project", "") or "",
        # `latest` and `vN` are W&B's own aliases; the mapping recomputes them.
        aliases=tuple(a for a in art.aliases if a != "latest" and not re.fullmatch(r"v\d+", str(a))),
        metadata=dict(art.metadata or {}),
        files=tuple(ArtifactFile(path, getattr(e, "size", None)) for path, e in entries.items()),
        version=int(str(version).lstrip("v")) if str(version).lstrip("v").isdigit() else None,
        created_at=_ms(getattr(art, "created_at", None)),
    )


def _input(art: Any) -> WandbArtifact | None:
    """An artifact the run used, when it says what it holds (type and digest); the run that
    logged it is not asked for (one more round trip per artifact)."""
    if not getattr(art, "digest", None) or not getattr(art, "type", None):
        return None
    return artifact_from_api(art, run_id="")


def run_from_api(run: Any) -> WandbRun:
    summary = dict(getattr(run.summary, "_json_dict", None) or run.summary or {})
    metadata = getattr(run, "metadata", None) or {}
    git = metadata.get("git") or {}
    user = getattr(run, "user", None)
    start = _ms(run.created_at)
    runtime = summary.get("_runtime")
    state = _STATES.get(str(run.state).lower(), "RUNNING")
    used = list(run.used_artifacts())
    sweep = getattr(run, "sweep", None)
    program = str(metadata.get("codePath") or metadata.get("program") or "")
    return WandbRun(
        run_id=run.id, entity=run.entity, project=run.project, name=run.name or "",
        user=getattr(user, "username", "") or "", job_type=getattr(run, "job_type", "") or "",
        state=state, start_time=start,
        end_time=start + int(float(runtime) * 1000) if start and runtime and state != "RUNNING" else None,
        config=dict(run.config or {}), summary=summary, tags=tuple(run.tags or ()),
        git_commit=git.get("commit", "") or "", git_remote=git.get("remote", "") or "",
        logged=[artifact_from_api(a, run.id) for a in run.logged_artifacts()],
        used=[str(a.name) for a in used],
        inputs=[art for a in used if (art := _input(a)) is not None],
        location=getattr(run, "url", "") or f"wandb://{run.entity}/{run.project}/{run.id}",
        group=str(getattr(run, "group", "") or ""),
        sweep_id=str(getattr(sweep, "id", "") or ""),
        # W&B's server keeps no exit code; a crashed run is FAILED by state.
        python_version=python_version(str(metadata.get("python", "") or "")),
        program=program, host=str(metadata.get("host", "") or ""), os=str(metadata.get("os", "") or ""),
    )


def _api(timeout: float) -> Any:
    try:
        import wandb

        return wandb.Api(timeout=int(timeout))
    except Exception as exc:  # noqa: BLE001 - no key, no network: one line, exit 2
        raise StoreUnreachable(f"cannot reach the W&B API: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                               hint="set WANDB_API_KEY (and WANDB_BASE_URL for a private server)") from None


def read_projects(entity: str, projects: Sequence[str], *, timeout: float = 30.0,
                  progress: Progress | None = None, api: Any = None) -> list[WandbRun]:
    """Every run of `entity/project` for each project (plus the registry project if present)."""
    api = api or _api(timeout)
    wanted = list(dict.fromkeys([*projects, REGISTRY_PROJECT]))
    runs: list[WandbRun] = []
    for project in wanted:
        try:
            found: Iterable[Any] = api.runs(f"{entity}/{project}", per_page=500)
            for run in found:
                runs.append(run_from_api(run))
                if progress:
                    progress(len(runs), None, "W&B runs")
        except Exception as exc:  # noqa: BLE001
            if project == REGISTRY_PROJECT or any(w in str(exc).lower() for w in ("not found", "could not find")):
                continue  # a project that does not exist holds no runs
            raise StoreError(f"cannot read W&B project {entity}/{project}: {type(exc).__name__}") from None
    return runs


def history(entity: str, project: str, run_id: str, key: str, *, timeout: float = 30.0,
            api: Any = None) -> list[dict[str, Any]]:
    api = api or _api(timeout)
    return list(api.run(f"{entity}/{project}/{run_id}").scan_history(keys=[key, "_step", "_timestamp"]))


def download(art: WandbArtifact, prefix: str, dst: Path, *, timeout: float = 30.0, api: Any = None) -> Path:
    api = api or _api(timeout)
    found = api.artifact(f"{art.entity}/{art.project}/{art.name}:v{art.version}")
    root = Path(found.download(root=str(dst)))
    target = root / prefix if prefix else root
    if not target.exists():
        raise StoreError(f"no file {prefix!r} in W&B artifact {art.name}:v{art.version}")
    return target
