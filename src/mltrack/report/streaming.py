"""Aggregates that read runs as a stream and keep bounded state, for the onboarding page.

- `TopN`: the first `n` items of a stream in `sorted(items, key=key)` order (ties keep stream
  order, as a stable sort does), holding at most 2n + 64 items at any time.
- `SortedSpill`: rows to be read back in sort order when the order is not the stream's (the
  metric over time, drawn in start-time order). Up to `spill_after` rows (a thousand) stay in a
  list; past that they go to a private sqlite file in the temp directory, which sorts them.
- `DistinctValues`: how many distinct values each key holds, exactly, up to a limit (a param
  whose values are nearly all different is no hyperparameter to plot). A key's first thousand
  values stay in a set; past that they are counted in a private sqlite file.
"""

from __future__ import annotations

import heapq
import marshal
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from mltrack.run_table import open_scratch, remove_scratch

T = TypeVar("T")
_SLACK = 64  # items a TopN may hold past n before it trims back to n (records can be KiBs each)


class TopN(Generic[T]):
    """The `n` smallest items by `key`, in order; `count` is how many were offered."""

    def __init__(self, n: int, key: Callable[[T], Any]) -> None:
        self.n = n
        self.key = key
        self.count = 0
        self._items: list[T] = []

    def add(self, item: T) -> None:
        self.count += 1
        self._items.append(item)
        if len(self._items) >= 2 * self.n + _SLACK:
            # nsmallest is stable, and later items are appended after the survivors: ties keep
            # the order they arrived in, exactly as sorted(all items)[:n] would.
            self._items = heapq.nsmallest(self.n, self._items, key=self.key)

    def result(self) -> list[T]:
        return heapq.nsmallest(self.n, self._items, key=self.key)


class SortedSpill:
    """Rows (tuples of numbers, strings and None) read back sorted by `(sort_key, arrival)`."""

    def __init__(self, spill_after: int = 1_024) -> None:
        self._spill_after = spill_after
        self._rows: list[tuple[Any, int, tuple[Any, ...]]] = []
        self._con: sqlite3.Connection | None = None
        self._path = ""
        self.count = 0

    def add(self, sort_key: float, row: tuple[Any, ...]) -> None:
        self.count += 1
        self._rows.append((sort_key, self.count, row))
        if len(self._rows) >= self._spill_after:
            self._flush()

    def sorted_rows(self) -> Iterator[tuple[Any, ...]]:
        if self._con is None:
            for _, _, row in sorted(self._rows, key=lambda item: (item[0], item[1])):
                yield row
            return
        self._flush()
        self._con.execute("CREATE INDEX IF NOT EXISTS rows_order ON rows (k, seq)")
        cursor = self._con.execute("SELECT body FROM rows ORDER BY k, seq")
        while batch := cursor.fetchmany(2_000):
            for (body,) in batch:
                yield marshal.loads(body)

    def close(self) -> None:
        if self._con is not None:
            remove_scratch(self._con, self._path)
            self._con = None

    def _flush(self) -> None:
        if self._con is None:
            self._con, self._path = open_scratch("mltrack-sort-")
            self._con.execute("CREATE TABLE rows (k, seq INTEGER, body BLOB)")
        self._con.executemany("INSERT INTO rows VALUES (?, ?, ?)",
                              [(k, seq, marshal.dumps(row)) for k, seq, row in self._rows])
        self._rows.clear()

    def __enter__(self) -> SortedSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DistinctValues:
    """Distinct values per key, counted exactly up to `limit`; a key past it is dropped."""

    def __init__(self, limit: int, keep_in_memory: int = 1_024) -> None:
        self.limit = limit
        self._keep = keep_in_memory
        self._sets: dict[str, set[str]] = {}
        self._spilled: dict[str, int] = {}  # key -> distinct values, counted in the file
        self._dropped: set[str] = set()
        self._con: sqlite3.Connection | None = None
        self._path = ""

    def add(self, key: str, value: str) -> None:
        if key in self._dropped:
            return
        if key in self._spilled:
            assert self._con is not None
            added = self._con.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (key, value)).rowcount
            self._spilled[key] += added
            if self._spilled[key] > self.limit:
                self._drop(key)
            return
        held = self._sets.setdefault(key, set())
        held.add(value)
        if len(held) > self.limit:
            self._drop(key)
        elif len(held) > self._keep:
            self._spill(key)

    def counts(self) -> dict[str, int]:
        """Each key still within the limit and how many distinct values it holds."""
        return {**{k: len(v) for k, v in self._sets.items()}, **self._spilled}

    def close(self) -> None:
        if self._con is not None:
            remove_scratch(self._con, self._path)
            self._con = None

    def _drop(self, key: str) -> None:
        self._dropped.add(key)
        self._sets.pop(key, None)
        if self._spilled.pop(key, None) is not None:
            assert self._con is not None
            self._con.execute("DELETE FROM seen WHERE k = ?", (key,))

    def _spill(self, key: str) -> None:
        if self._con is None:
            self._con, self._path = open_scratch("mltrack-distinct-")
            self._con.execute("CREATE TABLE seen (k TEXT, v TEXT, PRIMARY KEY (k, v)) WITHOUT ROWID")
        values = self._sets.pop(key)
        self._con.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?)", ((key, v) for v in values))
        self._spilled[key] = len(values)
