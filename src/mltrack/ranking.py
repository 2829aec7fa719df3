"""The one ranking of runs by a metric, shared by the checks, the leaderboards and the reports.

A run whose metric is NaN or +/-inf diverged: it is never best, never on a leaderboard, never a
top-N run kept by retention. It is not dropped silently either: `rank` returns the diverged runs
beside the ranking so every caller can name them. Ties: newest first, then run id, so the order
is stable across reads of the same store.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mltrack.model import RunRecord


def finite(value: object) -> bool:
    """A metric value that can rank (bools are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def diverged_value(value: object) -> bool:
    """A number that is there but cannot rank: NaN, inf or -inf."""
    return isinstance(value, float) and not math.isfinite(value)


@dataclass(frozen=True)
class Ranking:
    best_first: list[RunRecord]  # runs with a finite metric, best first
    diverged: list[RunRecord] = field(default_factory=list)  # NaN / +-inf: never ranked

    @property
    def best(self) -> RunRecord | None:
        return self.best_first[0] if self.best_first else None


def rank(runs: Iterable[RunRecord], metric: str, higher_is_better: bool) -> Ranking:
    """Runs holding a finite `metric`, best first, and the runs whose value diverged."""
    scored: list[RunRecord] = []
    diverged: list[RunRecord] = []
    for run in runs:
        value = run.metrics.get(metric)
        if finite(value):
            scored.append(run)
        elif diverged_value(value):
            diverged.append(run)
    sign = -1 if higher_is_better else 1
    scored.sort(key=lambda r: (sign * r.metrics[metric], -(r.start_time or 0), r.run_id))
    diverged.sort(key=lambda r: r.run_id)
    return Ranking(scored, diverged)


def describe_diverged(runs: Iterable[RunRecord], metric: str, limit: int = 5) -> str:
    """`trial-3 (val_loss=nan), trial-7 (val_loss=inf)`, the first `limit`, then a count."""
    runs = list(runs)
    shown = ", ".join(f"{r.name or r.run_id} ({metric}={r.metrics.get(metric)})" for r in runs[:limit])
    return shown + (f" and {len(runs) - limit} more" if len(runs) > limit else "")


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
