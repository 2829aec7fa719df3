"""W&B runs -> mltrack's `StoreSnapshot`: the one mapping both W&B paths share.

The offline reader (`wandb_offline.py`) and the API reader (`wandb_api.py`) each build plain
`WandbRun`/`WandbArtifact` records; everything the pressure checks see is derived here:

- project -> experiment; run -> RunRecord (config -> params as strings, summary numbers ->
  metrics, W&B tags -> tags: `key=value` becomes tag `key`, a bare tag `t` becomes `t=true`);
  user -> tag `mlflow.user`, job type -> `mltrack.run_type`, git commit -> `mlflow.source.git.commit`.
- an artifact collection of type `model` -> a registered model; its versions in commit order
  (W&B's `v0, v1, …` become versions "0", "1", …); aliases are unique in a collection, so an
  alias belongs to the last version logged with it (as the W&B server resolves it on sync).
- promotion history: a W&B alias keeps no history, so each promoted version carries a
  `mltrack.promotion` record in its artifact metadata ({alias, promoted_at, previous, by});
  they are gathered, oldest first, into the model's `mltrack.promotions` tag, and give each
  version its `mltrack.production_since/until` tags — the same records the MLflow seeder writes.
- data -> the `dataset` artifacts a run used (online) or logged as its input (offline, where
  `use_artifact` is impossible) become the run's dataset inputs (name, W&B's content digest);
  the digest is also param `data_hash` when the run logged no hash of its own.
- W&B's own records of the run: program -> `mlflow.source.name`, run group / sweep id ->
  `wandb.group` / `wandb.sweep_id`, the Python version of its environment record and the torch
  version of its saved `requirements.txt` -> tags `python_version` / `torch_version` (config
  values win), the exit code -> `wandb.exit_code` (no exit record: the run stays RUNNING).
- run states for onboarding (`run_state_facts`): offline runs never synced, runs that never
  ended (a killed process: no exit record, or a log holding no run record) and crashed runs,
  named in `extras["onboarding_warnings"]`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mltrack import conventions as conv
from mltrack.model import (
    ArtifactFile,
    DatasetInputRecord,
    ExperimentRecord,
    ModelVersionRecord,
    RegisteredModelRecord,
    RunRecord,
    RunTable,
    StoreSnapshot,
)

REGISTRY_PROJECT = "model-registry"  # where W&B's model registry (and our registration runs) live
PROMOTION_KEY = "mltrack.promotion"  # artifact metadata key holding one promotion record
MODEL_TYPE = "model"
DATASET_TYPE = "dataset"
TAG_SOURCE_NAME = "mlflow.source.name"  # MLflow's name for the program that ran
# Why long-term-repro cannot be judged on W&B: run start times are set by the client clock.
CANNOT_BACKDATE = (
    "W&B records a run's start time from the client clock and cannot backdate runs, "
    "so run age says nothing about a seeded history"
)


@dataclass
class WandbArtifact:
    name: str  # collection name, without ":vN"
    type: str
    digest: str
    run_id: str  # the run that logged it
    entity: str = ""
    project: str = ""
    aliases: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[ArtifactFile, ...] = ()
    local_paths: Mapping[str, str] = field(default_factory=dict)  # manifest path -> staged copy
    version: int | None = None  # known online; assigned in commit order offline
    created_at: int | None = None  # epoch ms


@dataclass
class WandbRun:
    run_id: str
    entity: str
    project: str
    name: str = ""
    user: str = ""
    job_type: str = ""
    state: str = "RUNNING"  # mapped to MLflow's statuses
    start_time: int | None = None
    end_time: int | None = None
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    tags: tuple[str, ...] = ()
    git_commit: str = ""
    git_remote: str = ""
    logged: list[WandbArtifact] = field(default_factory=list)
    used: list[str] = field(default_factory=list)  # "name:vN" of artifacts the run used
    location: str = ""  # run directory or URL
    synced: bool | None = None  # offline runs: has `wandb sync` uploaded it?
    group: str = ""  # W&B run group (a sweep's trials share one)
    sweep_id: str = ""
    exit_code: int | None = None  # from the exit record; None: the run never ended
    log_cut: bool = False  # offline: the log ends mid-record (its process was killed)
    # The environment W&B records itself (the `environment` record / wandb-metadata.json).
    python_version: str = ""  # "3.11.7"
    program: str = ""  # the script or notebook that ran
    host: str = ""
    os: str = ""
    environment_files: tuple[str, ...] = ()  # requirements.txt, conda-environment.yaml saved with the run
    libraries: dict[str, str] = field(default_factory=dict)  # torch -> 2.13.0, from requirements.txt
    inputs: list[WandbArtifact] = field(default_factory=list)  # artifacts the run used (online only)


def python_version(text: str) -> str:
    """"CPython 3.11.7" / "3.11.7" -> "3.11.7" ("" when there is no version in it)."""
    for word in str(text or "").split():
        if word[:1].isdigit():
            return word
    return ""


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; W&B's own `_wandb` bookkeeping is left out."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        if not prefix and key == "_wandb":
            continue
        name = f"{prefix}{key}"
        if isinstance(item, Mapping) and item:
            flat.update(flatten(item, f"{name}."))
        else:
            flat[name] = item
    return flat


def param_text(value: Any) -> str:
    """A config value as MLflow would store the param: str() for scalars, JSON otherwise."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def run_tags(run: WandbRun) -> dict[str, str]:
    tags: dict[str, str] = {}
    for tag in run.tags:
        key, sep, value = tag.partition("=")
        tags[key] = value if sep else "true"
    tags[conv.TAG_USER] = run.user
    tags["wandb.job_type"] = run.job_type
    if run.job_type in (conv.RUN_TYPE_TRAINING, conv.RUN_TYPE_INFERENCE):
        tags.setdefault(conv.TAG_RUN_TYPE, run.job_type)
    if run.git_commit:
        tags[conv.TAG_GIT_COMMIT] = run.git_commit
    if run.git_remote:
        tags["mlflow.source.git.repoURL"] = run.git_remote
    if run.name:
        tags["mlflow.runName"] = run.name
    if run.program and not run.program.startswith("<"):  # "<python with no main file>": none
        tags[TAG_SOURCE_NAME] = run.program
    if run.group:
        tags["wandb.group"] = run.group
    if run.sweep_id:
        tags["wandb.sweep_id"] = run.sweep_id
    if run.exit_code is not None:
        tags["wandb.exit_code"] = str(run.exit_code)
    elif run.log_cut:
        tags["wandb.log_cut"] = "true"
    # The environment W&B recorded itself counts as the run's environment record.
    if run.python_version:
        tags.setdefault(conv.PARAM_PYTHON_VERSION, run.python_version)
    if run.libraries.get("torch"):
        tags.setdefault(conv.PARAM_TORCH_VERSION, run.libraries["torch"])
    if run.environment_files:
        tags["wandb.environment_files"] = ",".join(run.environment_files)
    return tags


def _datasets(run: WandbRun) -> list[WandbArtifact]:
    """The dataset artifacts a run used (online) or logged as its input (offline, where
    `use_artifact` is impossible): one per collection, the last one logged."""
    found: dict[str, WandbArtifact] = {}
    for art in [*run.inputs, *run.logged]:
        if art.type == DATASET_TYPE and art.digest:
            found[art.name] = art
    return [found[name] for name in sorted(found)]


def data_hash(run: WandbRun) -> str | None:
    """The run's data hash from its dataset artifacts: W&B's content digest (several datasets:
    their digests joined with `+`, as mltrack.run_facts joins dataset inputs)."""
    digests = sorted({a.digest for a in _datasets(run)})
    return "+".join(digests) if digests else None


def run_record(run: WandbRun, versions: Mapping[tuple[str, str], str]) -> RunRecord:
    params = {k: param_text(v) for k, v in flatten(run.config).items()}
    digest = data_hash(run)
    if digest is not None and conv.PARAM_DATA_HASH not in params:
        params[conv.PARAM_DATA_HASH] = digest
    metrics = {
        k: float(v)
        for k, v in flatten(run.summary).items()
        if not k.startswith("_") and isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    files: list[ArtifactFile] = []
    model_ids: list[str] = []
    for art in run.logged:
        if art.type == MODEL_TYPE:
            model_id = versions.get((art.name, art.digest), art.name)
            model_ids.append(model_id)
            files += [ArtifactFile(f"models/{model_id}/{f.path}", f.size) for f in art.files]
        else:
            files += [ArtifactFile(f"{art.name}/{f.path}", f.size) for f in art.files]
    return RunRecord(
        run_id=run.run_id,
        experiment_id=run.project,
        name=run.name,
        user=run.user,
        status=run.state,
        start_time=run.start_time,
        end_time=run.end_time,
        params=params,
        tags=run_tags(run),
        metrics=metrics,
        artifact_uri=run.location,
        artifacts=tuple(files),
        logged_model_ids=tuple(model_ids),
        datasets=tuple(dataset_inputs(run)),
    )


def dataset_inputs(run: WandbRun) -> list[DatasetInputRecord]:
    """The run's dataset artifacts as dataset inputs (what MLflow's `log_input` records): W&B's
    content digest, the artifact as source, no context (W&B records none)."""
    return [DatasetInputRecord(name=a.name, digest=a.digest, source_type="wandb-artifact",
                               source=json.dumps({"uri": f"wandb-artifact://{a.entity}/{a.project}/{a.name}",
                                                  "aliases": list(a.aliases)}, sort_keys=True))
            for a in _datasets(run)]


def _ordered_models(runs: Sequence[WandbRun]) -> dict[tuple[str, str, str], list[WandbArtifact]]:
    """Model artifacts per (entity, project, collection), in commit order, digests deduplicated
    (W&B keeps one version per distinct content)."""
    found: dict[tuple[str, str, str], list[WandbArtifact]] = {}
    ordered = sorted(
        ((run.start_time or 0, i, j, art) for i, run in enumerate(runs) for j, art in enumerate(run.logged)),
        key=lambda item: (item[3].version if item[3].version is not None else -1, item[0], item[1], item[2]),
    )
    for _, _, _, art in ordered:
        if art.type != MODEL_TYPE:
            continue
        versions = found.setdefault((art.entity, art.project, art.name), [])
        if any(v.digest == art.digest for v in versions):
            continue
        versions.append(art)
    return found


def is_run_collection(art: WandbArtifact) -> bool:
    """`run-<id>-…` / `run_<id>_…`: a run's own weights and checkpoints (what `run.log_model` and
    W&B's checkpoint callbacks write): run artifacts, not a registered model."""
    return art.name.startswith((f"run-{art.run_id}", f"run_{art.run_id}"))


def model_collections(runs: Sequence[WandbRun]) -> dict[str, list[WandbArtifact]]:
    """Every model collection by name, versions in commit order (index = W&B's vN)."""
    return {name: arts for (_, _, name), arts in _ordered_models(runs).items()}


def _promotions(versions: Sequence[tuple[str, WandbArtifact]]) -> list[dict[str, Any]]:
    records = []
    for number, art in versions:
        record = art.metadata.get(PROMOTION_KEY)
        if isinstance(record, str):
            record = json.loads(record)
        if isinstance(record, Mapping):
            records.append({"version": number, **{k: v for k, v in record.items() if k != "version"}})
    return sorted(records, key=lambda r: str(r.get("promoted_at", "")))


def registered_model(name: str, arts: Sequence[WandbArtifact], runs_by_id: Mapping[str, WandbRun]
                     ) -> tuple[RegisteredModelRecord, dict[tuple[str, str], str]]:
    numbered = [(str(art.version if art.version is not None else i), art) for i, art in enumerate(arts)]
    owner: dict[str, str] = {}
    for number, art in numbered:  # later versions take an alias over
        for alias in art.aliases:
            owner[alias] = number
    if numbered:
        owner["latest"] = numbered[-1][0]
    promotions = _promotions(numbered)
    since: dict[str, str] = {}
    until: dict[str, str] = {}
    for record in promotions:
        since[str(record["version"])] = str(record.get("promoted_at", ""))
        if record.get("previous") is not None:
            until[str(record["previous"])] = str(record.get("promoted_at", ""))
    versions = []
    for number, art in numbered:
        tags = {k: param_text(v) for k, v in flatten(dict(art.metadata)).items() if not k.startswith(PROMOTION_KEY)}
        tags["wandb.artifact"] = f"{art.name}:v{number}"
        tags["wandb.digest"] = art.digest
        if number in since:
            tags[conv.TAG_PRODUCTION_SINCE] = since[number]
        if number in until:
            tags[conv.TAG_PRODUCTION_UNTIL] = until[number]
        run = runs_by_id.get(art.run_id)
        versions.append(ModelVersionRecord(
            name=name,
            version=number,
            run_id=str(art.metadata.get(conv.VERSION_TAG_RUN_ID) or art.run_id),
            source=f"wandb-artifact://{art.entity}/{art.project}/{art.name}:v{number}",
            creation_time=art.created_at or (run.start_time if run else None),
            tags=tags,
            aliases=tuple(sorted(a for a, owner_number in owner.items() if owner_number == number)),
            model_id=f"{art.name}:v{number}",
        ))
    model_tags = {conv.TAG_PROMOTIONS: json.dumps(promotions)} if promotions else {}
    registered = RegisteredModelRecord(
        name=name,
        creation_time=versions[0].creation_time if versions else None,
        last_updated_time=versions[-1].creation_time if versions else None,
        tags=model_tags,
        aliases=owner,
        versions=tuple(versions),
    )
    return registered, {(art.name, art.digest): f"{art.name}:v{number}" for number, art in numbered}


def build_snapshot(uri: str, runs: Iterable[WandbRun], *, server_version: str | None,
                   extras: Mapping[str, Any] | None = None) -> StoreSnapshot:
    runs = list(runs)
    by_id = {run.run_id: run for run in runs}
    models: list[RegisteredModelRecord] = []
    version_ids: dict[tuple[str, str], str] = {}
    for (_, _, name), arts in sorted(_ordered_models(runs).items()):
        model, ids = registered_model(name, arts, by_id)
        if not all(is_run_collection(a) for a in arts):
            models.append(model)
        version_ids.update(ids)
    projects = sorted({run.project for run in runs})
    experiments = tuple(
        ExperimentRecord(
            experiment_id=p, name=p, artifact_location=p,
            creation_time=min((r.start_time or 0 for r in runs if r.project == p), default=None),
        )
        for p in projects
    )
    never_synced = sorted(r.location for r in runs if r.synced is False)
    all_extras = {
        "cannot_backdate": True,
        "cannot_backdate_reason": CANNOT_BACKDATE,
        "never_synced_runs": never_synced,
        **dict(extras or {}),
    }
    all_extras.update(run_state_facts(runs, all_extras.get("read_errors", ())))
    return StoreSnapshot(
        uri=uri,
        tracker="wandb",
        server_version=server_version,
        taken_at=int(time.time() * 1000),
        experiments=experiments,
        runs=RunTable(run_record(r, version_ids) for r in runs),
        registered_models=tuple(models),
        extras=all_extras,
    )


# --------------------------------------------------------------------------- run states


def _named(run: WandbRun) -> dict[str, Any]:
    return {"run_id": run.run_id, "name": run.name, "project": run.project, "location": run.location}


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _list(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def run_state_facts(runs: Sequence[WandbRun], read_errors: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """What W&B's own records say about how runs ended, for onboarding's warnings:
    - `never_ended_runs`: no exit record (offline: its process died - a killed kernel, an OOM -
      or it is still running; a log holding no run record at all is one too, named by folder);
    - `crashed_runs`: an exit record with a non-zero exit code (online: W&B's crashed/failed);
    - `onboarding_warnings`: one line each for those and for offline runs never synced.
    Online, a run W&B reports `running` is left to the stuck-run threshold instead."""
    offline = [r for r in runs if r.synced is not None]
    never_ended = [{**_named(r), "why": "its log ends mid-record (its process was killed)" if r.log_cut
                    else "no exit record (its process died, or it is still running)"}
                   for r in offline if r.exit_code is None]
    for error in read_errors:
        if error.get("kind") == "no run record":
            folder = Path(str(error.get("path", ""))).parent
            never_ended.append({"run_id": folder.name.rpartition("-")[2], "name": "", "project": "",
                                "location": str(folder),
                                "why": "its log holds no run record (its process died before W&B wrote it)"})
    # FAILED: a non-zero exit code offline; W&B's `failed` / `crashed` state online.
    crashed = [{**_named(r), "exit_code": r.exit_code} for r in runs if r.state == "FAILED"]
    # A folder whose log holds no run record was never synced either (there is nothing to sync).
    unsynced = [r.name or r.run_id for r in offline if r.synced is False]
    unsynced += [r["run_id"] for r in never_ended if not r["project"]]
    warnings = []
    if unsynced:
        warnings.append(f"{_count(len(unsynced), 'offline run')} never synced (`wandb sync` uploads them): "
                        + _list(unsynced))
    if never_ended:
        warnings.append(f"{_count(len(never_ended), 'run')} never ended: "
                        + _list([f"{(r['name'] or r['run_id'])!r}: {r['why']}" for r in never_ended], 4))
    if crashed:
        warnings.append(f"{_count(len(crashed), 'run')} crashed: "
                        + _list([f"{(r['name'] or r['run_id'])!r}"
                                 + (f" (exit code {r['exit_code']})" if r["exit_code"] is not None else "")
                                 for r in crashed], 4))
    return {"never_ended_runs": never_ended[:50], "crashed_runs": crashed[:50], "onboarding_warnings": warnings}
