"""Aggregates that read runs as a stream and keep bounded state, for the onboarding page.

- `TopN`: the first `n` items of a stream in `sorted(items, key=key)` order (ties keep stream
  order, as a stable sort does), holding at most a few thousand items at any time.
- `SortedSpill`: rows to be read back in sort order when the order is not the stream's (the
  metric over time, drawn in start-time order). Up to `spill_after` rows stay in a list; past
  that they go to a private sqlite file in the temp directory, which sorts them on disk.
"""

from __future__ import annotations

import heapq
import marshal
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")
_TRIM_AT = 2048  # buffer length that triggers a trim back to n


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
        if len(self._items) >= max(_TRIM_AT, 2 * self.n):
            # nsmallest is stable, and later items are appended after the survivors: ties keep
            # the order they arrived in, exactly as sorted(all items)[:n] would.
            self._items = heapq.nsmallest(self.n, self._items, key=self.key)

    def result(self) -> list[T]:
        return heapq.nsmallest(self.n, self._items, key=self.key)


class SortedSpill:
    """Rows (tuples of numbers, strings and None) read back sorted by `(sort_key, arrival)`."""

    def __init__(self, spill_after: int = 20_000) -> None:
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
            self._con.close()
            self._con = None
            try:
                os.unlink(self._path)
            except OSError:
                pass

    def _flush(self) -> None:
        if self._con is None:
            fd, self._path = tempfile.mkstemp(prefix="mltrack-sort-", suffix=".sqlite")
            os.close(fd)
            self._con = sqlite3.connect(self._path)
            self._con.execute("PRAGMA journal_mode = OFF")
            self._con.execute("PRAGMA synchronous = OFF")
            self._con.execute("CREATE TABLE rows (k, seq INTEGER, body BLOB)")
        self._con.executemany("INSERT INTO rows VALUES (?, ?, ?)",
                              [(k, seq, marshal.dumps(row)) for k, seq, row in self._rows])
        self._rows.clear()

    def __enter__(self) -> SortedSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
