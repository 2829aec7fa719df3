"""Run id -> the MLflow 3 logged models it produced, in bounded memory.

MLflow 3 keeps logged models under the experiment, not the run, so the reader lists them all
before the runs and attaches each run's to its record. A store where every run logs a model
holds as many models as runs: held as a dict, a million of them cost ~475 MiB (a record, its
id and name strings, a list and a dict slot each; benchmarks/bench_logged_models.py). Past
`spill_after` models (MLTRACK_SPILL_RUNS, as for the run table) they move into a private sqlite
file, encoded like the run table's nested records; the reader looks a page of runs up at once
(`get_many`, one indexed query per 900 runs).
"""

from __future__ import annotations

import dataclasses
import marshal
import sqlite3
import threading
import weakref

from mltrack.model import LoggedModelRecord
from mltrack.run_table import open_scratch, remove_scratch, spill_after_from_env

_FIELDS = tuple(f.name for f in dataclasses.fields(LoggedModelRecord))
_BATCH = 900  # run ids per query: under sqlite's default limit of host parameters


class LoggedModelsByRun:
    """Add every model (`add`), then look runs up (`get`); `close` deletes the spill file
    (collection does too). Lookups may come from the concurrent reader's threads."""

    def __init__(self, spill_after: int | None = None) -> None:
        self._spill_after = spill_after_from_env() if spill_after is None else spill_after
        self._memory: dict[str, list[LoggedModelRecord]] = {}
        self._count = 0
        self._con: sqlite3.Connection | None = None
        self._indexed = False
        self._lock = threading.Lock()
        self._finalizer: weakref.finalize | None = None

    def __len__(self) -> int:
        return self._count

    @property
    def spilled(self) -> bool:
        return self._con is not None

    def add(self, run_id: str, record: LoggedModelRecord) -> None:
        self._count += 1
        if self._con is None:
            self._memory.setdefault(run_id, []).append(record)
            if self._count > self._spill_after:
                self._spill()
            return
        self._con.execute("INSERT INTO models VALUES (?, ?)", (run_id, _encode(record)))

    def get(self, run_id: str, default: tuple[LoggedModelRecord, ...] = ()) -> tuple[LoggedModelRecord, ...]:
        return self.get_many([run_id]).get(run_id, default)

    def get_many(self, run_ids: list[str]) -> dict[str, tuple[LoggedModelRecord, ...]]:
        """The models of each of `run_ids` that has any: one query per page of runs."""
        if self._con is None:
            return {r: tuple(found) for r in run_ids if (found := self._memory.get(r))}
        out: dict[str, list[LoggedModelRecord]] = {}
        with self._lock:
            self._index()
            for start in range(0, len(run_ids), _BATCH):
                batch = run_ids[start:start + _BATCH]
                marks = ", ".join("?" * len(batch))
                for run_id, blob in self._con.execute(
                        f"SELECT run_id, blob FROM models WHERE run_id IN ({marks}) ORDER BY rowid", batch):
                    out.setdefault(run_id, []).append(_decode(blob))
        return {r: tuple(found) for r, found in out.items()}

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._memory = {}

    def _index(self) -> None:
        if not self._indexed and self._con is not None:  # every model is in: index once
            self._con.execute("CREATE INDEX by_run ON models (run_id)")
            self._indexed = True

    def _spill(self) -> None:
        con, path = open_scratch("mltrack-models-")
        self._con = con
        self._finalizer = weakref.finalize(self, remove_scratch, con, path)
        con.execute("CREATE TABLE models (run_id TEXT NOT NULL, blob BLOB NOT NULL)")
        con.executemany("INSERT INTO models VALUES (?, ?)",
                              ((run_id, _encode(r)) for run_id, records in self._memory.items() for r in records))
        self._memory = {}


def _encode(record: LoggedModelRecord) -> bytes:
    return marshal.dumps(tuple(getattr(record, f) for f in _FIELDS))


def _decode(blob: bytes) -> LoggedModelRecord:
    return LoggedModelRecord(*marshal.loads(blob))
