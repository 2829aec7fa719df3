"""Frozen dataclasses shared by every part of mltrack.

This module imports nothing from mltrack and no vendor SDK: the linter, the store adapters,
the pressure checks and the reports all speak these types. Times are epoch milliseconds (UTC),
as MLflow stores them, so a snapshot round-trips through JSON without loss.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

SNAPSHOT_SCHEMA_VERSION = 1


def _frozen_map(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """An immutable copy of a mapping (dataclasses stay hashable-free but cannot be mutated)."""
    return MappingProxyType(dict(value or {}))


class Status(str, enum.Enum):
    """Verdict of a pressure check; `str` so it serialises as its value."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    ERROR = "error"  # the check could not be evaluated (store down, bad data)
    SKIP = "skip"  # not applicable here, always with a reason

    def __str__(self) -> str:
        return self.value


# --------------------------------------------------------------------------- lint results


@dataclass(frozen=True)
class Location:
    path: str
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None
    cell: int | None = None  # notebook cell index (0-based), when linting a .ipynb


@dataclass(frozen=True)
class Edit:
    """Replace the text between two (line, column) positions (1-based lines, 0-based columns)."""

    line: int
    column: int
    end_line: int
    end_column: int
    replacement: str


@dataclass(frozen=True)
class Fix:
    title: str  # imperative, e.g. "Seed NumPy's global generator"
    edits: tuple[Edit, ...] = ()
    safe: bool = True


@dataclass(frozen=True)
class Finding:
    code: str  # MLT001
    name: str  # missing-seed
    message: str
    location: Location
    fix: Fix | None = None
    severity: str = "error"  # error | warning (e.g. an unused suppression)


# --------------------------------------------------------------------------- store snapshot


@dataclass(frozen=True)
class ArtifactFile:
    path: str  # relative to the run's (or logged model's) artifact root
    size: int | None  # bytes; None when the store does not say


@dataclass(frozen=True)
class ExperimentRecord:
    experiment_id: str
    name: str
    lifecycle_stage: str = "active"
    artifact_location: str = ""
    creation_time: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _frozen_map(self.tags))


@dataclass(frozen=True)
class DatasetInputRecord:
    """A dataset MLflow recorded as a run's input (`mlflow.log_input`, every autolog fit):
    returned by the run search itself, so it costs no request of its own."""

    name: str
    digest: str  # MLflow's content digest of the dataset ("" when the store holds none)
    source_type: str = ""  # local | s3 | http | code | hugging_face | delta_table | ...
    source: str = ""  # JSON text MLflow stores, e.g. {"uri": "s3://bucket/train.csv"}
    context: str = ""  # the `mlflow.data.context` input tag: training | eval | ... ("" unset)


@dataclass(frozen=True)
class LoggedModelRecord:
    """A model a run logged: an MLflow 3 logged-model entity, or (older runs) an entry of the
    run's `mlflow.log-model.history` tag for a model stored among the run's artifacts.

    What the snapshot knows without a request per run: the entity's name and status, or the
    history entry's flavors and Python version. `environment_files` lists the environment files
    MLflow writes with every `log_model` (python_env.yaml, conda.yaml, requirements.txt) as the
    record states them; `environment_confirmed` is False when they are inferred from the record
    (a listing of the model's files, done for the few runs a check inspects, confirms them)."""

    model_id: str  # m-<hex> for a logged-model entity; the artifact path for a run-artifact model
    name: str = ""
    kind: str = "logged_model"  # logged_model | run_artifact
    status: str = ""  # READY | PENDING | FAILED (logged-model entities)
    flavors: tuple[str, ...] = ()
    python_version: str | None = None  # from the MLmodel's python_function flavor, when recorded
    environment_files: tuple[str, ...] = ()
    environment_confirmed: bool = False


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    experiment_id: str
    name: str
    user: str
    status: str  # FINISHED | RUNNING | FAILED | KILLED | SCHEDULED
    start_time: int | None
    end_time: int | None
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)  # latest value per key
    lifecycle_stage: str = "active"
    artifact_uri: str = ""
    # Listed only when asked for (None = not listed yet); MLflow 3 logged models live under the
    # experiment, not the run, so they are listed separately and both count toward a run's bytes.
    artifacts: tuple[ArtifactFile, ...] | None = None
    logged_model_ids: tuple[str, ...] = ()
    # MLflow's own records of the run's data and models (older recorded snapshots hold neither).
    datasets: tuple[DatasetInputRecord, ...] = ()
    logged_models: tuple[LoggedModelRecord, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _frozen_map(self.params))
        object.__setattr__(self, "tags", _frozen_map(self.tags))
        object.__setattr__(self, "metrics", _frozen_map(self.metrics))


@dataclass(frozen=True)
class ModelVersionRecord:
    name: str
    version: str
    run_id: str | None
    source: str
    status: str = "READY"
    current_stage: str = "None"  # legacy stages: None | Staging | Production | Archived
    creation_time: int | None = None
    last_updated_time: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    model_id: str | None = None  # MLflow 3 logged-model id, from `source` (models:/m-...)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _frozen_map(self.tags))


@dataclass(frozen=True)
class RegisteredModelRecord:
    name: str
    creation_time: int | None = None
    last_updated_time: int | None = None
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)  # alias -> version
    versions: tuple[ModelVersionRecord, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _frozen_map(self.tags))
        object.__setattr__(self, "aliases", _frozen_map(self.aliases))

    def version(self, version: str | int) -> ModelVersionRecord | None:
        wanted = str(version)
        return next((v for v in self.versions if v.version == wanted), None)


class RunTable:
    """A snapshot's runs: iterable in the order they were read, with lookups by run id and by
    logged-model id. This one holds its records in memory; a big store's reader hands them to
    `mltrack.run_table.RunTableBuilder`, which spills them to a temporary file and returns a
    table of the same interface that streams them back one at a time. Consumers iterate and keep
    what they need, so memory follows what they keep, not the size of the store."""

    __slots__ = ("_runs", "_by_id", "_owners")

    def __init__(self, runs: Iterable[RunRecord] = ()) -> None:
        self._runs: tuple[RunRecord, ...] = tuple(runs)
        self._by_id: dict[str, RunRecord] | None = None
        self._owners: dict[str, tuple[str, ...]] | None = None

    def __iter__(self) -> Iterator[RunRecord]:
        return iter(self._runs)

    def __len__(self) -> int:
        return len(self._runs)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, index: int) -> RunRecord:
        return self._runs[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RunTable):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        if isinstance(other, tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} runs)"

    def get(self, run_id: str) -> RunRecord | None:
        if self._by_id is None:
            self._by_id = {r.run_id: r for r in self._runs}
        return self._by_id.get(run_id)

    def owners_of_logged_model(self, model_id: str) -> tuple[str, ...]:
        """Ids of the runs that logged the MLflow 3 logged model `model_id`, in read order."""
        if self._owners is None:
            owners: dict[str, list[str]] = {}
            for run in self._runs:
                for ref in run.logged_model_ids:
                    owners.setdefault(ref, []).append(run.run_id)
            self._owners = {k: tuple(v) for k, v in owners.items()}
        return self._owners.get(model_id, ())

    @property
    def spilled(self) -> bool:
        """True when the records live in a temporary file (mltrack.run_table)."""
        return False

    def close(self) -> None:
        """Release what the table holds (a spilled table deletes its file)."""


@dataclass(frozen=True)
class StoreSnapshot:
    """Everything the pressure checks may look at, read once from a store."""

    uri: str  # always redacted
    tracker: str  # "mlflow" | "wandb"
    server_version: str | None
    taken_at: int  # epoch ms
    experiments: tuple[ExperimentRecord, ...] = ()
    # Any iterable of records is accepted and wrapped; a big store's reader passes a spilled table.
    runs: RunTable = field(default_factory=RunTable)
    registered_models: tuple[RegisteredModelRecord, ...] = ()
    # Tracker-specific facts the checks may use (e.g. W&B offline runs never synced).
    extras: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extras", _frozen_map(self.extras))
        if not isinstance(self.runs, RunTable):
            object.__setattr__(self, "runs", RunTable(self.runs))

    # -- lookups -------------------------------------------------------------------------
    def run(self, run_id: str) -> RunRecord | None:
        return self.runs.get(run_id)

    def experiment(self, name_or_id: str) -> ExperimentRecord | None:
        return next(
            (e for e in self.experiments if name_or_id in (e.name, e.experiment_id)), None
        )

    def runs_in(self, experiment: ExperimentRecord | str) -> Iterator[RunRecord]:
        exp_id = experiment.experiment_id if isinstance(experiment, ExperimentRecord) else experiment
        return (r for r in self.runs if r.experiment_id == exp_id)

    def registered_model(self, name: str) -> RegisteredModelRecord | None:
        return next((m for m in self.registered_models if m.name == name), None)

    # -- JSON ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": SNAPSHOT_SCHEMA_VERSION, **_plain(self)}

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StoreSnapshot:
        data = dict(data)
        data.pop("schema_version", None)
        data.pop("_run_index", None)
        return cls(
            uri=data["uri"],
            tracker=data["tracker"],
            server_version=data.get("server_version"),
            taken_at=data["taken_at"],
            experiments=tuple(ExperimentRecord(**e) for e in data.get("experiments", ())),
            runs=RunTable(_run_from_dict(r) for r in data.get("runs", ())),
            registered_models=tuple(_model_from_dict(m) for m in data.get("registered_models", ())),
            extras=data.get("extras", {}),
        )

    @classmethod
    def from_json(cls, text: str) -> StoreSnapshot:
        return cls.from_dict(json.loads(text))


def _run_from_dict(data: Mapping[str, Any]) -> RunRecord:
    """A run from JSON; snapshots recorded before datasets and logged models were read load
    with neither."""
    data = dict(data)
    artifacts = data.pop("artifacts", None)
    datasets = tuple(DatasetInputRecord(**d) for d in data.pop("datasets", ()))
    models = tuple(
        LoggedModelRecord(**{**m, "flavors": tuple(m.get("flavors", ())),
                             "environment_files": tuple(m.get("environment_files", ()))})
        for m in data.pop("logged_models", ())
    )
    return RunRecord(
        **{k: v for k, v in data.items() if k != "logged_model_ids"},
        logged_model_ids=tuple(data.get("logged_model_ids", ())),
        artifacts=None if artifacts is None else tuple(ArtifactFile(**a) for a in artifacts),
        datasets=datasets,
        logged_models=models,
    )


def _model_from_dict(data: Mapping[str, Any]) -> RegisteredModelRecord:
    data = dict(data)
    versions = tuple(
        ModelVersionRecord(**{**v, "aliases": tuple(v.get("aliases", ()))})
        for v in data.pop("versions", ())
    )
    return RegisteredModelRecord(**data, versions=versions)


def _plain(value: Any) -> Any:
    """Dataclasses, mappings and tuples -> JSON-ready dicts and lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_")
        }
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, RunTable)):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


# --------------------------------------------------------------------------- pressure results


@dataclass(frozen=True)
class CheckResult:
    code: str  # MLP01
    name: str  # recovery
    status: Status
    message: str  # the short verdict, one line
    evidence: Mapping[str, Any] = field(default_factory=dict)  # JSON-ready facts behind it
    fix: str | None = None  # what to do, naming the lint rule that prevents it when one does
    duration_s: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "evidence", _frozen_map(self.evidence))

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        return cls(**data)


@dataclass(frozen=True)
class AuditReport:
    """The versioned result of one audit; every report format renders from `to_dict()`."""

    schema_version: int
    mltrack_version: str
    created_at: str  # ISO 8601, UTC
    uri: str  # redacted
    tracker: str
    server_version: str | None
    environment: Mapping[str, Any]
    results: tuple[CheckResult, ...]
    summary: Mapping[str, Any] = field(default_factory=dict)  # key numbers (runs, users, bytes)
    trend: Mapping[str, Any] | None = None  # versus the previous audit in the same directory
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditReport:
        data = dict(data)
        results = tuple(CheckResult.from_dict(r) for r in data.pop("results", ()))
        return cls(**data, results=results)
