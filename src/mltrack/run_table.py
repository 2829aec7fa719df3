"""The runs of a snapshot, spilled to a temporary file once a store grows past a few thousand.

A store of a million runs does not fit in memory as records (each holds its params, tags and
metrics: ~7 GiB). So the reader hands its records, page by page, to a `RunTableBuilder`: up to
`spill_after` of them stay in memory (small stores, tests and recorded snapshots never touch the
disk); past that, every record is encoded (marshal of plain tuples, a few hundred bytes) into a
private sqlite file in the temp directory and only that file grows. The result is a
`model.RunTable`: iterating it streams the records back in the order they were read, decoded one
at a time, so a consumer that keeps what it needs (counts, a top-N, the few runs it inspects)
uses memory bounded by what it keeps, not by the store. Lookups by run id and by logged-model id
are indexed queries. The file is deleted when the table is closed or garbage-collected.

Why sqlite and marshal: both are in the standard library (the linter's install stays small), the
file is written once and read many times, and `marshal.loads` of a tuple of str/float/None is the
fastest decode Python offers (no per-record class lookups, unlike pickle).
"""

from __future__ import annotations

import dataclasses
import marshal
import math
import os
import sqlite3
import tempfile
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from mltrack.model import (
    ArtifactFile,
    DatasetInputRecord,
    LoggedModelRecord,
    RunRecord,
    RunTable,
)

SPILL_ENV = "MLTRACK_SPILL_RUNS"
# In-memory records cost ~5-10 KiB each with their maps; 10,000 of them stay well under 100 MiB.
DEFAULT_SPILL_AFTER = 10_000
_BATCH = 2_000  # rows per executemany
_READ_BATCH = 256  # rows decoded per fetch while iterating (~0.5 KiB each: the batch is the floor of every pass)


def spill_after_from_env(environ: dict[str, str] | None = None) -> int:
    """`MLTRACK_SPILL_RUNS`: how many runs stay in memory before the table spills to disk
    (0 spills from the first run; unset or invalid: the default)."""
    raw = (os.environ if environ is None else environ).get(SPILL_ENV, "").strip()
    try:
        return max(0, int(raw)) if raw else DEFAULT_SPILL_AFTER
    except ValueError:
        return DEFAULT_SPILL_AFTER


# --------------------------------------------------------------------------- encoding

# Field order of the nested records, read from the classes so a new field is never dropped.
_DATASET_FIELDS = tuple(f.name for f in dataclasses.fields(DatasetInputRecord))
_MODEL_FIELDS = tuple(f.name for f in dataclasses.fields(LoggedModelRecord))


def encode(run: RunRecord) -> bytes:
    artifacts = None if run.artifacts is None else tuple((a.path, a.size) for a in run.artifacts)
    return marshal.dumps((
        run.run_id, run.experiment_id, run.name, run.user, run.status, run.start_time, run.end_time,
        tuple(run.params.items()), tuple(run.tags.items()), tuple(run.metrics.items()),
        run.lifecycle_stage, run.artifact_uri, artifacts, tuple(run.logged_model_ids),
        tuple(tuple(getattr(d, f) for f in _DATASET_FIELDS) for d in run.datasets),
        tuple(tuple(getattr(m, f) for f in _MODEL_FIELDS) for m in run.logged_models),
    ))


def decode(blob: bytes) -> RunRecord:
    (run_id, experiment_id, name, user, status, start, end, params, tags, metrics, stage,
     artifact_uri, artifacts, model_ids, datasets, models) = marshal.loads(blob)
    return RunRecord(
        run_id=run_id, experiment_id=experiment_id, name=name, user=user, status=status,
        start_time=start, end_time=end, params=dict(params), tags=dict(tags), metrics=dict(metrics),
        lifecycle_stage=stage, artifact_uri=artifact_uri,
        artifacts=None if artifacts is None else tuple(ArtifactFile(p, s) for p, s in artifacts),
        logged_model_ids=model_ids,
        datasets=tuple(DatasetInputRecord(*d) for d in datasets),
        logged_models=tuple(LoggedModelRecord(*m) for m in models),
    )


# --------------------------------------------------------------------------- the spilled table


class SpilledRunTable(RunTable):
    """Runs in a private sqlite file: streamed in read order, looked up by index."""

    def __init__(self, path: str, count: int, order: str = "grp, seq") -> None:
        self._path = path
        self._count = count
        self._order = order
        self._lock = threading.Lock()
        # Checks gather in worker threads; every statement is serialised by the lock below or
        # is a read on a connection nobody writes to any more.
        self._con = sqlite3.connect(path, check_same_thread=False)
        self._con.execute("PRAGMA query_only = ON")
        self._finalizer = weakref.finalize(self, remove_scratch, self._con, path)

    # -- RunTable --------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[RunRecord]:
        with self._lock:
            cursor = self._con.execute(f"SELECT body FROM runs ORDER BY {self._order}")
        while True:
            with self._lock:
                rows = cursor.fetchmany(_READ_BATCH)
            if not rows:
                return
            for (body,) in rows:
                yield decode(body)
            del rows  # one batch alive at a time, not two while the next is fetched

    def __getitem__(self, index: int) -> RunRecord:
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        with self._lock:
            row = self._con.execute(f"SELECT body FROM runs ORDER BY {self._order} LIMIT 1 OFFSET ?",
                                    (index,)).fetchone()
        return decode(row[0])

    def get(self, run_id: str) -> RunRecord | None:
        with self._lock:
            row = self._con.execute("SELECT body FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else decode(row[0])

    def owners_of_logged_model(self, model_id: str) -> tuple[str, ...]:
        with self._lock:
            rows = self._con.execute(
                "SELECT o.run_id FROM model_owners o JOIN runs r ON r.run_id = o.run_id "
                f"WHERE o.model_id = ? ORDER BY {', '.join('r.' + c.strip() for c in self._order.split(','))}",
                (model_id,)).fetchall()
        return tuple(r for (r,) in rows)

    @property
    def spilled(self) -> bool:
        return True

    def close(self) -> None:
        self._finalizer()


def _mlflow_key(run: RunRecord) -> tuple[float, str]:
    """MLflow's default search order: start time descending (a run without one last), run id."""
    return (-run.start_time if run.start_time is not None else math.inf, run.run_id)


def open_scratch(prefix: str) -> tuple[sqlite3.Connection, str]:
    """A private sqlite file in the temp directory for spilled state, and its path. A scratch
    file: nothing to recover after a crash, so no journal and no fsyncs. `remove_scratch` ends it."""
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=".sqlite")
    os.close(fd)
    con = sqlite3.connect(path, check_same_thread=False)
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    return con, path


def remove_scratch(con: sqlite3.Connection, path: str) -> None:
    try:
        con.close()
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


# --------------------------------------------------------------------------- the builder


class RunTableBuilder:
    """Collects a read's records; `finish()` returns the table.

    `add(run, group)`: records of a lower group come first when iterated, each group in the order
    added. With `mlflow_order`, the table iterates in the order one MLflow search returns
    (start time, newest first, then run id), whichever order the records came in: concurrent
    readers add one experiment each, interleaved, and the snapshot must not depend on that.
    A run id seen before is dropped and `add` returns False: offsets shift while a store is
    written during the read.
    """

    def __init__(self, spill_after: int | None = None, *, mlflow_order: bool = False) -> None:
        self._spill_after = spill_after_from_env() if spill_after is None else spill_after
        self._mlflow_order = mlflow_order
        self._groups: dict[int, list[RunRecord]] = {}
        self._seen: set[str] = set()
        self._count = 0
        self._con: sqlite3.Connection | None = None
        self._path = ""
        self._pending: list[tuple[Any, ...]] = []
        self._pending_ids: set[str] = set()
        self._owners: list[tuple[str, str]] = []
        self._seq = 0

    def __len__(self) -> int:
        return self._count

    def add(self, run: RunRecord, group: int = 0) -> bool:
        if self._con is None:
            if run.run_id in self._seen:
                return False
            self._seen.add(run.run_id)
            self._groups.setdefault(group, []).append(run)
            self._count += 1
            if self._count > self._spill_after:
                self._spill()
            return True
        if self._is_known(run.run_id):
            return False
        self._queue(run, group)
        self._count += 1
        return True

    def finish(self) -> RunTable:
        if self._con is None:
            runs = [r for g in sorted(self._groups) for r in self._groups[g]]
            if self._mlflow_order:
                runs.sort(key=_mlflow_key)
            return RunTable(runs)
        self._flush()
        order = "newest, run_id" if self._mlflow_order else "grp, seq"
        self._con.execute(f"CREATE INDEX runs_order ON runs ({order})")
        self._con.execute("CREATE INDEX owners_model ON model_owners (model_id)")
        self._con.commit()
        self._con.close()
        self._con = None
        return SpilledRunTable(self._path, self._count, order)

    def discard(self) -> None:
        """Drop a half-built table (the read failed)."""
        if self._con is not None:
            remove_scratch(self._con, self._path)
            self._con = None

    # -- spilling ----------------------------------------------------------------------------
    def _spill(self) -> None:
        con, self._path = open_scratch("mltrack-runs-")
        con.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, grp INTEGER, seq INTEGER, newest REAL, "
                    "body BLOB)")
        con.execute("CREATE TABLE model_owners (model_id TEXT, run_id TEXT)")
        self._con = con
        for group in sorted(self._groups):
            for run in self._groups[group]:
                self._queue(run, group)
        self._groups.clear()
        self._seen.clear()
        self._flush()

    def _queue(self, run: RunRecord, group: int) -> None:
        self._seq += 1
        self._pending.append((run.run_id, group, self._seq, _mlflow_key(run)[0], encode(run)))
        self._pending_ids.add(run.run_id)
        self._owners.extend((m, run.run_id) for m in run.logged_model_ids)
        if len(self._pending) >= _BATCH:
            self._flush()

    def _is_known(self, run_id: str) -> bool:
        if run_id in self._pending_ids:
            return True
        assert self._con is not None
        return self._con.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is not None

    def _flush(self) -> None:
        assert self._con is not None
        if self._pending:
            self._con.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?)", self._pending)
            self._pending.clear()
            self._pending_ids.clear()
        if self._owners:
            self._con.executemany("INSERT INTO model_owners VALUES (?, ?)", self._owners)
            self._owners.clear()
