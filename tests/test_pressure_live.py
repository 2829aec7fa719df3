"""The ten checks against real seeded stores: direct sqlite and a real `mlflow server` over HTTP.

Proves: all ten pass on the complete reference store (both ways) and leave it byte-for-byte
unchanged; each `--break` store fails exactly its check, naming what is missing; a server that
dies mid-run turns the remaining checks into `error` within the timeout; unknown names in the
policy are usage errors; the rollback drill leaves no sandbox behind.
"""

from __future__ import annotations

import time

import pytest

from mltrack.errors import ConfigError, EXIT_USAGE
from mltrack.model import Status
from mltrack.pressure.policy import Policy
from mltrack.pressure.registry import CHECKS
from mltrack.pressure.registry import get as get_check
from mltrack.pressure.runner import run_checks
from tests.support.dump import assert_unchanged, dump_store
from tests.support.mlflow_server import start_mlflow_server
from tests.support.stores import copy_store, expected_verdicts

pytest.importorskip("torch")


def statuses(outcome) -> dict[str, str]:
    return {r.name: r.status.value for r in outcome.results}


def test_reference_store_passes_over_sqlite_and_is_unchanged(reference_store):
    before = dump_store(reference_store.db_path, reference_store.artifacts_dir)
    outcome = run_checks(reference_store.uri, Policy())  # no policy key set: zero configuration
    assert statuses(outcome) == {c.name: "pass" for c in CHECKS}, [r.message for r in outcome.results]
    assert outcome.policy.metric == "val_acc" and outcome.assumptions
    assert outcome.server_version and len(outcome.snapshot.runs) >= 130
    assert_unchanged(before, dump_store(reference_store.db_path, reference_store.artifacts_dir))
    # the evidence is real: the production model was downloaded and its pt2 archive's tensor
    # table read, without running it (tests/test_model_safety.py covers the opt-in load)
    prod = outcome.result("production-model").evidence["models"][0]
    assert prod["version"] == "3" and prod["load"]["verified"] and not prod["load"]["loaded"]
    assert prod["load"]["verified_by"] == "static" and prod["load"]["weights"][0]["format"] == "pt2 archive"


def test_reference_store_passes_over_http_and_is_unchanged(reference_store, tmp_path):
    store = copy_store(reference_store, tmp_path / "store")
    server = start_mlflow_server(store.uri, tmp_path / "served", tmp_path)
    try:
        before = dump_store(store.db_path, store.artifacts_dir)
        outcome = run_checks(server.url, Policy())
        assert statuses(outcome) == {c.name: "pass" for c in CHECKS}, [r.message for r in outcome.results]
        assert outcome.snapshot.uri == server.url
        assert_unchanged(before, dump_store(store.db_path, store.artifacts_dir))
    finally:
        server.stop()


# What each break's failure must name (docs/reference-store.md).
EXPECTED = {
    "recovery": ["random_seed", "git_commit"],
    "production-model": ["mltrack-reference-classifier"],
    "multi-user": ["only 1 user"],
    "data-change": ["no data hash", "data path"],
    "rollback": ["previous production version cannot be identified"],
    # predictions.csv still names the output (MLflow's own record); the input has no identity left
    "prediction-audit": ["no input identity", "input_data_hash"],
    "hparam-search": ["no hyperparameter varied"],
    "long-term-repro": ["python_version", "torch_version", "artifacts"],
    "artifact-cleanup": ["protected run", "registered version mltrack-reference-classifier v1"],
    "onboarding": ["mltrack-reference-scratch", "no finished runs"],
}


# Every break, live (the shared break stores are seeded once per test session).
@pytest.mark.parametrize("broken", list(EXPECTED))
def test_each_break_fails_exactly_its_check(break_store, broken):
    store = break_store(broken)
    outcome = run_checks(store.uri, Policy())  # no policy key set: zero configuration
    assert {a.key for a in outcome.assumptions} >= {"experiments", "metric", "registered_models"}
    expected = expected_verdicts(broken, [c.name for c in CHECKS])
    assert statuses(outcome) == expected, [(r.name, r.message) for r in outcome.results if r.status != "pass"]
    failed = outcome.result(broken)
    for words in EXPECTED[broken]:
        assert words in failed.message, failed.message
    if broken == "recovery":  # names the best run itself
        assert failed.evidence["best_run"]["run_id"] in failed.message
    if broken == "multi-user":
        assert repr(store.summary["users"][0]) in failed.message


def test_unknown_experiment_or_model_is_a_usage_error(small_reference_store):
    with pytest.raises(ConfigError, match="experiment 'no-such-exp'") as err:
        run_checks(small_reference_store.uri, Policy(experiments=("no-such-exp",)))
    assert err.value.exit_code == EXIT_USAGE
    with pytest.raises(ConfigError, match="registered model 'ghost'"):
        run_checks(small_reference_store.uri, Policy(registered_models=("ghost",)), ["multi-user"])


def test_server_stopped_mid_run_errors_remaining_checks(small_reference_store, tmp_path):
    store = copy_store(small_reference_store, tmp_path / "store")
    server = start_mlflow_server(store.uri, tmp_path / "served", tmp_path)
    stopped_at: list[float] = []

    def progress(done, total, what):
        if what.startswith("check multi-user") and not stopped_at:
            server.stop()
            stopped_at.append(time.monotonic())

    try:
        outcome = run_checks(server.url, Policy(timeout_s=10), progress=progress)
    finally:
        server.stop()
    took = time.monotonic() - stopped_at[0]
    got = statuses(outcome)
    assert got["recovery"] == got["production-model"] == got["multi-user"] == "pass"
    remaining = [r for r in outcome.results if r.code > "MLP03"]
    assert all(r.status is Status.ERROR for r in remaining), [(r.name, r.status, r.message) for r in remaining]
    assert "stopped answering" in remaining[0].message and server.url in remaining[0].message
    assert took < 10 + 5, f"remaining checks took {took:.1f} s after the server stopped"


def test_rollback_drill_runs_in_a_sandbox_and_leaves_nothing(small_reference_store, tmp_path):
    from mlflow.tracking import MlflowClient

    store = copy_store(small_reference_store, tmp_path / "store")
    outcome = run_checks(store.uri, Policy(), ["rollback"], rollback_drill=True)
    result = outcome.result("rollback")
    assert result.status is Status.PASS, result.message
    drill = result.evidence["plans"][0]["drill"]
    assert drill["ok"] and drill["sandbox_deleted"] and drill["served_after_rollback"] == "2"
    client = MlflowClient(tracking_uri=store.uri, registry_uri=store.uri)
    names = [m.name for m in client.search_registered_models()]
    assert names == ["mltrack-reference-classifier"], names
    real = client.get_registered_model("mltrack-reference-classifier")
    assert {k: str(v) for k, v in real.aliases.items()} == {"production": "3"}  # the real model never moved


def test_artifacts_listed_through_the_api_when_served_remotely(fresh_mlflow_server, tmp_path):
    """A server with --serve-artifacts: runs' artifacts are `mlflow-artifacts:` URIs, listed
    through the API (concurrently, bounded by cleanup_list_limit, the rest estimated).
    Its own server: cleanup weighs every experiment of the store, and the shared server holds
    other tests' small stores, each with a crashed run that would be a candidate too."""
    from mltrack.pressure.runner import CheckSession, read_snapshot
    from mltrack.stores import open_store
    from tests.support.small_store import build_small_store

    mlflow_server = fresh_mlflow_server
    small = build_small_store(mlflow_server.url, tmp_path)
    policy = Policy(experiments=(small.experiment,), inference_experiments=(), registered_models=(),
                    keep_top=0, cleanup_list_limit=1, old_run_days=0)  # the crashed run is minutes old
    adapter = open_store(mlflow_server.url)
    try:
        snapshot, _ = read_snapshot(adapter, policy)
        with CheckSession(adapter, snapshot, policy) as session:
            result = session.run(get_check("artifact-cleanup"))
    finally:
        adapter.close()
    evidence = result.evidence
    assert result.status is Status.PASS, result.message
    # best and other are behind registered versions; crashed is the one candidate... plus estimates
    assert evidence["listed_by"] == {"store API": evidence["runs_counted"]} and evidence["runs_counted"] == 1
    assert evidence["reclaimable_bytes"] >= 0 and "store API" in evidence["how_counted"]
