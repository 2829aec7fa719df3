"""When each value was first seen, per group, in bounded memory.

The data-change check keeps, for every experiment, each data hash and the earliest start time of
a run that used it. A store whose runs each train on their own data (a fresh split or snapshot
per run) holds as many versions as runs: ~200 bytes each in a dict (a 64-character hash, a slot,
an int), 200 MiB at a million. Up to `spill_after` entries (MLTRACK_SPILL_RUNS, as for the run
table) stay in dicts; past that they move to a private sqlite file that keeps the minimum.

Order is the dicts' order: groups in order of first appearance, and within a group values by
first-seen time, ties in order of first appearance (what `sorted(held, key=held.get)` gives).
"""

from __future__ import annotations

import sqlite3
import weakref

from mltrack.run_table import open_scratch, remove_scratch, spill_after_from_env


class FirstSeen:
    """`add(group, value, when)` for every occurrence; then `count`, `groups` and `ordered`."""

    def __init__(self, spill_after: int | None = None) -> None:
        self._spill_after = spill_after_from_env() if spill_after is None else spill_after
        self._held: dict[str, dict[str, int]] = {}
        self._entries = 0
        self._con: sqlite3.Connection | None = None
        self._group_seq: dict[str, int] = {}  # group -> its number in the spill file
        self._finalizer: weakref.finalize | None = None

    @property
    def spilled(self) -> bool:
        return self._con is not None

    def add(self, group: str, value: str, when: int) -> None:
        if self._con is not None:
            seq = self._group_seq.get(group)
            if seq is None:  # groups are few (experiments): their numbers stay in memory
                seq = self._group_seq[group] = _new_group(self._con, group)
            self._con.execute(
                "INSERT INTO seen (grp, value, first) VALUES (?, ?, ?) "
                "ON CONFLICT (grp, value) DO UPDATE SET first = min(first, excluded.first)", (seq, value, when))
            return
        held = self._held.setdefault(group, {})
        seen = held.get(value)
        if seen is None:
            self._entries += 1
        held[value] = when if seen is None else min(seen, when)
        if self._entries > self._spill_after:
            self._spill()

    def count(self) -> int:
        """How many (group, value) pairs were seen."""
        if self._con is None:
            return sum(len(held) for held in self._held.values())
        return self._con.execute("SELECT count(*) FROM seen").fetchone()[0]

    def groups(self) -> list[str]:
        """The groups, in order of first appearance (few: one per experiment)."""
        if self._con is None:
            return list(self._held)
        return [name for (name,) in self._con.execute("SELECT name FROM grp ORDER BY seq")]

    def ordered(self, group: str, limit: int) -> list[str]:
        """A group's first `limit` values, oldest first (ties in order of appearance)."""
        if self._con is None:
            held = self._held.get(group, {})
            return sorted(held, key=held.__getitem__)[:limit]  # stable
        return [value for (value,) in self._con.execute(
            "SELECT value FROM seen WHERE grp = (SELECT seq FROM grp WHERE name = ?) "
            "ORDER BY first, seq LIMIT ?", (group, limit))]

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._held = {}

    def _spill(self) -> None:
        con, path = open_scratch("mltrack-seen-")
        self._con = con
        self._finalizer = weakref.finalize(self, remove_scratch, con, path)
        con.execute("CREATE TABLE grp (seq INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
        # seq: order of first appearance; the unique key finds a pair to lower its time.
        con.execute("CREATE TABLE seen (seq INTEGER PRIMARY KEY, grp INTEGER NOT NULL, value TEXT NOT NULL, "
                    "first INTEGER NOT NULL, UNIQUE (grp, value))")
        for group, held in self._held.items():
            seq = self._group_seq[group] = _new_group(con, group)
            con.executemany("INSERT INTO seen (grp, value, first) VALUES (?, ?, ?)",
                            ((seq, value, when) for value, when in held.items()))
        self._held = {}


def _new_group(con: sqlite3.Connection, group: str) -> int:
    """Number a group in the spill file (its order of first appearance)."""
    seq = con.execute("INSERT INTO grp (name) VALUES (?)", (group,)).lastrowid
    assert seq is not None  # an INSERT into a rowid table always sets it
    return seq
