"""`mltrack rollback` with no policy finds the production alias the way the checks do (issue 14
follow-up): a registry written by plain MLflow that serves from `@champion` is rolled back by
moving `@champion`, and the output says what was assumed. `--alias` and a policy's
`production_alias` still win. A model with a single version is "nothing to roll back to".

The store: a fresh sqlite registry per test, written by `_build` below with MLflow only (the
plain-MLflow helpers of fixtures/stores/_registry_history.py): `churn-model` v1 then v2, each
promoted with `set_registered_model_alias(..., "champion", ...)` (MLflow's docs' own name), so
`@champion` -> v2; `solo-model` has one version, `@champion` -> v1. No stage, no mltrack tag.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrack.cli import main
from mltrack.pressure.policy import Policy
from mltrack.pressure.runner import run_checks
from tests.support.dump import assert_unchanged, dump_store
from tests.support.stores import empty_database

MODEL, SOLO = "churn-model", "solo-model"


def _build(tracking_uri: str, artifact_root: str) -> None:
    """Plain MLflow: train, register, promote by the `champion` alias."""
    from mlflow.tracking import MlflowClient

    from fixtures.stores._registry_history import train_and_register, training_experiment

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiment_id = training_experiment(client, "churn-training", artifact_root)
    for name, count in ((MODEL, 2), (SOLO, 1)):
        client.create_registered_model(name)
        for index in range(1, count + 1):
            version = train_and_register(client, experiment_id, name, index=index, days_ago=30 - 10 * index,
                                         user="dana")[1]
            client.set_registered_model_alias(name, "champion", version)


class Store:
    def __init__(self, folder: Path) -> None:
        self.db, self.artifacts = folder / "mlflow.db", folder / "artifacts"
        self.uri = f"sqlite:///{self.db}"

    def dump(self):
        return dump_store(self.db, self.artifacts)

    def aliases(self, model: str = MODEL) -> dict[str, str]:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return {k: str(v) for k, v in client.get_registered_model(model).aliases.items()}

    def rollback(self, *args: str, model: str = MODEL, input: str | None = None):
        return CliRunner().invoke(main, ["rollback", "--tracking-uri", self.uri, "--model", model, *args],
                                  input=input)


@pytest.fixture
def store(seeded_root: Path, tmp_path: Path) -> Store:
    shutil.copy2(empty_database(seeded_root), tmp_path / "mlflow.db")
    built = Store(tmp_path)
    _build(built.uri, str(built.artifacts))
    return built


def test_dry_run_names_the_inferred_alias_and_changes_nothing(store: Store) -> None:
    before = store.dump()
    result = store.rollback("--to", "1", input="n\n")  # declined at the prompt: the plan only
    assert result.exit_code == 1, result.output
    assert "alias 'champion'" in result.output, result.output
    assert "Assumed production_alias = champion: the alias found in the registry" in result.output
    assert "override with `production_alias` or --alias" in result.output
    assert "alias 'champion': version 2 -> version 1" in result.output
    assert_unchanged(before, store.dump())


def test_rollback_moves_the_inferred_alias(store: Store) -> None:
    result = store.rollback("--to", "1", "--yes")
    assert result.exit_code == 0, result.output
    assert store.aliases() == {"champion": "1"}  # no `production` alias invented


def test_explicit_alias_wins_over_the_inferred_one(store: Store) -> None:
    before = store.dump()
    result = store.rollback("--to", "1", "--yes", "--alias", "production")
    assert result.exit_code == 2 and "has no alias 'production'" in result.output, result.output
    assert "Assumed" not in result.output
    assert_unchanged(before, store.dump())


def test_policy_alias_wins_over_the_inferred_one(store: Store, tmp_path: Path) -> None:
    config = tmp_path / "policy.toml"
    config.write_text('production_alias = "production"\n', encoding="utf-8")
    before = store.dump()
    result = store.rollback("--to", "1", "--yes", "--config", str(config))
    assert result.exit_code == 2 and "no 'production' alias" in result.output, result.output
    assert_unchanged(before, store.dump())


def test_a_single_version_is_nothing_to_roll_back_to(store: Store) -> None:
    before = store.dump()
    result = store.rollback("--yes", model=SOLO)
    assert result.exit_code == 2, result.output
    assert "has only one version (v1): nothing to roll back to" in result.output, result.output
    assert "cannot be identified" not in result.output
    assert_unchanged(before, store.dump())
    check = run_checks(store.uri, Policy(registered_models=(SOLO,)), ["rollback"]).result("rollback")
    assert check.status.value == "fail", check.message
    assert "'solo-model' has only one version (v1, production by alias @champion): nothing to roll back to" \
        in check.message, check.message
    assert "cannot be identified" not in check.message
