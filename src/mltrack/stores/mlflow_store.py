"""The MLflow store reader: any MLflow tracking store -> an immutable StoreSnapshot.

Reads sqlite (read-only), postgresql/mysql, a tracking server over http(s) and a legacy file
store through `MlflowClient(tracking_uri=..., registry_uri=...)`, never the global
`mlflow.set_tracking_uri` (several stores may be open in one process). Every search is paged
to the end (the client silently stops at 1,000 runs otherwise) and records are built page by
page, so only one page of MLflow entities is alive at a time. Transient HTTP errors are retried
a bounded number of times (stores/retry.py), and while a read deadline is set (opening the store
and the snapshot read, stores/deadline.py) every request timeout and retry fits in the time left.
Nothing here writes.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from mltrack.errors import StoreError, UsageError
from mltrack.model import ArtifactFile, RunTable, StoreSnapshot
from mltrack.stores import mlflow_connect as connect
from mltrack.stores.base import Progress
from mltrack.stores.deadline import ReadDeadline
from mltrack.stores.mlflow_records import (
    DatasetInterner, experiment_record, logged_model_record, registered_model_record, run_record,
)
from mltrack.stores.logged_models_by_run import LoggedModelsByRun
from mltrack.stores.paging import iter_items, iter_run_pages
from mltrack.run_table import RunTableBuilder
from mltrack.stores.retry import call_with_retry
from mltrack.uri import TrackingUri, redact

T = TypeVar("T")

# Page sizes. Runs: MLflow accepts up to 50,000 a page, but on a 10,000-run sqlite store pages
# of 2,000 read as fast as one page of 50,000 (16 s vs 21 s on 2 busy cores) with a third of
# the peak memory (73 MiB vs 226 MiB traced; the finished snapshot holds 30 MiB), and over
# HTTP each request stays well inside the request timeout. The others: MLflow's maxima.
# One reader: 5,000 runs a page (a page of MLflow entities costs ~40 KiB a run while it is
# converted; benchmarks/bench_run_paging.py). Concurrent readers hold a page each: 2,000.
RUN_PAGE_SIZE = 5_000
CONCURRENT_RUN_PAGE_SIZE = 2_000
EXPERIMENT_PAGE_SIZE = 50_000
LOGGED_MODEL_PAGE_SIZE = 1_000
REGISTERED_MODEL_PAGE_SIZE = 1_000
MODEL_VERSION_PAGE_SIZE = 10_000


class MlflowStore:
    """A read-only StoreAdapter for MLflow (see stores/base.py for the contract)."""

    tracker = "mlflow"

    def __init__(self, uri: TrackingUri, conn: connect.Connection, timeout: float,
                 *, attempts: int = 4, backoff_s: float = 0.5) -> None:
        from mlflow.tracking import MlflowClient

        self.uri = uri
        self._conn = conn
        self._timeout = timeout
        self._attempts = attempts
        self._backoff_s = backoff_s
        with connect.client_settings(conn, timeout):  # a file store is built here, eagerly
            self._client = MlflowClient(tracking_uri=conn.client_uri, registry_uri=conn.client_uri)
        self._server_version: str | None = None
        # Set while the store is opened and its snapshot read; None afterwards (checks have
        # their own per-check timeout_s).
        self.read_deadline: ReadDeadline | None = None

    # -- plumbing ------------------------------------------------------------------------
    def _request_timeout(self, timeout: float | None = None) -> float:
        timeout = self._timeout if timeout is None else timeout
        return self.read_deadline.cap(timeout) if self.read_deadline else timeout

    def _retrying(self, what: str, func: Callable[[], T], attempts: int, backoff_s: float,
                  timeout: float | None = None) -> T:
        """`func` under our retry policy, each attempt with a request timeout that fits the
        read deadline; StoreTimeout once the deadline is spent, whatever the last error was."""
        deadline = self.read_deadline

        def attempt() -> T:
            if deadline is not None:
                deadline.check(self.uri.redacted, what)
            with connect.client_settings(self._conn, self._request_timeout(timeout)):
                return func()

        try:
            return call_with_retry(attempt, attempts=attempts, backoff_s=backoff_s,
                                   sleep=deadline.sleep if deadline else time.sleep)
        except StoreError:
            raise
        except Exception:
            if deadline is not None and deadline.expired:
                raise deadline.error(self.uri.redacted, what) from None
            raise

    def _call(self, what: str, func: Callable[[], T], *, attempts: int | None = None) -> T:
        """Run one client call with our retry policy; any failure becomes a redacted StoreError."""
        try:
            return self._retrying(what, func, attempts or self._attempts, self._backoff_s)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"{what} failed on {self.uri.redacted}: {_first_line(exc)}") from None

    def check_readable(self) -> None:
        """One cheap API call, so open_store fails now, not halfway through a snapshot."""
        from mlflow.entities import ViewType

        try:
            self._retrying(
                "opening the store",
                lambda: self._client.search_experiments(view_type=ViewType.ALL, max_results=1),
                attempts=2, backoff_s=0.2, timeout=min(self._timeout, connect.PROBE_TIMEOUT_S))
        except StoreError:
            raise
        except Exception as exc:
            raise connect.describe_client_error(exc, self.uri.redacted) from None

    # -- StoreAdapter --------------------------------------------------------------------
    def server_version(self) -> str | None:
        if self._server_version is None:
            self._server_version = self._read_server_version()
        return self._server_version

    def _read_server_version(self) -> str:
        import mlflow

        if self._conn.kind != "http":
            return mlflow.__version__  # the client library reads the store directly
        from mltrack.stores import http_client  # MLflow's credentials, as for every read

        def fetch() -> Any:
            response = http_client.get(self._conn.http_base or "", "/version", self._request_timeout())
            if response.status_code >= 500 or response.status_code == 429:
                response.raise_for_status()
            return response

        response = self._call("reading the server version", fetch)
        if response.status_code == 200 and response.text.strip():
            return response.text.strip()
        return f"{mlflow.__version__} (client; the server does not report its version)"

    def snapshot(self, experiments: Sequence[str] | None = None, *,
                 progress: Progress | None = None) -> StoreSnapshot:
        from mlflow.entities import ViewType

        taken_at = int(time.time() * 1000)
        client = self._client
        try:
            exps = [experiment_record(e) for e in iter_items(lambda token: self._call(
                "listing experiments",
                lambda: client.search_experiments(view_type=ViewType.ALL,
                                                  max_results=EXPERIMENT_PAGE_SIZE, page_token=token)))]
            wanted = _select_experiments(exps, experiments, self.uri.redacted)
            with _cyclic_gc_paused():
                runs = self._read_runs(wanted, progress) if wanted else RunTable()
                models = self._read_registered_models(progress)
            server_version = self.server_version()
        finally:
            self.read_deadline = None  # the read is over; checks run on their own timeouts
        return StoreSnapshot(
            uri=self.uri.redacted,
            tracker=self.tracker,
            server_version=server_version,
            taken_at=taken_at,
            experiments=tuple(exps),
            runs=runs,
            registered_models=tuple(models),
            extras={"store_kind": self._conn.kind, "experiments_read": wanted},
        )

    def _read_runs(self, experiment_ids: list[str], progress: Progress | None) -> RunTable:
        models = self._logged_models_by_run(experiment_ids)
        try:
            return self._read_runs_with(experiment_ids, models, progress)
        finally:
            models.close()  # its spill file, if the store has that many models

    def _read_runs_with(self, experiment_ids: list[str], models: LoggedModelsByRun,
                        progress: Progress | None) -> RunTable:
        from mlflow.entities import ViewType

        from mltrack.stores.concurrent_read import read_concurrency, read_runs_concurrently

        # MLTRACK_READ_CONCURRENCY, else 4 for a server, 1 for a file: stores/concurrent_read.py
        concurrency = read_concurrency(kind=self._conn.kind)
        if concurrency > 1 and len(experiment_ids) > 1:
            # One outer setting: the threads' nested ones then restore the environment in any order.
            with connect.client_settings(self._conn, self._request_timeout()):
                return read_runs_concurrently(self, experiment_ids, models, CONCURRENT_RUN_PAGE_SIZE,
                                              concurrency, progress)
        datasets = DatasetInterner()  # a sweep's runs share their datasets: one record each
        # Past a few thousand runs the records spill to a temporary file (mltrack.run_table), so
        # a million-run store is read in bounded memory.
        records = RunTableBuilder()
        reported = 0
        try:
            for page in iter_run_pages(lambda where, size, token: self._call("listing runs",
                    lambda: self._client.search_runs(experiment_ids, filter_string=where or "",
                                                     run_view_type=ViewType.ALL, max_results=size,
                                                     page_token=token)), RUN_PAGE_SIZE):
                page_models = models.get_many([run.info.run_id for run in page])
                for run in page:
                    # Offsets shift if runs are written while we page; the builder drops a run
                    # it has seen, so none is counted twice.
                    mine = page_models.get(run.info.run_id, ())
                    records.add(run_record(run, (m.model_id for m in mine), mine, datasets))
                del page  # build records page by page; drop the entities before the next page
                if progress and len(records) > reported:
                    reported = len(records)
                    progress(len(records), None, "runs")
            return records.finish()
        except BaseException:
            records.discard()
            raise

    def _logged_models_by_run(self, experiment_ids: list[str]) -> LoggedModelsByRun:
        """run id -> the MLflow 3 logged models it produced (they live under the experiment,
        so a run's own artifact list does not show them): one paged search for all runs,
        spilled to disk past MLTRACK_SPILL_RUNS models (stores/logged_models_by_run.py)."""
        by_run = LoggedModelsByRun()
        for model in iter_items(lambda token: self._call("listing logged models",
                lambda: self._client.search_logged_models(
                    experiment_ids, max_results=LOGGED_MODEL_PAGE_SIZE, page_token=token))):
            if model.source_run_id:
                by_run.add(model.source_run_id, logged_model_record(model))
        return by_run

    def _read_registered_models(self, progress: Progress | None) -> list[Any]:
        if not self._conn.has_registry:
            return []
        client = self._client
        versions_by_name: dict[str, list[Any]] = {}
        for version in iter_items(lambda token: self._call("listing model versions",
                lambda: client.search_model_versions(max_results=MODEL_VERSION_PAGE_SIZE,
                                                     page_token=token))):
            versions_by_name.setdefault(version.name, []).append(version)
        records = []
        for model in iter_items(lambda token: self._call("listing registered models",
                lambda: client.search_registered_models(max_results=REGISTERED_MODEL_PAGE_SIZE,
                                                        page_token=token))):
            # Searches return empty aliases; only get_registered_model fills them in.
            full = self._call(f"reading registered model {model.name!r}",
                              functools.partial(client.get_registered_model, model.name))
            records.append(registered_model_record(full, full.aliases or {},
                                                   versions_by_name.get(model.name, ())))
            if progress:
                progress(len(records), None, "registered models")
        return sorted(records, key=lambda m: m.name)

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float, int]]:
        metrics = self._call(f"reading metric {key!r} of run {run_id}",
                             lambda: self._client.get_metric_history(run_id, key))
        return sorted((m.step, m.value, m.timestamp) for m in metrics)

    def list_artifacts(self, run_id: str) -> tuple[ArtifactFile, ...]:
        run = self._call(f"reading run {run_id}", lambda: self._client.get_run(run_id))
        files = self._walk(f"listing artifacts of run {run_id}",
                           lambda path: self._client.list_artifacts(run_id, path))
        model_ids = {o.model_id for o in (getattr(run.outputs, "model_outputs", None) or ())}
        model_ids |= {m.model_id for m in iter_items(lambda token: self._call(
            f"listing logged models of run {run_id}", lambda: self._client.search_logged_models(
                [run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'",
                max_results=LOGGED_MODEL_PAGE_SIZE, page_token=token)))}
        for model_id in sorted(model_ids):
            model_files = self._walk(
                f"listing files of logged model {model_id}",
                functools.partial(self._client.list_logged_model_artifacts, model_id))
            files.extend(ArtifactFile(f"models/{model_id}/{f.path}", f.size) for f in model_files)
        return tuple(files)

    def _walk(self, what: str, list_dir: Callable[[str | None], list[Any]]) -> list[ArtifactFile]:
        """Every file below the root, depth first; directories are descended, not listed."""
        files: list[ArtifactFile] = []
        pending: list[str | None] = [None]
        while pending:
            folder = pending.pop()
            for info in self._call(what, functools.partial(list_dir, folder)):
                if info.is_dir:
                    pending.append(info.path)
                else:
                    files.append(ArtifactFile(info.path, info.file_size))
        return sorted(files, key=lambda f: f.path)

    def download_artifact(self, run_id: str, path: str, dst: Path) -> Path:
        dst.mkdir(parents=True, exist_ok=True)
        local = self._call(f"downloading {path!r} of run {run_id}",
                           lambda: self._client.download_artifacts(run_id, path, str(dst)))
        return Path(local)

    def download_model(self, model_uri: str, dst: Path) -> Path:
        """Resolve `models:/name/3`, `models:/name@alias`, `models:/m-<id>` or `runs:/id/path`
        through this store's own client (MLflow's resolver falls back to the global registry
        URI), then download the files the version points at."""
        dst.mkdir(parents=True, exist_ok=True)
        location = self._call(f"resolving model {model_uri}", lambda: self._model_location(model_uri))
        if location.startswith("runs:/"):
            run_id, _, path = location[len("runs:/"):].partition("/")
            return self.download_artifact(run_id, path, dst)
        import mlflow.artifacts

        local = self._call(f"downloading model {model_uri}", lambda: mlflow.artifacts.download_artifacts(
            artifact_uri=location, dst_path=str(dst), tracking_uri=self._conn.client_uri))
        return Path(local)

    def _model_location(self, model_uri: str) -> str:
        """Where a model URI's files are: a `runs:/` URI or an artifact location."""
        if not model_uri.startswith("models:/"):
            return model_uri
        if not self._conn.has_registry:
            raise StoreError(f"{self.uri.redacted} has no model registry to resolve {model_uri}")
        name_part = model_uri[len("models:/"):].strip("/")
        if name_part.startswith("m-") and "/" not in name_part:
            return self._client.get_logged_model(name_part).artifact_location
        if "@" in name_part:
            name, _, alias = name_part.partition("@")
            version = self._client.get_model_version_by_alias(name, alias).version
        else:
            name, _, version = name_part.rpartition("/")
            if not version.isdigit():  # a legacy stage: models:/name/Production
                latest = self._client.get_latest_versions(name, stages=[version])
                if not latest:
                    raise StoreError(f"no version of {name!r} in stage {version!r}")
                version = latest[0].version
        location = self._client.get_model_version_download_uri(name, version)
        return self._model_location(location) if location.startswith("models:/m-") else location

    def close(self) -> None:
        self._client = None  # type: ignore[assignment]  # MLflow pools close with the process

    def __enter__(self) -> MlflowStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _first_line(exc: BaseException) -> str:
    """One redacted line for a client error. A database missing one of MLflow's tables says so
    in words (MLflow's own text is a multi-line SQL dump)."""
    text = redact(str(exc)).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    missing = re.search(r"no such table: (\w+)|relation \"(\w+)\" does not exist", first)
    if missing:
        table = missing.group(1) or missing.group(2)
        return f"the database has no {table!r} table (damaged, or not fully migrated: `mlflow db upgrade`)"
    return first


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Building tens of thousands of small objects triggers the cyclic GC again and again, and
    every pass scans all the records built so far: with it paused a 10,000-run sqlite read took
    4.6-9.4 s instead of 19-33 s, at the same peak memory (reference counting still frees each
    page). Process-wide while the read runs; restored afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _select_experiments(exps: list[Any], wanted: Sequence[str] | None, redacted: str) -> list[str]:
    """Ids of the experiments to read runs from: all of them, or those named (by name or id)."""
    if wanted is None:
        return [e.experiment_id for e in exps]
    by_key = {e.name: e.experiment_id for e in exps} | {e.experiment_id: e.experiment_id for e in exps}
    missing = [name for name in wanted if name not in by_key]
    if missing:
        raise UsageError(f"no experiment named {', '.join(map(repr, missing))} in {redacted}",
                         hint=f"known: {', '.join(sorted(e.name for e in exps)) or 'none'}")
    return list(dict.fromkeys(by_key[name] for name in wanted))


def open_mlflow_store(parsed: TrackingUri, timeout: float = 30.0, *, attempts: int = 4,
                      backoff_s: float = 0.5, read_deadline: ReadDeadline | None = None) -> MlflowStore:
    """Open an MLflow store for reading; StoreUnreachable (exit 2) within ~10 s when nothing
    answers or the URI is malformed. `attempts`/`backoff_s`: the retry policy for transient
    HTTP errors (one call plus attempts-1 retries, backoff doubling from backoff_s).
    `read_deadline`: bounds opening and the first snapshot read together."""
    from mltrack.stores.vendor_logs import demote_vendor_logs

    demote_vendor_logs()
    conn = connect.resolve(parsed)
    if conn.kind == "http":
        connect.probe_http(conn, parsed.redacted, read_deadline.cap(timeout) if read_deadline else timeout)
    elif conn.kind == "sqlite":
        connect.check_sqlite_file(conn, parsed.redacted)
    elif conn.kind == "database":
        connect.probe_database(conn, parsed.redacted, timeout)
    try:
        store = MlflowStore(parsed, conn, timeout, attempts=attempts, backoff_s=backoff_s)
    except Exception as exc:
        raise connect.describe_client_error(exc, parsed.redacted) from None
    store.read_deadline = read_deadline
    store.check_readable()
    return store
