"""Where teams really put things: every name mltrack accepts for one fact, in one place.

A seed is `random_seed` in the reference runs, `seed` in most scripts, `random_state` in
scikit-learn autolog, and sometimes only inside autolog's `estimator` param text
(`RandomForestRegressor(random_state=7)`). The checks, the conventions (the policy's default
synonyms) and the reports all read these lists; a new synonym is added here and nowhere else.
Names are param or tag keys, compared exactly (MLflow keys are case-sensitive).

This module imports nothing from mltrack: `conventions` builds its defaults from it.
"""

from __future__ import annotations

import re

# --- Hyperparameters and reproduction fields (param or tag keys) --------------------------------
LEARNING_RATE = ("learning_rate", "lr", "learning-rate", "learningrate")
BATCH_SIZE = ("batch_size", "batch-size", "batchsize", "bs")
OPTIMIZER = ("optimizer", "optim", "optimizer_name")
# scikit-learn (and its autolog) calls the seed `random_state`; "None" there means unseeded.
SEED = ("random_seed", "seed", "rng_seed", "random_state")
# MLflow sets `mlflow.source.git.commit` on every run started inside a git checkout.
GIT_COMMIT = ("git_commit", "commit", "git_sha", "mlflow.source.git.commit", "git_hash",
              "commit_sha", "git_revision")
DATA_HASH = ("data_hash", "dataset_hash", "data_sha256", "data_digest", "dataset_digest")

# --- Data named without a hash: it says which data, not which bytes ------------------------------
# Paths: the file behind a path can change silently (Lightning's `data_dir`, HF's `dataset_name`).
DATA_PATHS = ("data_path", "dataset_path", "data_dir", "data_file", "train_path", "data_uri",
              "data_root", "train_file", "train_data", "dataset_dir")
# Version or name labels: a reference to the data, not a proof of its content.
DATA_LABELS = ("data_version", "dataset", "dataset_name", "dataset_version")
DATA_REFERENCES = DATA_LABELS[:2] + DATA_PATHS + DATA_LABELS[2:]

# --- The environment ----------------------------------------------------------------------------
PYTHON_VERSION = ("python_version", "python", "py_version", "python.version", "sys.version")
TORCH_VERSION = ("torch_version", "torch", "pytorch_version", "torch.version")
# Files MLflow writes beside every model it logs (mlflow.<flavor>.save_model): each pins the
# environment the model was trained in (python_env.yaml: the Python version; the others: the
# libraries).
ENVIRONMENT_FILES = ("python_env.yaml", "conda.yaml", "requirements.txt")

# --- Searches -------------------------------------------------------------------------------------
# scikit-learn autolog logs a GridSearchCV/RandomizedSearchCV parent's winning configuration
# as `best_<param>`; Optuna-style callbacks do the same. These are results, not settings.
BEST_PREFIX = "best_"
# Params holding an estimator's repr (scikit-learn autolog: `estimator`, `base_estimator`).
ESTIMATOR_PARAMS = ("estimator", "base_estimator")

# --- Inference runs (prediction-audit) -----------------------------------------------------------
# The hash of the data an inference run scored, and of the predictions it wrote (params or tags);
# an inference run's `data_hash` is its input's.
INPUT_HASH = ("input_data_hash", "input_hash", "input_sha256", "input_digest", "inputs_hash",
              "data_hash", "dataset_hash", "dataset_digest")
PREDICTIONS_HASH = ("predictions_hash", "output_hash", "predictions_sha256", "predictions_digest",
                    "output_sha256", "output_digest")
TRAINING_RUN_ID = ("training_run_id", "source_run_id", "train_run_id")
# The registered model an inference run loaded, when it logged no `models:/` URI.
MODEL_NAME = ("model_name", "registered_model_name", "registered_model", "model.name")
MODEL_VERSION = ("model_version", "registered_model_version", "model.version", "version")

# --- MLflow's own records ---------------------------------------------------------------------
TAG_GIT_COMMIT = "mlflow.source.git.commit"
TAG_SOURCE_NAME = "mlflow.source.name"
TAG_PARENT_RUN = "mlflow.parentRunId"
TAG_LOG_MODEL_HISTORY = "mlflow.log-model.history"
TAG_DATASET_CONTEXT = "mlflow.data.context"
# Dataset input contexts that mean "trained on this" (MLflow's autolog writes "train").
TRAINING_CONTEXTS = ("training", "train", "")

# Values that mean "not set" in a param (MLflow stores None as the text "None").
UNSET = frozenset({"", "None", "none", "null", "nan"})

_SEED_IN_TEXT = re.compile(r"\b(?:random_state|seed|random_seed)\s*=\s*(-?\d+)\b")


def seed_in_text(text: str | None) -> str | None:
    """The integer seed written inside an estimator's repr, e.g. `RandomForestRegressor(
    n_estimators=5, random_state=7)` -> "7"; None when there is none (or `random_state=None`)."""
    match = _SEED_IN_TEXT.search(text or "")
    return match.group(1) if match else None
