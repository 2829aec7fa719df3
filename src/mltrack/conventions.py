"""Names the reference runs write and the pressure checks read (the defaults of the policy).

One place, so the seeder, the W&B seeder, the checks, rollback and cleanup agree. Users with
other conventions change the policy in `[tool.mltrack]`, not this file.
"""

from __future__ import annotations

from mltrack import synonyms

REFERENCE_EXPERIMENT = "mltrack-reference"
INFERENCE_EXPERIMENT = "mltrack-reference-inference"
REGISTERED_MODEL = "mltrack-reference-classifier"
PRODUCTION_ALIAS = "production"
METRIC = "val_acc"
METRIC_GOAL = "max"  # or "min"

# Parameters every reference training run logs.
PARAM_LEARNING_RATE = "learning_rate"
PARAM_BATCH_SIZE = "batch_size"
PARAM_EPOCHS = "epochs"
PARAM_OPTIMIZER = "optimizer"
PARAM_ARCHITECTURE = "model_architecture"
PARAM_SEED = "random_seed"
PARAM_GIT_COMMIT = "git_commit"
PARAM_GIT_DIRTY = "git_dirty"
PARAM_DATA_HASH = "data_hash"
PARAM_DATA_VERSION = "data_version"
PARAM_PYTHON_VERSION = "python_version"
PARAM_TORCH_VERSION = "torch_version"

# Required reproduction fields and the synonyms that count for them (a param or a tag); the
# lists live in mltrack.synonyms. MLflow's own records count beside them (mltrack.run_facts: a
# dataset input's digest is a data hash, a seed inside autolog's `estimator` param is a seed).
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    PARAM_LEARNING_RATE: synonyms.LEARNING_RATE,
    PARAM_BATCH_SIZE: synonyms.BATCH_SIZE,
    PARAM_OPTIMIZER: synonyms.OPTIMIZER,
    PARAM_SEED: synonyms.SEED,
    PARAM_GIT_COMMIT: synonyms.GIT_COMMIT,
    PARAM_DATA_HASH: synonyms.DATA_HASH,
}
# Environment fields (long-term-repro) and their synonyms.
ENVIRONMENT_FIELDS: dict[str, tuple[str, ...]] = {
    PARAM_PYTHON_VERSION: synonyms.PYTHON_VERSION,
    PARAM_TORCH_VERSION: synonyms.TORCH_VERSION,
}

# Inference runs: lineage fields (params or tags).
INFERENCE_FIELDS = (
    "model_name",
    "model_version",
    "input_data_hash",
    "predictions_hash",
    "inference_timestamp",
    "training_run_id",
)

# Run tags.
TAG_USER = "mlflow.user"
TAG_RUN_TYPE = "mltrack.run_type"  # "training" | "inference"
RUN_TYPE_TRAINING = "training"
RUN_TYPE_INFERENCE = "inference"
TAG_KEEP = "mltrack.keep"  # "true": never clean up this run
TAG_GIT_COMMIT = synonyms.TAG_GIT_COMMIT
# The exact command line that re-creates the run (reports show it as "how to reproduce").
TAG_COMMAND = "mltrack.command"

# Promotion records. MLflow keeps no alias history, so every promotion is written down:
# - on each model version: `mltrack.production_since` / `mltrack.production_until` (ISO 8601 UTC);
# - on the registered model: `mltrack.promotions`, a JSON list, oldest first, of
#   {"version": "3", "alias": "production", "promoted_at": ISO, "previous": "2" | null, "by": user};
#   `mltrack rollback` writes one record per tag instead, `mltrack.promotion.<stamp>.<id>`.
# How the previous production version follows from them: `mltrack.promotions` (an Archived
# stage is not evidence).
TAG_PRODUCTION_SINCE = "mltrack.production_since"
TAG_PRODUCTION_UNTIL = "mltrack.production_until"
TAG_PROMOTIONS = "mltrack.promotions"

# Version tags the reference registration writes.
VERSION_TAG_METRIC = "val_acc"
VERSION_TAG_DATA_VERSION = "data_version"
VERSION_TAG_RUN_ID = "run_id"
