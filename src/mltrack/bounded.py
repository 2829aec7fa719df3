"""Bounded summaries of a stream of runs: what a consumer keeps instead of a list of them.

A snapshot's runs are a stream (mltrack.model.RunTable; a big store's records are decoded one at
a time from disk), so the checks and the retention plan never hold all of them. They keep counts,
and these two:

- `Smallest(k, key)`: the `k` smallest items by `key`, exactly `sorted(items, key=key)[:k]`
  (stable: ties keep the order the items came in), and how many items were offered;
- `First(k)`: the first `k` items in order (today's evidence lists are the first 20), and how
  many there were.

Both hold at most 2·k + 1 items at any time, whatever the length of the stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Smallest(Generic[T]):
    """The `k` smallest items by `key`, in order, and the count of every item offered."""

    __slots__ = ("k", "key", "count", "_kept", "_seq")

    def __init__(self, k: int | None, key: Callable[[T], Any]) -> None:
        self.k = k  # None: keep everything (a caller that asks for the whole order)
        self.key = key
        self.count = 0
        self._kept: list[tuple[Any, int, T]] = []
        self._seq = 0  # arrival order: breaks ties exactly as a stable sort does

    def add(self, item: T) -> None:
        self.count += 1
        if self.k == 0:
            return
        self._seq += 1
        self._kept.append((self.key(item), self._seq, item))
        if self.k is not None and len(self._kept) > 2 * self.k:  # records are KiBs: keep few
            self._prune()

    def extend(self, items: Iterable[T]) -> Smallest[T]:
        for item in items:
            self.add(item)
        return self

    def _prune(self) -> None:
        self._kept.sort(key=lambda entry: entry[:2])
        del self._kept[self.k:]

    def items(self) -> list[T]:
        """The kept items, smallest first."""
        self._kept.sort(key=lambda entry: entry[:2])
        if self.k is not None:
            del self._kept[self.k:]
        return [item for _, _, item in self._kept]

    def __len__(self) -> int:
        return self.count


class First(Generic[T]):
    """The first `k` items in the order they came, and the count of every item offered."""

    __slots__ = ("k", "count", "kept")

    def __init__(self, k: int) -> None:
        self.k = k
        self.count = 0
        self.kept: list[T] = []

    def add(self, item: T) -> None:
        self.count += 1
        if len(self.kept) < self.k:
            self.kept.append(item)

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0


class ExactMean:
    """`statistics.mean` of a stream of ints and floats, to the last bit, without the list:
    the exact sum (partial numerators per power-of-two denominator, as `statistics` keeps them),
    divided once at the end and converted the way `statistics.mean` converts (an int when every
    value is an int and the mean is whole, else a float)."""

    __slots__ = ("count", "_partials", "_floats")

    def __init__(self) -> None:
        self.count = 0
        self._partials: dict[int, int] = {}
        self._floats = False

    def add(self, value: float) -> None:
        self.count += 1
        self._floats = self._floats or isinstance(value, float)
        numerator, denominator = value.as_integer_ratio()
        self._partials[denominator] = self._partials.get(denominator, 0) + numerator

    def value(self) -> float | None:
        """The mean (None when nothing was added)."""
        if not self.count:
            return None
        from fractions import Fraction

        exact = sum((Fraction(n, d) for d, n in self._partials.items()), Fraction(0)) / self.count
        if not self._floats and exact.denominator == 1:
            return int(exact)  # type: ignore[return-value]  # as statistics.mean([1, 3]) == 2
        return float(exact)
