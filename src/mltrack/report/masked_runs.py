"""A snapshot whose secret-looking params and tags are masked as they are read, not copied.

The onboarding page and `mltrack snapshot` must never hold a secret a run logged as a param or a
tag (a whole config passed to `mlflow.log_params`). Copying every run with its values masked
would hold the whole store in memory; `MaskedRunTable` is a view instead: iterating it masks
each record as it streams past, and `get` (a lookup by run id) masks the record it returns.
Records without a secret come back as they are. What counts as a secret is mltrack.secrets'.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from mltrack.model import RunRecord, RunTable, StoreSnapshot
from mltrack.secrets import mask_value


def masked_record(record: Any, **fields: Any) -> tuple[Any, int]:
    """`record` with the secret-looking values of the named mappings masked (the same object
    when none is), and how many values were masked."""
    changed, total = {}, 0
    for name, values in fields.items():
        clean, count = _masked_map(values)
        if count:
            changed[name], total = clean, total + count
    return (dataclasses.replace(record, **changed) if changed else record), total


def _masked_map(values: Mapping[str, Any]) -> tuple[dict[str, Any] | None, int]:
    """mltrack.secrets.mask_fields, copying the mapping only when a value is masked (most runs
    hold no secret, and this runs for every param and tag of every run)."""
    clean: dict[str, Any] | None = None
    total = 0
    for key, value in values.items():
        masked, count = mask_value(str(key), value)
        if count:
            if clean is None:
                clean = dict(values)
            clean[key] = masked
            total += count
    return clean, total


def masked_run(run: RunRecord) -> tuple[RunRecord, int]:
    return masked_record(run, params=run.params, tags=run.tags)


class MaskedRunTable(RunTable):
    """A view of another table whose records are masked as they are read."""

    __slots__ = ("_inner",)

    def __init__(self, inner: RunTable) -> None:  # noqa: D107 - no super(): this view holds no runs
        self._inner = inner

    def counted(self) -> Iterator[tuple[RunRecord, int]]:
        """Each masked record with how many of its values were masked (to count them once)."""
        for run in self._inner:
            yield masked_run(run)

    def __iter__(self) -> Iterator[RunRecord]:
        for run in self._inner:
            yield masked_run(run)[0]

    def where(self, keep: Callable[[RunRecord], bool]) -> Iterator[RunRecord]:
        """The masked records of the runs `keep` accepts, asked before masking: a pass that
        reads a few experiments masks only their runs (`keep` must not read params or tags)."""
        for run in self._inner:
            if keep(run):
                yield masked_run(run)[0]

    def __len__(self) -> int:
        return len(self._inner)

    def __getitem__(self, index: int) -> RunRecord:
        return masked_run(self._inner[index])[0]

    def get(self, run_id: str) -> RunRecord | None:
        run = self._inner.get(run_id)
        return None if run is None else masked_run(run)[0]

    def owners_of_logged_model(self, model_id: str) -> tuple[str, ...]:
        return self._inner.owners_of_logged_model(model_id)

    @property
    def spilled(self) -> bool:
        return self._inner.spilled

    def close(self) -> None:
        """The view owns nothing: the table it shows is its reader's to close."""


def masked_snapshot(snapshot: StoreSnapshot) -> tuple[StoreSnapshot, int]:
    """The snapshot with its runs behind a masking view and its registered models' and versions'
    tags masked, and how many registry values were masked (the runs' are counted as they are
    read: `MaskedRunTable.counted`)."""
    total = 0
    models = []
    for model in snapshot.registered_models:
        versions = []
        for version in model.versions:
            version, count = masked_record(version, tags=version.tags)
            versions.append(version)
            total += count
        masked_model, count = masked_record(model, tags=model.tags)
        total += count
        if any(new is not old for new, old in zip(versions, model.versions)):
            masked_model = dataclasses.replace(masked_model, versions=tuple(versions))
        models.append(masked_model)
    runs = snapshot.runs if isinstance(snapshot.runs, MaskedRunTable) else MaskedRunTable(snapshot.runs)
    return dataclasses.replace(snapshot, runs=runs, registered_models=tuple(models)), total
