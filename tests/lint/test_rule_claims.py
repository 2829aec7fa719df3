"""Claims the rule docs make about tracking libraries, checked against the installed versions
(MLT011's are in test_unclosed_run_claims.py). A library upgrade that changes one fails here.

- MLT005: `mlflow.autolog()` logs the training dataset (with its digest) unless
  `log_datasets=False` - `mlflow/tracking/fluent.py` `autolog(..., log_datasets: bool = True)`,
  `mlflow/data/dataset.py` (a Dataset carries a digest).
- MLT006: MLflow's fluent `start_run` records the git commit through the context registry
  (`context_registry.resolve_tags`, `mlflow/tracking/context/git_context.py` sets
  `mlflow.source.git.commit`); `MlflowClient.create_run` does not resolve context tags. W&B
  records git state unless `disable_git`.
"""

from __future__ import annotations

import inspect


def test_mlflow_autolog_logs_datasets_by_default() -> None:
    import mlflow
    import mlflow.sklearn
    from mlflow.data.dataset import Dataset

    assert inspect.signature(mlflow.autolog).parameters["log_datasets"].default is True
    assert inspect.signature(mlflow.sklearn.autolog).parameters["log_datasets"].default is True
    assert "digest" in inspect.signature(Dataset.__init__).parameters


def test_fluent_start_run_records_the_commit_and_create_run_does_not() -> None:
    from mlflow.tracking import fluent
    from mlflow.tracking._tracking_service.client import TrackingServiceClient
    from mlflow.tracking.context import git_context, registry

    assert "context_registry.resolve_tags" in inspect.getsource(fluent.start_run)
    assert "MLFLOW_GIT_COMMIT: get_git_commit(" in inspect.getsource(git_context)
    assert any(isinstance(p, git_context.GitRunContext)
               for p in registry._run_context_provider_registry)
    assert "resolve_tags" not in inspect.getsource(TrackingServiceClient.create_run)


def test_wandb_git_capture_can_be_disabled() -> None:
    import wandb

    assert wandb.Settings().disable_git is False
    assert wandb.Settings(disable_git=True).disable_git is True
