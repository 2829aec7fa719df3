"""The `--break CHECK` variants: the reference history without the one property a check guards.

Each value is the one-line description `mltrack seed --help` and error messages print; the full
details are in docs/reference-store.md. The keys are the ten pressure check names, in order.
"""

from __future__ import annotations

from mltrack.errors import UsageError

BREAKS: dict[str, str] = {
    "recovery": "the best run by val_acc logs no random_seed and no git commit",
    "production-model": "no model version has the production alias or the Production stage",
    "multi-user": "every run is logged by one user",
    "data-change": "training runs log data_path but no data_hash",
    "rollback": "no promotion records and no Archived stage: the previous production version is unknown",
    "prediction-audit": "inference runs log no input_data_hash and no predictions_hash",
    "hparam-search": "every training run uses one configuration (learning rate, batch size, optimizer)",
    "long-term-repro": "runs older than 30 days log no python/torch version and keep no run artifacts",
    "artifact-cleanup": "the training run behind registered version 1 is soft-deleted",
    "onboarding": "an extra experiment holds only unnamed, unfinished runs without metrics",
}


def validate_break(name: str | None) -> str | None:
    """Return `name` if it is a known break (or None); raise UsageError listing the valid ones."""
    if name is None or name in BREAKS:
        return name
    raise UsageError(f"unknown --break {name!r}; valid names: {', '.join(BREAKS)}")
