"""The store adapter protocol: what the pressure suite, reports and commands may ask a store.

An adapter is chosen by URI scheme (`mltrack.stores.open_store`). Reading is the default and
the only thing the pressure suite does. Models (`ModelAccess`) and the few writes (`StoreWriter`
for rollback and cleanup, `ModelSandbox` for the rollback drill) have protocols of their own at
the end of this module; adapters never write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from mltrack.model import ArtifactFile, RegisteredModelRecord, RunRecord, StoreSnapshot
from mltrack.stores.deadline import ReadDeadline
from mltrack.uri import TrackingUri

# progress(done, total_or_None, what)
Progress = Callable[[int, "int | None", str], None]


@runtime_checkable
class StoreAdapter(Protocol):
    """Consumers (pressure/, report/, ops/, cli/, the pytest plugin) are typed against this
    protocol, never a concrete adapter, and mypy (`make typecheck`, tests/test_typecheck.py)
    proves each built-in adapter meets it (`_conforms` at the end of this module)."""

    uri: TrackingUri
    # The overall deadline of the first read (opening + snapshot), or None: open_store starts it
    # from `read_deadline_s`, the reader wraps the read in it (deadline.read_within) and the
    # adapter caps its requests and retries at the time left.
    read_deadline: ReadDeadline | None

    def server_version(self) -> str | None:
        """The tracking server's / SDK's version, for report headers."""

    def snapshot(
        self,
        experiments: Sequence[str] | None = None,
        *,
        progress: Progress | None = None,
    ) -> StoreSnapshot:
        """Read experiments, runs (params, tags, latest metrics), registered models, versions,
        aliases and tags, paging through everything. `experiments` limits runs to those names."""

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float, int]]:
        """(step, value, timestamp_ms) for one metric of one run, in step order."""

    def list_artifacts(self, run_id: str) -> tuple[ArtifactFile, ...]:
        """Every artifact file of a run, listed recursively, plus the files of its logged
        models (MLflow 3 keeps those under the experiment); paths of the latter are prefixed
        `models/<model_id>/`."""

    def download_artifact(self, run_id: str, path: str, dst: Path) -> Path:
        """Download one artifact (file or directory) of a run into `dst`; return the local path."""

    def download_model(self, model_uri: str, dst: Path) -> Path:
        """Download a model (`models:/name/3`, `models:/name@production`, `runs:/…`) into `dst`."""

    def close(self) -> None:
        """Release connections."""


if TYPE_CHECKING:
    from mltrack.stores.mlflow_store import MlflowStore
    from mltrack.stores.mlflow_writes import MlflowSandbox, MlflowWriter
    from mltrack.stores.model_access import ModelFiles
    from mltrack.stores.wandb_store import WandbStore

    def _conforms(mlflow: MlflowStore, wandb: WandbStore, models: ModelFiles, writer: MlflowWriter,
                  sandbox: MlflowSandbox) -> None:
        """Never called: mypy checks that each built-in adapter is a StoreAdapter, and each
        implementation of the protocols below meets its protocol (a missing or mistyped member
        fails `make typecheck`, naming it). A new backend adds a line here."""
        adapter: StoreAdapter = mlflow
        adapter = wandb
        model_access: ModelAccess = models
        store_writer: StoreWriter = writer
        model_sandbox: ModelSandbox = sandbox


# --------------------------------------------------------------------------- models


@runtime_checkable
class ModelAccess(Protocol):
    """A store's models, for the checks that download them and for `mltrack rollback`
    (`mltrack.stores.model_access.model_access(adapter)`). Verifying never runs a model; the
    opt-in load happens in a child process."""

    def download_model(self, model_uri: str, dst: Path) -> Path:
        """Download a model (`models:/name/3`, `models:/name@alias`, `runs:/…`) into `dst`."""

    def verify_model(self, path: Path, *, listed: Mapping[str, int | None] | None = None,
                     load_models: bool = False, timeout_s: float = 120.0) -> dict[str, Any]:
        """Facts about a downloaded model: `verified`, `verified_by`, `loaded`, `error`, ...;
        `listed` (path -> size, as the store lists the files) is compared with the local files."""

    def logged_model_of(self, snapshot: StoreSnapshot, model_uri: str) -> tuple[str | None, str | None]:
        """(logged model id, run id) behind a model URI, from the snapshot; (None, None) if unknown."""


# --------------------------------------------------------------------------- writes


@runtime_checkable
class StoreWriter(Protocol):
    """The only writes mltrack makes to a user's store, for `mltrack rollback` and `mltrack
    cleanup` (`mltrack.stores.writes.open_writer`), plus the fresh reads a write is compared
    with (never a snapshot: compare-and-set needs the store as it is now). Nothing in the
    pressure suite or the reports holds one."""

    uri: TrackingUri

    def registered_model(self, name: str) -> RegisteredModelRecord | None:
        """The model with every version, its aliases and tags, read now; None if there is none."""

    def model_tags(self, name: str) -> dict[str, str]:
        """The registered model's tags, read now (one request: the rollback lease polls it)."""

    def run(self, run_id: str) -> RunRecord | None:
        """One run as it is now (lifecycle stage, tags, params, metrics); None if it does not exist."""

    def lifecycle_stages(self, experiment_of: Mapping[str, str]) -> dict[str, str]:
        """run id -> lifecycle stage for many runs (run id -> experiment id) in few requests;
        runs it could not read are left out (ask `run` for them)."""

    def fail_fast(self) -> AbstractContextManager[None]:
        """Within the block, requests fail fast instead of the SDK's own long retries; the
        caller retries (`stores.retry.call_with_retry`) and stops, journaled, on a failure."""

    def set_alias(self, model: str, alias: str, version: str) -> None: ...

    def set_stage(self, model: str, version: str, stage: str) -> None:
        """Move a version to a (legacy) stage: Production, Archived, ..."""

    def set_model_tag(self, model: str, key: str, value: str) -> None: ...

    def delete_model_tag(self, model: str, key: str) -> None: ...

    def set_version_tag(self, model: str, version: str, key: str, value: str) -> None: ...

    def delete_version_tag(self, model: str, version: str, key: str) -> None: ...

    def delete_run(self, run_id: str) -> None:
        """Soft delete: the run can be restored (MLflow's deleted lifecycle)."""

    def restore_run(self, run_id: str) -> None: ...


@runtime_checkable
class ModelSandbox(Protocol):
    """A throwaway registered model for the rollback drill (`stores.writes.open_sandbox`): every
    write goes to the sandbox model `name`, never to the model it copies versions from."""

    name: str

    def create(self, tags: Mapping[str, str]) -> None: ...

    def copy_version(self, model: str, version: str) -> str:
        """Copy a version of `model` into the sandbox; the sandbox's version number."""

    def set_alias(self, alias: str, version: str) -> None: ...

    def alias_version(self, alias: str) -> str:
        """The sandbox version the alias resolves to, read now."""

    def model_uri(self, version: str) -> str: ...

    def delete(self) -> bool:
        """Delete the sandbox; True when it is gone (also when it never existed)."""
