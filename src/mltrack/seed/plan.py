"""The reference history as data: which runs, by whom, when, and which become model versions.

Pure (no tracker, no torch): `search_configs` says what to train; once trained,
`build_timeline` places the runs on the last eight months from their real `val_acc`, so the best
run is recent and becomes production. docs/reference-store.md describes the result.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from mltrack.seed.recipe import TrainConfig

USERS = ("alice", "bob", "carol")
LEARNING_RATES = (0.003, 0.01, 0.03, 0.1, 0.3)
BATCH_SIZES = (16, 32, 64)
OPTIMIZERS = ("sgd", "adam")
EPOCHS = 6
ARCHITECTURE = "mlp-8-32-3"
BASE_SEED = 1000
MIN_RUNS = 12
# The one configuration of the `hparam-search` break.
FIXED_CONFIG = (0.01, 32, "adam")

# Timeline, in days before the seeding: v1 search, then v2 search; promotions in between.
V1_WINDOW = (240.0, 110.0)
V2_WINDOW = (100.0, 4.0)
RUN_MINUTES_PER_EPOCH = 0.5
INFERENCE_PER_VERSION = 4
CHECKPOINT_RUNS = 3  # old v1 runs that keep a checkpoint per epoch (artifact-cleanup material)


@dataclass(frozen=True)
class Slot:
    """One training run placed in time."""

    index: int  # position in the search (the order configs were trained)
    config: TrainConfig
    user: str
    start: datetime
    end: datetime
    every_epoch_checkpoints: bool = False
    keep: bool = False

    @property
    def name(self) -> str:
        cfg = self.config
        return (f"search-{self.index:03d}-{cfg.data_version}-{cfg.optimizer}"
                f"-lr{cfg.learning_rate:g}-bs{cfg.batch_size}")


@dataclass(frozen=True)
class Promotion:
    version: int  # registered model version (1, 2, 3)
    run_index: int  # the training run it was registered from
    promoted_at: datetime
    retired_at: datetime | None  # None: still in production


@dataclass(frozen=True)
class InferenceSlot:
    version: int
    at: datetime
    user: str
    batch: int  # which slice of the inference requests file


@dataclass(frozen=True)
class Timeline:
    slots: tuple[Slot, ...]  # in time order
    promotions: tuple[Promotion, ...]  # v1, v2, v3 in promotion order
    inferences: tuple[InferenceSlot, ...]
    best_indexes: frozenset[int]  # every run tied for the best val_acc


def search_configs(runs: int, single_config: bool = False) -> list[TrainConfig]:
    """`runs` configs: half on v1, half on v2, over a shuffled learning-rate x batch x optimizer grid."""
    grid = list(itertools.product(LEARNING_RATES, BATCH_SIZES, OPTIMIZERS))
    random.Random(BASE_SEED).shuffle(grid)  # fixed order: the first dozen already vary everything
    configs = []
    for index in range(runs):
        version = "v1" if index < runs // 2 else "v2"
        position = index if version == "v1" else index - runs // 2
        lr, batch, optimizer = FIXED_CONFIG if single_config else grid[position % len(grid)]
        configs.append(TrainConfig(lr, batch, EPOCHS, optimizer, ARCHITECTURE,
                                   BASE_SEED + position // len(grid) + (index if single_config else 0),
                                   version))
    return configs


def _spread(count: int, window: tuple[float, float], now: datetime) -> list[datetime]:
    first, last = window
    step = (first - last) / max(count - 1, 1)
    # Whole seconds: times then differ from `now` by exact offsets, whenever the seeding runs.
    return [now - timedelta(seconds=round((first - step * i) * 86400)) for i in range(count)]


def build_timeline(configs: list[TrainConfig], val_accs: list[float], now: datetime,
                   single_user: bool = False) -> Timeline:
    """Place trained runs in time. The best v2 run goes last (it becomes production v3)."""
    v1 = [i for i, c in enumerate(configs) if c.data_version == "v1"]
    v2 = [i for i, c in enumerate(configs) if c.data_version == "v2"]
    best_value = max(val_accs)
    best = frozenset(i for i, acc in enumerate(val_accs) if acc == best_value)
    # Every run tied for the best goes to the end of the v2 search, the champion last, so "our
    # best run" is recent whichever of the tied runs a reader picks.
    champion = max(v2, key=lambda i: (val_accs[i], -i))
    tied = sorted((i for i in v2 if i in best and i != champion), reverse=True)
    v2 = [i for i in v2 if i not in best and i != champion] + tied + [champion]
    first_half = v2[: len(v2) // 2]
    source_v1 = max(v1, key=lambda i: (val_accs[i], -i))
    source_v2 = max(first_half, key=lambda i: (val_accs[i], -i))

    starts = dict(zip(v1, _spread(len(v1), V1_WINDOW, now)))
    starts.update(zip(v2, _spread(len(v2), V2_WINDOW, now)))
    duration = timedelta(minutes=RUN_MINUTES_PER_EPOCH * EPOCHS)
    plain_v1 = [i for i in v1 if i != source_v1]
    checkpointed = set(plain_v1[:CHECKPOINT_RUNS])
    kept = plain_v1[CHECKPOINT_RUNS] if len(plain_v1) > CHECKPOINT_RUNS else None
    slots = tuple(
        Slot(i, configs[i], USERS[0] if single_user else USERS[i % len(USERS)], starts[i],
             starts[i] + duration, i in checkpointed, i == kept)
        for i in sorted(starts, key=starts.__getitem__)
    )
    day = timedelta(days=1)
    promoted = [starts[v1[-1]] + day, starts[first_half[-1]] + day, starts[champion] + day]
    promotions = (
        Promotion(1, source_v1, promoted[0], promoted[1]),
        Promotion(2, source_v2, promoted[1], promoted[2]),
        Promotion(3, champion, promoted[2], None),
    )
    inferences: list[InferenceSlot] = []
    for promotion in promotions:
        until = promotion.retired_at or now
        gap = (until - promotion.promoted_at).total_seconds() / (INFERENCE_PER_VERSION + 1)
        for k in range(1, INFERENCE_PER_VERSION + 1):
            batch = len(inferences)
            user = USERS[0] if single_user else USERS[batch % len(USERS)]
            at = promotion.promoted_at + timedelta(seconds=round(gap * k))
            inferences.append(InferenceSlot(promotion.version, at, user, batch))
    return Timeline(slots, promotions, tuple(inferences), best)
