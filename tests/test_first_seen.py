"""First-seen times per group in bounded memory (mltrack/first_seen.py), used by data-change.

The spilled table must answer exactly as the dicts do (order of groups, oldest first, ties in
order of appearance, the minimum time kept), and must not grow with the number of values."""

from __future__ import annotations

import random
import tracemalloc

from mltrack.first_seen import FirstSeen


def _feed(seen: FirstSeen, rng: random.Random, n: int) -> None:
    for _ in range(n):  # few groups, repeated values, equal times (ties), times going up and down
        seen.add(f"exp-{rng.randrange(4)}", f"hash-{rng.randrange(60)}", rng.randrange(40) * 1000)


def test_spilled_answers_as_the_dicts_do() -> None:
    for seed in range(5):
        memory, spilled = FirstSeen(spill_after=10**9), FirstSeen(spill_after=seed * 7)
        _feed(memory, random.Random(seed), 400)
        _feed(spilled, random.Random(seed), 400)
        assert spilled.spilled and not memory.spilled
        assert spilled.count() == memory.count() > 100
        assert spilled.groups() == memory.groups()
        for group in memory.groups():
            for limit in (1, 5, 51, 1000):
                assert spilled.ordered(group, limit) == memory.ordered(group, limit)
        memory.close()
        spilled.close()


def test_minimum_time_and_tie_order() -> None:
    for spill_after in (10**9, 0):
        seen = FirstSeen(spill_after=spill_after)
        for value, when in [("b", 5), ("a", 5), ("c", 9), ("c", 1), ("b", 7)]:
            seen.add("e", value, when)
        assert seen.ordered("e", 10) == ["c", "b", "a"]  # c's minimum is 1; b and a tie, b came first
        assert seen.count() == 3 and seen.groups() == ["e"]
        seen.close()


def _held_mib(spill_after: int, n: int) -> float:
    tracemalloc.start()
    seen = FirstSeen(spill_after=spill_after)
    for i in range(n):
        seen.add("exp", f"{i:064x}", i)  # every run its own data version
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    seen.close()
    return held / 2**20


def test_memory_does_not_grow_with_versions() -> None:
    in_dicts = _held_mib(10**9, 11_000) - _held_mib(10**9, 1_000)
    spilled = _held_mib(500, 11_000) - _held_mib(500, 1_000)
    assert in_dicts > 1.0, f"10,000 versions in dicts should cost MiBs ({in_dicts:.2f}): the test must be able to fail"
    assert spilled < 0.25, f"the spilled table grew by {spilled:.2f} MiB for 10,000 versions"
