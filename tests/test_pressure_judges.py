"""Offline tests of each check's judge on hand-written snapshots: the edge cases the reference
store does not exercise (synonyms, stage fallbacks, empty Default experiment, root users...)."""

from __future__ import annotations

import json

from mltrack.model import ExperimentRecord, ModelVersionRecord, RegisteredModelRecord, RunRecord, Status, StoreSnapshot
from mltrack.pressure.policy import Policy
from mltrack.pressure.registry import get

DAY = 86_400_000
NOW = 1_800_000_000_000
FIELDS = {"learning_rate": "0.1", "batch_size": "32", "optimizer": "sgd", "random_seed": "0",
          "git_commit": "abc123", "data_hash": "d1", "python_version": "3.11", "torch_version": "2.13"}


def run(i: int, acc: float | None = 0.5, user: str = "alice", days_old: float = 1, exp: str = "1",
        status: str = "FINISHED", **params) -> RunRecord:
    merged = {**FIELDS, **{k: v for k, v in params.items() if v is not None}}
    for key in [k for k, v in params.items() if v is None]:
        merged.pop(key, None)
    return RunRecord(f"run{i}", exp, f"name{i}", user, status, NOW - int(days_old * DAY), NOW,
                     params=merged, tags={"mltrack.run_type": "training"},
                     metrics={} if acc is None else {"val_acc": acc})


def snapshot(runs, models=(), experiments=None) -> StoreSnapshot:
    exps = experiments or (ExperimentRecord("0", "Default"), ExperimentRecord("1", "mltrack-reference"),
                           ExperimentRecord("2", "mltrack-reference-inference"))
    return StoreSnapshot("sqlite:///x.db", "mlflow", "3.17.2", NOW, tuple(exps), tuple(runs), tuple(models))


def model(versions, aliases=None, tags=None) -> RegisteredModelRecord:
    return RegisteredModelRecord("mltrack-reference-classifier", tags=tags or {}, aliases=aliases or {},
                                 versions=tuple(versions))


def version(v: str, run_id: str, stage: str = "None", **tags) -> ModelVersionRecord:
    return ModelVersionRecord("mltrack-reference-classifier", v, run_id, f"models:/m-{v}", current_stage=stage,
                              tags=tags, last_updated_time=NOW - int(v) * DAY)


def judge(name: str, snap: StoreSnapshot, evidence=None, policy: Policy | None = None):
    return get(name).evaluate(snap, evidence or {}, policy or Policy())


def test_recovery_synonyms_count_and_missing_fields_are_named():
    runs = [run(1, 0.9, learning_rate=None, lr="0.1", git_commit=None), run(2, 0.5)]
    runs[0] = RunRecord(**{**runs[0].__dict__, "tags": {"mlflow.source.git.commit": "abc"}})
    assert judge("recovery", snapshot(runs)).status is Status.PASS
    bad = judge("recovery", snapshot([run(1, 0.9, random_seed=None, data_hash=None), run(2, 0.5)]))
    assert bad.status is Status.FAIL
    assert "run1" in bad.message and "random_seed" in bad.message and "data_hash" in bad.message
    assert bad.evidence["missing_fields"] == ["random_seed", "data_hash"]
    assert "missing-seed" in bad.fix


def test_recovery_warns_when_the_best_run_names_its_data_only_by_path():
    result = judge("recovery", snapshot([run(1, 0.9, data_hash=None, data_path="/data/v2"), run(2, 0.5)]))
    assert result.status is Status.WARN, result.message
    assert "'/data/v2'" in result.message and "not by a hash" in result.message
    assert "missing-data-version" in result.fix
    nothing = judge("recovery", snapshot([run(1, 0.9, data_hash=None, data_version=None), run(2, 0.5)]))
    assert nothing.status is Status.FAIL and "data_hash" in nothing.message


def test_recovery_min_goal_and_failed_download():
    policy = Policy(metric="val_acc", metric_goal="min")
    result = judge("recovery", snapshot([run(1, 0.9), run(2, 0.1)]), {"artifact": {"downloaded": False,
                   "error": "download failed: boom"}}, policy)
    assert result.status is Status.FAIL and "run2" in result.message and "does not download" in result.message


def test_recovery_rerun_tolerance():
    snap = snapshot([run(1, 0.9)])
    ok = judge("recovery", snap, {"rerun": {"ok": True, "metric": 0.9}})
    off = judge("recovery", snap, {"rerun": {"ok": True, "metric": 0.8}})
    assert ok.status is Status.PASS and off.status is Status.FAIL and "off by" in off.message


def test_production_model_stage_fallback_and_none():
    staged = model([version("1", "run1", "Archived"), version("2", "run2", "Production")])
    result = judge("production-model", snapshot([run(1), run(2, 0.7)], [staged]))
    assert result.status is Status.PASS and result.evidence["models"][0]["found_by"] == "stage Production"
    none = judge("production-model", snapshot([run(1)], [model([version("1", "run1")])]))
    assert none.status is Status.FAIL and "mltrack-reference-classifier" in none.message
    two = model([version("1", "run1", "Production"), version("2", "run2", "Production")])
    assert judge("production-model", snapshot([run(1)], [two])).status is Status.FAIL


def test_production_model_slow_answer_warns():
    m = model([version("1", "run1")], aliases={"production": "1"})
    slow = {"loads": {"mltrack-reference-classifier": {"downloaded": True, "loaded": True, "answer_s": 45.0}}}
    assert judge("production-model", snapshot([run(1)], [m]), slow).status is Status.WARN


def test_multi_user_fail_warn_pass():
    one = judge("multi-user", snapshot([run(i, user="alice") for i in range(5)]))
    assert one.status is Status.FAIL and "'alice'" in one.message
    root = judge("multi-user", snapshot([run(1, user="a"), run(2, user="b"), run(3, user="c"), run(4, user="root")]))
    assert root.status is Status.WARN and root.evidence["unattributed_count"] == 1
    ok = judge("multi-user", snapshot([run(1, 0.9, user="a"), run(2, user="b"), run(3, user="c")]))
    assert ok.status is Status.PASS and ok.evidence["users"]["a"]["best_run"]["run_id"] == "run1"


def test_data_change_path_does_not_count_and_shift_is_reported():
    bad = judge("data-change", snapshot([run(1, data_hash=None, data_path="/data/train.csv"), run(2)]))
    assert bad.status is Status.FAIL and "name1" in bad.message and "data path" in bad.message
    runs = [run(1, 0.6, days_old=100, data_hash="h1", data_version="v1"),
            run(2, 0.9, days_old=10, data_hash="h2", data_version="v2")]
    ok = judge("data-change", snapshot(runs))
    assert ok.status is Status.PASS
    shift = ok.evidence["shifts"][0]
    assert (shift["from"], shift["to"]) == ("v1", "v2") and abs(shift["best_shift"] - 0.3) < 1e-9
    assert shift["attributed_to"] == "data (same code)"


def test_rollback_sources_in_order():
    records = json.dumps([{"version": "2", "previous": "1"}, {"version": "3", "previous": "2"}])
    by_record = model([version("1", "run1"), version("2", "run1"), version("3", "run1")],
                      aliases={"production": "3"}, tags={"mltrack.promotions": records})
    result = judge("rollback", snapshot([run(1)], [by_record]))
    assert result.status is Status.PASS and result.evidence["plans"][0]["previous"] == "2"
    assert "alias @production: v3 -> v2" in result.message
    archived = model([version("1", "run1", "Archived"), version("2", "run1", "Production")])
    guessed = judge("rollback", snapshot([run(1)], [archived]))  # archived from Staging is possible: no evidence
    assert guessed.status is Status.FAIL and guessed.evidence["plans"][0]["candidates"] == ["1"]
    alone = judge("rollback", snapshot([run(1)], [model([version("1", "run1")], aliases={"production": "1"})]))
    assert alone.status is Status.FAIL and "has only one version (v1, production by alias @production): " \
        "nothing to roll back to" in alone.message


def test_prediction_audit_names_broken_link():
    m = model([version("1", "run1")], aliases={"production": "1"})
    good = {"model_name": "mltrack-reference-classifier", "model_version": "1", "input_data_hash": "i",
            "predictions_hash": "p", "inference_timestamp": "t", "training_run_id": "run1"}
    inf = RunRecord("inf1", "2", "inference-1", "bob", "FINISHED", NOW, NOW, params=good,
                    tags={"mltrack.run_type": "inference"})
    assert judge("prediction-audit", snapshot([run(1), inf], [m])).status is Status.PASS
    unknown = RunRecord(**{**inf.__dict__, "params": {**good, "model_version": "7"}})
    result = judge("prediction-audit", snapshot([run(1), unknown], [m]))
    assert result.status is Status.FAIL and "v7 is not registered" in result.message
    assert judge("prediction-audit", snapshot([run(1)], [m])).status is Status.SKIP


def test_hparam_search_needs_variation_and_enough_runs():
    same = judge("hparam-search", snapshot([run(i, 0.5 + i / 100, random_seed=str(i)) for i in range(12)]))
    assert same.status is Status.FAIL and "no hyperparameter varied" in same.message
    few = judge("hparam-search", snapshot([run(i, learning_rate=str(i)) for i in range(3)]))
    assert few.status is Status.FAIL and "at least 10" in few.message
    ok = judge("hparam-search", snapshot([run(i, 0.5 + i / 100, learning_rate=str(i)) for i in range(12)]
                                         + [run(99, None)]))
    assert ok.status is Status.PASS and ok.evidence["best_config"]["learning_rate"] == "11"
    assert ok.evidence["missing_metric_count"] == 1


def test_long_term_repro_skip_and_fail():
    assert judge("long-term-repro", snapshot([run(1, days_old=2)])).status is Status.SKIP
    old = [run(1, days_old=90, python_version=None), run(2, days_old=90)]
    result = judge("long-term-repro", snapshot(old), {"artifacts": {"run2": {"files": 0, "how": "local disk"}}})
    assert result.status is Status.FAIL and "python_version" in result.message and "artifacts" in result.message
    assert {r["run_id"] for r in result.evidence["lacking"]} == {"run1", "run2"}


def test_artifact_cleanup_protects_and_flags_deleted_protected_run():
    runs = [run(i, 0.5 + i / 100, days_old=90) for i in range(15)]  # older than old_run_days
    runs[0] = RunRecord(**{**runs[0].__dict__, "lifecycle_stage": "deleted"})
    m = model([version("1", "run0")], aliases={"production": "1"})
    result = judge("artifact-cleanup", snapshot(runs, [m]), {"reclaimable_bytes": 100, "runs_counted": 4})
    assert result.status is Status.FAIL and "run0" in result.message and "v1" in result.message
    runs[0] = RunRecord(**{**runs[0].__dict__, "lifecycle_stage": "active"})
    ok = judge("artifact-cleanup", snapshot(runs, [m]), {"reclaimable_bytes": 2**20, "runs_counted": 4})
    assert ok.status is Status.PASS and ok.evidence["candidates"] == 4  # 15 - top 10 - run0 behind v1


def test_onboarding_empty_default_is_fine_and_scratch_fails():
    scratch = ExperimentRecord("3", "scratch")
    exps = (ExperimentRecord("0", "Default"), ExperimentRecord("1", "mltrack-reference"), scratch)
    assert judge("onboarding", snapshot([run(1)], experiments=exps[:2])).status is Status.PASS
    broken = RunRecord("s1", "3", "", "alice", "RUNNING", NOW, None)
    result = judge("onboarding", snapshot([run(1), broken], experiments=exps))
    assert result.status is Status.FAIL and "'scratch'" in result.message and "no finished runs" in result.message
    empty = (*exps[:2], ExperimentRecord("4", "empty-exp"))
    assert judge("onboarding", snapshot([run(1)], experiments=empty)).status is Status.WARN
