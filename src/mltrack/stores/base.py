"""The store adapter protocol: what the pressure suite, reports and commands may ask a store.

An adapter is chosen by URI scheme (`mltrack.stores.open_store`). Reading is the default and
the only thing the pressure suite does; the few writing operations (rollback, cleanup, drill)
live in the modules that need them, never here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from mltrack.model import ArtifactFile, StoreSnapshot
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
    from mltrack.stores.wandb_store import WandbStore

    def _conforms(mlflow: MlflowStore, wandb: WandbStore) -> None:
        """Never called: mypy checks that each built-in adapter is a StoreAdapter (a missing or
        mistyped member fails `make typecheck`, naming it). A new backend adds a line here."""
        adapter: StoreAdapter = mlflow
        adapter = wandb
