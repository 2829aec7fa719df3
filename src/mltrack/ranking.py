"""The one ranking of runs by a metric, shared by the checks, the leaderboards and the reports.

A run whose metric is NaN or +/-inf diverged: it is never best, never on a leaderboard, never a
top-N run kept by retention. It is not dropped silently either: `rank` returns the diverged runs
beside the ranking so every caller can name them. Ties: newest first, then run id, so the order
is stable across reads of the same store.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mltrack.bounded import Smallest
from mltrack.model import RunRecord


def finite(value: object) -> bool:
    """A metric value that can rank (bools are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def diverged_value(value: object) -> bool:
    """A number that is there but cannot rank: NaN, inf or -inf."""
    return isinstance(value, float) and not math.isfinite(value)


@dataclass(frozen=True)
class Ranking:
    """`rank`'s answer. Unbounded (`top`/`diverged_limit` None): every scored and diverged run.
    Bounded: the best `top` runs and the first `diverged_limit` diverged ones (by run id), with
    the exact counts of both beside them, so a caller streaming a big store keeps only those."""

    best_first: list[RunRecord]  # runs with a finite metric, best first (the best `top` of them)
    diverged: list[RunRecord] = field(default_factory=list)  # NaN / +-inf: never ranked (by run id)
    scored_count: int | None = None  # every run with a finite metric (None: len(best_first))
    diverged_count: int | None = None  # every diverged run (None: len(diverged))

    def __post_init__(self) -> None:
        if self.scored_count is None:
            object.__setattr__(self, "scored_count", len(self.best_first))
        if self.diverged_count is None:
            object.__setattr__(self, "diverged_count", len(self.diverged))

    @property
    def best(self) -> RunRecord | None:
        return self.best_first[0] if self.best_first else None


def rank_key(metric: str, higher_is_better: bool) -> Callable[[RunRecord], tuple[float, int, str]]:
    """The order of the ranking: best value first; ties newest first, then by run id."""
    sign = -1 if higher_is_better else 1
    return lambda r: (sign * r.metrics[metric], -(r.start_time or 0), r.run_id)


def _by_run_id(run: RunRecord) -> str:
    return run.run_id


def rank(runs: Iterable[RunRecord], metric: str, higher_is_better: bool, *,
         top: int | None = None, diverged_limit: int | None = None) -> Ranking:
    """Runs holding a finite `metric`, best first, and the runs whose value diverged. `top` /
    `diverged_limit` keep only the best / first (by run id) of each while counting all, in
    memory bounded by them: the same runs, in the same order, as slicing the full ranking."""
    scored: Smallest[RunRecord] = Smallest(top, rank_key(metric, higher_is_better))
    diverged: Smallest[RunRecord] = Smallest(diverged_limit, _by_run_id)
    for run in runs:
        value = run.metrics.get(metric)
        if finite(value):
            scored.add(run)
        elif diverged_value(value):
            diverged.add(run)
    return Ranking(scored.items(), diverged.items(), scored.count, diverged.count)


def describe_diverged(runs: Iterable[RunRecord], metric: str, limit: int = 5, total: int | None = None) -> str:
    """`trial-3 (val_loss=nan), trial-7 (val_loss=inf)`, the first `limit`, then a count
    (`total`: how many diverged in all, when `runs` holds only the first of them)."""
    runs = list(runs)
    total = len(runs) if total is None else total
    shown = ", ".join(f"{r.name or r.run_id} ({metric}={r.metrics.get(metric)})" for r in runs[:limit])
    return shown + (f" and {total - limit} more" if total > limit else "")


def json_safe(value: Any, path: str = "", notes: list[str] | None = None) -> Any:
    """A copy of `value` with every non-finite float replaced by None (strict JSON has no NaN);
    each replacement is recorded in `notes` as `path: nan` so the report can say what it nulled."""
    if isinstance(value, float) and not math.isfinite(value):
        if notes is not None:
            notes.append(f"{path or '<root>'}: {value}")
        return None
    if isinstance(value, dict):
        return {k: json_safe(v, f"{path}.{k}" if path else str(k), notes) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v, f"{path}[{i}]", notes) for i, v in enumerate(value)]
    return value
