"""The `--break CHECK` plan: for each pressure check, what the seeded store lacks so that check fails.

One table, read by both seeders (`seeder.py` for MLflow, `wandb_seeder.py` for W&B): a
`BreakPlan` says *what* the history lacks (which runs lose which fields, what the registry does
not record, what is deleted or added afterwards); each seeder only translates it into its
tracker's writes. `REFERENCE` lacks nothing. Every break changes exactly one field of the plan
and every field belongs to exactly one break (tests/test_seed_break_plan.py), so a new check
needs one new field here and one entry in `PLANS`. docs/reference-store.md describes the stores.

No torch or tracker import here: `mltrack seed --break typo` answers before loading either.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from mltrack.errors import UsageError

if TYPE_CHECKING:
    from mltrack.seed.plan import Slot, Timeline

OLD_RUN_DAYS = 30  # long-term-repro: the age after which a run loses its environment and artifacts


@dataclass(frozen=True)
class Omissions:
    """What a `--break` leaves out of one training run."""

    seed_and_commit: bool = False  # recovery
    data_hash: bool = False  # data-change
    environment_and_artifacts: bool = False  # long-term-repro


@dataclass(frozen=True)
class BreakPlan:
    """What the seeded history lacks (defaults: nothing). `description` is the one line
    `mltrack seed --help` prints; every other field is one property a check guards."""

    description: str = "the complete reference history"
    # The search and who ran it.
    one_configuration: bool = False  # hparam-search: every run trains plan.FIXED_CONFIG
    one_user: bool = False  # multi-user: every run (training and inference) by plan.USERS[0]
    # Fields of training runs.
    best_runs_lose_seed_and_commit: bool = False  # recovery: every run tied for the best val_acc
    runs_lose_data_hash: bool = False  # data-change: data_path stays, data_hash goes
    old_runs_lose_environment_after_days: int | None = None  # long-term-repro: also no artifacts
    # The registry.
    production_alias: bool = True  # production-model: no production alias, no Production stage
    promotion_records: bool = True  # rollback: no promotion history, no Archived stage
    # Inference runs.
    inference_hashes: bool = True  # prediction-audit: no input_data_hash / predictions_hash
    # After the history is written.
    delete_first_version_run: bool = False  # artifact-cleanup: the run behind version 1
    scratch_runs: bool = False  # onboarding: an extra experiment of unnamed, unfinished runs

    def omissions(self, slot: Slot, timeline: Timeline, now: datetime) -> Omissions:
        """What this plan leaves out of the training run in `slot`."""
        days = self.old_runs_lose_environment_after_days
        return Omissions(
            seed_and_commit=self.best_runs_lose_seed_and_commit and slot.index in timeline.best_indexes,
            data_hash=self.runs_lose_data_hash,
            environment_and_artifacts=days is not None and slot.start < now - timedelta(days=days),
        )


REFERENCE = BreakPlan()

# Keyed by check name, in the registry's order (MLP01-MLP10).
PLANS: dict[str, BreakPlan] = {
    "recovery": replace(
        REFERENCE, description="the best run by val_acc logs no random_seed and no git commit",
        best_runs_lose_seed_and_commit=True),
    "production-model": replace(
        REFERENCE, description="no model version has the production alias or the Production stage",
        production_alias=False),
    "multi-user": replace(REFERENCE, description="every run is logged by one user", one_user=True),
    "data-change": replace(
        REFERENCE, description="training runs log data_path but no data_hash", runs_lose_data_hash=True),
    "rollback": replace(
        REFERENCE, promotion_records=False,
        description="no promotion records and no Archived stage: the previous production version is unknown"),
    "prediction-audit": replace(
        REFERENCE, description="inference runs log no input_data_hash and no predictions_hash",
        inference_hashes=False),
    "hparam-search": replace(
        REFERENCE, one_configuration=True,
        description="every training run uses one configuration (learning rate, batch size, optimizer)"),
    "long-term-repro": replace(
        REFERENCE, old_runs_lose_environment_after_days=OLD_RUN_DAYS,
        description=f"runs older than {OLD_RUN_DAYS} days log no python/torch version and keep no run artifacts"),
    "artifact-cleanup": replace(
        REFERENCE, description="the training run behind registered version 1 is soft-deleted",
        delete_first_version_run=True),
    "onboarding": replace(
        REFERENCE, description="an extra experiment holds only unnamed, unfinished runs without metrics",
        scratch_runs=True),
}

# The one-line descriptions (`mltrack seed --help`, the seed summary line).
BREAKS: dict[str, str] = {name: plan.description for name, plan in PLANS.items()}


def changed_fields(plan: BreakPlan) -> tuple[str, ...]:
    """The fields in which `plan` differs from REFERENCE (the description aside)."""
    return tuple(f.name for f in fields(BreakPlan)
                 if f.name != "description" and getattr(plan, f.name) != getattr(REFERENCE, f.name))


def validate_break(name: str | None) -> str | None:
    """Return `name` if it is a known break (or None); raise UsageError listing the valid ones."""
    if name is None or name in PLANS:
        return name
    raise UsageError(f"unknown --break {name!r}; valid names: {', '.join(PLANS)}")


def plan_for(name: str | None) -> BreakPlan:
    """The plan of `--break name` (REFERENCE for None); UsageError for an unknown name."""
    return REFERENCE if validate_break(name) is None else PLANS[name]  # type: ignore[index]
