"""`StoreWriter` and `ModelSandbox` for MLflow: the writes `mltrack rollback`, `mltrack cleanup`
and the rollback drill make, through MLflow's own client.

MLflow specifics stay here: "does not exist" is an error text (`RESOURCE_DOES_NOT_EXIST`),
legacy stages warn that they are deprecated, a restore lists runs of every lifecycle
(`ViewType.ALL`), and the SDK's HTTP retries are tuned by environment variables.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from mltrack.envvars import temporary_environ
from mltrack.model import RegisteredModelRecord, RunRecord
from mltrack.stores.mlflow_records import registered_model_record, run_record
from mltrack.stores.retry import call_with_retry
from mltrack.uri import TrackingUri

# Writes fail fast (no MLflow-internal minutes of retries); the caller's are bounded: 3 attempts.
_FAIL_FAST_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "15"}
_RUN_ID = re.compile(r"^[0-9a-zA-Z_-]{1,64}$")  # only ids that are safe to quote in a filter
_STAGES_PER_REQUEST = 100


def _client(uri: TrackingUri) -> Any:
    from mlflow.tracking import MlflowClient

    raw = uri.raw.strip()
    return MlflowClient(tracking_uri=raw, registry_uri=raw)


def is_missing(exc: BaseException) -> bool:
    """MLflow's answer for a model, version, run or tag that does not exist (its error code is
    an attribute, not part of the message, on a local store)."""
    return (getattr(exc, "error_code", None) == "RESOURCE_DOES_NOT_EXIST"
            or "RESOURCE_DOES_NOT_EXIST" in str(exc) or "not found" in str(exc).lower())


class MlflowWriter:
    """The writes of rollback and cleanup on one MLflow store (`StoreWriter`)."""

    def __init__(self, uri: TrackingUri) -> None:
        self.uri = uri
        self._client = _client(uri)

    # ------------------------------------------------------------------ fresh reads

    def registered_model(self, name: str) -> RegisteredModelRecord | None:
        try:
            registered = self._client.get_registered_model(name)
        except Exception as exc:  # noqa: BLE001 - "no such model" is an answer, anything else is raised
            if is_missing(exc):
                return None
            raise
        return registered_model_record(registered, registered.aliases or {}, self._versions(name))

    def _versions(self, name: str) -> list[Any]:
        found: list[Any] = []
        token = None
        quoted = name.replace("'", "\\'")
        while True:
            page = self._client.search_model_versions(f"name = '{quoted}'", max_results=200, page_token=token)
            found.extend(page)
            token = getattr(page, "token", None)
            if not token:
                return found

    def model_tags(self, name: str) -> dict[str, str]:
        return dict(self._client.get_registered_model(name).tags or {})

    def run(self, run_id: str) -> RunRecord | None:
        try:
            found = self._client.get_run(run_id)
        except Exception as exc:  # noqa: BLE001 - a run that is gone is an answer
            if is_missing(exc):
                return None
            raise
        return run_record(found)

    def lifecycle_stages(self, experiment_of: Mapping[str, str]) -> dict[str, str]:
        """100 runs a request (one `get_run` each would double the round trips of a restore);
        stops at the first failed search, returning what it read."""
        from mlflow.entities import ViewType

        ids = [i for i, experiment in experiment_of.items() if _RUN_ID.match(i) and experiment]
        experiments = sorted({experiment_of[i] for i in ids})
        stages: dict[str, str] = {}
        for start in range(0, len(ids), _STAGES_PER_REQUEST):
            chunk = ids[start:start + _STAGES_PER_REQUEST]
            query = "attributes.run_id IN (" + ", ".join(f"'{i}'" for i in chunk) + ")"
            try:
                runs = call_with_retry(lambda: self._client.search_runs(
                    experiments, query, run_view_type=ViewType.ALL, max_results=len(chunk)))
            except Exception:  # noqa: BLE001 - the caller asks for the rest one run at a time
                return stages
            stages.update({r.info.run_id: r.info.lifecycle_stage for r in runs})
        return stages

    @contextmanager
    def fail_fast(self) -> Iterator[None]:
        with temporary_environ(_FAIL_FAST_ENV):
            yield

    # ------------------------------------------------------------------ writes

    def set_alias(self, model: str, alias: str, version: str) -> None:
        self._client.set_registered_model_alias(model, alias, version)

    def set_stage(self, model: str, version: str, stage: str) -> None:
        with warnings.catch_warnings():  # stages are deprecated in MLflow 3 but still served
            warnings.simplefilter("ignore")
            self._client.transition_model_version_stage(model, version, stage)

    def set_model_tag(self, model: str, key: str, value: str) -> None:
        self._client.set_registered_model_tag(model, key, value)

    def delete_model_tag(self, model: str, key: str) -> None:
        self._client.delete_registered_model_tag(model, key)

    def set_version_tag(self, model: str, version: str, key: str, value: str) -> None:
        self._client.set_model_version_tag(model, version, key, value)

    def delete_version_tag(self, model: str, version: str, key: str) -> None:
        self._client.delete_model_version_tag(model, version, key)

    def delete_run(self, run_id: str) -> None:
        self._client.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self._client.restore_run(run_id)


class MlflowSandbox:
    """A throwaway registered model on the store (`ModelSandbox`): each write names `self.name`."""

    def __init__(self, uri: TrackingUri, name: str) -> None:
        self.name = name
        self._client = _client(uri)

    def create(self, tags: Mapping[str, str]) -> None:
        self._client.create_registered_model(self.name, tags=dict(tags))

    def copy_version(self, model: str, version: str) -> str:
        return str(self._client.copy_model_version(f"models:/{model}/{version}", self.name).version)

    def set_alias(self, alias: str, version: str) -> None:
        self._client.set_registered_model_alias(self.name, alias, version)

    def alias_version(self, alias: str) -> str:
        return str(self._client.get_model_version_by_alias(self.name, alias).version)

    def model_uri(self, version: str) -> str:
        return f"models:/{self.name}/{version}"

    def delete(self) -> bool:
        try:
            self._client.delete_registered_model(self.name)
            return True
        except Exception as exc:  # noqa: BLE001 - a sandbox that never came to be is gone too
            return is_missing(exc)
