"""Issue 14 items 3 and 4: diverged runs (NaN, +-inf) are never best and are named; report.json
is strict JSON; nothing to judge is a `skip` that says what was looked for, never an empty pass.

Offline judges on hand-written snapshots for the edge values, and real sqlite stores written by
plain MLflow code (a sweep with a diverged trial, a one-run store) audited through the CLI."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrack.cli import main
from mltrack.model import ExperimentRecord, RunRecord, Status, StoreSnapshot
from mltrack.pressure.base import ranked
from mltrack.pressure.policy import Policy
from mltrack.pressure.registry import get
from mltrack.ranking import rank
from mltrack.report.onboarding import build_onboarding
from mltrack.report.schema import dumps
from tests.support.stores import empty_database

NOW = 1_800_000_000_000
FIELDS = {"learning_rate": "0.1", "batch_size": "32", "optimizer": "sgd", "random_seed": "0",
          "git_commit": "abc123", "data_hash": "d1"}


def _run(i: int, value: float, metric: str = "val_acc") -> RunRecord:
    return RunRecord(f"run{i}", "1", f"trial{i}", "alice", "FINISHED", NOW - i * 1000, NOW,
                     params={**FIELDS, "learning_rate": str(0.1 * (i + 1))}, metrics={metric: value})


def _snapshot(runs) -> StoreSnapshot:
    exps = (ExperimentRecord("0", "Default"), ExperimentRecord("1", "mltrack-reference"))
    return StoreSnapshot("sqlite:///x.db", "mlflow", "3.17.2", NOW, exps, tuple(runs), ())


def _reject_constant(name: str):
    raise ValueError(f"non-finite number {name}")


# --- one ranking: NaN and infinities are never best ----------------------------------------------

@pytest.mark.parametrize(("higher", "poison"), [(True, math.inf), (False, -math.inf), (True, math.nan),
                                                (False, math.nan)])
def test_rank_never_puts_a_diverged_value_first(higher: bool, poison: float) -> None:
    runs = [_run(1, 0.5), _run(2, poison), _run(3, 0.7), _run(4, 0.6)]
    order = rank(runs, "val_acc", higher)
    assert order.best.run_id == ("run3" if higher else "run1")
    assert [r.run_id for r in order.diverged] == ["run2"]
    assert "run2" not in {r.run_id for r in order.best_first}
    policy = Policy(metric="val_acc", metric_goal="max" if higher else "min")
    assert ranked(runs, policy) == order.best_first  # the checks' helper is the same ranking


@pytest.mark.parametrize("check", ["recovery", "hparam-search"])
def test_checks_name_the_true_best_and_list_diverged_runs(check: str) -> None:
    runs = [_run(i, v) for i, v in enumerate([0.61, 0.7, math.inf, math.nan, 0.64, 0.66, 0.5, 0.55, 0.58,
                                              0.59, 0.6, 0.62])]
    policy = Policy(min_search_runs=5)
    result = get(check).evaluate(_snapshot(runs), {}, policy)
    best = result.evidence["best_run"] if check == "recovery" else result.evidence["leaderboard"][0]
    assert best["run_id"] == "run1", result.message
    assert {d["run_id"] for d in result.evidence["diverged_runs"]} == {"run2", "run3"}
    assert "diverged" in result.message and "trial2" in result.message and "trial3" in result.message
    json.loads(dumps({"evidence": result.evidence}), parse_constant=_reject_constant)


def test_recovery_fails_naming_diverged_runs_when_no_run_is_finite() -> None:
    result = get("recovery").evaluate(_snapshot([_run(1, math.nan), _run(2, math.inf)]), {}, Policy())
    assert result.status is Status.FAIL
    assert "2 diverged" in result.message and "trial1" in result.message, result.message


def test_onboarding_leaderboard_skips_diverged_runs_and_names_them() -> None:
    runs = [_run(1, 0.5), _run(2, math.inf), _run(3, 0.7), _run(4, math.nan)]
    data = build_onboarding(_snapshot(runs), Policy(), now_ms=NOW)
    board = data["leaderboards"][0]
    assert [r["run_id"] for r in board["top"]] == ["run3", "run1"]
    assert {d["run_id"] for d in board["diverged"]} == {"run2", "run4"}
    assert board["scored_runs"] == 2


def test_onboarding_learning_curve_skips_diverged_steps() -> None:
    history = [(0, 0.3, NOW), (1, math.nan, NOW), (2, math.inf, NOW), (3, 0.6, NOW)]
    data = build_onboarding(_snapshot([_run(1, 0.6)]), Policy(), history=lambda run_id, metric: history,
                            now_ms=NOW)
    assert data["learning_curves"][0]["points"] == [[0.0, 0.3], [3.0, 0.6]]


# --- strict JSON ----------------------------------------------------------------------------------

def test_report_json_writes_non_finite_values_as_null_with_a_note() -> None:
    text = dumps({"results": [{"evidence": {"best": math.nan, "runs": [1.0, math.inf, -math.inf]}}]})
    data = json.loads(text, parse_constant=_reject_constant)
    assert data["results"][0]["evidence"] == {"best": None, "runs": [1.0, None, None]}
    assert data["non_finite_values"] == ["results[0].evidence.best: nan", "results[0].evidence.runs[1]: inf",
                                         "results[0].evidence.runs[2]: -inf"]
    assert "non_finite_values" not in json.loads(dumps({"results": [{"x": 1.5}]}))


# --- real stores written by plain MLflow code ----------------------------------------------------

POLICY = """\
experiments = ["sweep"]
inference_experiments = []
metric = "val_loss"
metric_goal = "min"
registered_models = []
environment_fields = []
min_users = 1
min_search_runs = 3
"""


def _store(seeded_root: Path, tmp_path: Path, losses: list[float]) -> str:
    """A sqlite store where plain MLflow logged one run per loss (NaN: a diverged trial)."""
    from mlflow import MlflowClient

    db = tmp_path / "mlflow.db"
    shutil.copy2(empty_database(seeded_root), db)
    uri = f"sqlite:///{db}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("sweep", artifact_location=str(tmp_path / "artifacts"))
    for i, loss in enumerate(losses):
        run = client.create_run(exp, run_name=f"trial-{i}", tags={"mlflow.user": "alice"})
        client.log_param(run.info.run_id, "lr", str(10 ** -(i + 1)))
        client.log_metric(run.info.run_id, "val_loss", loss)
        client.set_terminated(run.info.run_id, "FINISHED")
    return uri


def _audit(uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict, str]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)  # no pyproject.toml supplies a policy
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["audit", "--tracking-uri", uri, "--out", str(out), "--no-progress",
                                       "--config", str(policy)])
    text = (out / "report.json").read_text()
    return result.exit_code, json.loads(text, parse_constant=_reject_constant), text


def _result(report: dict, name: str) -> dict:
    return next(r for r in report["results"] if r["name"] == name)


def test_sweep_with_a_diverged_trial_names_the_true_best_and_writes_strict_json(
        seeded_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = _store(seeded_root, tmp_path, [0.4, math.nan, 0.2, 0.3])
    _, report, _ = _audit(uri, tmp_path, monkeypatch)
    recovery, search = _result(report, "recovery"), _result(report, "hparam-search")
    assert recovery["evidence"]["best_run"]["name"] == "trial-2", recovery["message"]
    assert search["evidence"]["leaderboard"][0]["name"] == "trial-2", search["message"]
    for result in (recovery, search):
        assert [d["name"] for d in result["evidence"]["diverged_runs"]] == ["trial-1"]
        assert "trial-1 (val_loss=nan)" in result["message"]


def test_one_run_store_skips_what_it_cannot_judge_and_says_what_it_looked_for(
        seeded_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = _store(seeded_root, tmp_path, [0.25])
    exit_code, report, _ = _audit(uri, tmp_path, monkeypatch)
    for name in ("production-model", "rollback"):
        result = _result(report, name)
        assert result["status"] == "skip", result["message"]
        assert "no registered model in the store" in result["message"]
        assert "looked for" in result["message"]
    prediction = _result(report, "prediction-audit")
    assert prediction["status"] == "skip" and "no run loads a model and writes predictions" in prediction["message"]
    search = _result(report, "hparam-search")
    assert search["status"] == "fail" and "only 1 finished training run" in search["message"]
    assert exit_code == 1  # a one-run "search" is a real failure, not a skip
    for result in report["results"]:
        message = result["message"].rstrip()
        assert message and not message.endswith((":", ",", "(", " in", " of")), (result["name"], message)
        assert result["status"] != "pass" or not message.endswith("in production:")
