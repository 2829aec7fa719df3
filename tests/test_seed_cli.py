"""`mltrack seed` on the command line: exit codes, one-line errors, refusal, --force."""

from __future__ import annotations

import time
from pathlib import Path

from click.testing import CliRunner

from mltrack.cli import main
from mltrack.seed.breaks import BREAKS
from tests.support.dump import assert_unchanged, dump_store
from tests.support.stores import SeededStore, copy_store


def _invoke(*args: str):
    return CliRunner().invoke(main, ["seed", *args])


def test_unknown_break_lists_the_valid_names(tmp_path: Path) -> None:
    result = _invoke("--tracking-uri", f"sqlite:///{tmp_path}/x.db", "--break", "nope")
    assert result.exit_code == 2
    assert "unknown --break 'nope'" in result.output
    assert all(name in result.output for name in BREAKS)
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "x.db").exists()


def test_break_names_are_the_ten_checks_in_order() -> None:
    assert list(BREAKS) == ["recovery", "production-model", "multi-user", "data-change", "rollback",
                            "prediction-audit", "hparam-search", "long-term-repro",
                            "artifact-cleanup", "onboarding"]


def test_unreachable_server_fails_fast_with_credentials_redacted() -> None:
    started = time.monotonic()
    result = _invoke("--tracking-uri", "http://alice:s3cret@127.0.0.1:9/")
    assert time.monotonic() - started < 10
    assert result.exit_code == 2
    assert "s3cret" not in result.output and "alice:***@127.0.0.1:9" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_malformed_uris_exit_2(tmp_path: Path) -> None:
    for uri in ("nope://x", "http://", f"sqlite:///{tmp_path}/missing-dir/x.db", "wandb://a/b"):
        result = _invoke("--tracking-uri", uri)
        assert result.exit_code == 2, (uri, result.output)
        assert result.output.startswith("mltrack: error:") and len(result.output.strip().splitlines()) == 1


def test_too_few_runs_is_a_usage_error(tmp_path: Path) -> None:
    result = _invoke("--tracking-uri", f"sqlite:///{tmp_path}/x.db", "--runs", "5")
    assert result.exit_code == 2 and "at least 12" in result.output


def test_refuses_a_seeded_store_and_touches_nothing(small_reference_store: SeededStore,
                                                   tmp_path: Path) -> None:
    store = copy_store(small_reference_store, tmp_path / "copy")
    before = dump_store(store.db_path, store.artifacts_dir)
    result = _invoke("--tracking-uri", store.uri, "--runs", "12")
    assert result.exit_code == 2
    assert "already holds the reference experiment" in result.output and "--force" in result.output
    assert_unchanged(before, dump_store(store.db_path, store.artifacts_dir))


def test_force_replaces_the_reference_history(small_reference_store: SeededStore, tmp_path: Path) -> None:
    from mlflow import MlflowClient

    from mltrack import conventions as cv

    store = copy_store(small_reference_store, tmp_path / "copy")
    result = _invoke("--tracking-uri", store.uri, "--runs", "12", "--force")
    assert result.exit_code == 0, result.output
    assert "training runs:    12 by alice, bob, carol" in result.output
    assert "production: 3, previous: 2" in result.output
    client = MlflowClient(tracking_uri=store.uri, registry_uri=store.uri)
    experiment = client.get_experiment_by_name(cv.REFERENCE_EXPERIMENT)
    assert len(client.search_runs([experiment.experiment_id], max_results=100)) == 12
    versions = client.search_model_versions(f"name = '{cv.REGISTERED_MODEL}'")
    assert sorted(str(v.version) for v in versions) == ["1", "2", "3"]
