"""Every `--break CHECK` store differs from the complete store only in that check's property.

Both stores are read with MlflowClient directly (tests.support.stores.normalised_dump). For each
break we apply the documented removal to the complete store's dump and demand the broken
store's dump equals it exactly; hparam-search changes every metric, so there we compare shapes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest

from mltrack import conventions as cv
from mltrack.seed import plan
from mltrack.seed.breaks import BREAKS
from tests.support.stores import SeededStore, normalised_dump

DAY_MS = 86_400_000
MODEL = cv.REGISTERED_MODEL


@pytest.fixture(scope="module")
def complete_dump(small_reference_store: SeededStore) -> dict:
    return normalised_dump(small_reference_store.uri)


def _training(dump: dict) -> dict:
    return {k: r for k, r in dump["runs"].items() if r["tags"][cv.TAG_RUN_TYPE] == cv.RUN_TYPE_TRAINING}


def _inference(dump: dict) -> dict:
    return {k: r for k, r in dump["runs"].items() if r["tags"].get(cv.TAG_RUN_TYPE) == cv.RUN_TYPE_INFERENCE}


def _recovery(dump: dict) -> None:
    runs = _training(dump)
    best = max(r["metrics"]["val_acc"][-1][1] for r in runs.values())
    tied = [r for r in runs.values() if r["metrics"]["val_acc"][-1][1] == best]
    assert tied, "no best run"
    for run in tied:
        del run["params"][cv.PARAM_SEED], run["params"][cv.PARAM_GIT_COMMIT]
        del run["tags"][cv.TAG_GIT_COMMIT]


def _production_model(dump: dict) -> None:
    dump["models"][MODEL]["aliases"] = {}
    dump["models"][MODEL]["versions"]["3"]["stage"] = "None"


def _multi_user(dump: dict) -> None:
    for run in dump["runs"].values():
        run["tags"][cv.TAG_USER] = plan.USERS[0]


def _data_change(dump: dict) -> None:
    for run in _training(dump).values():
        del run["params"][cv.PARAM_DATA_HASH]


def _rollback(dump: dict) -> None:
    model = dump["models"][MODEL]
    del model["tags"][cv.TAG_PROMOTIONS]
    for number, version in model["versions"].items():
        version["tags"].pop(cv.TAG_PRODUCTION_SINCE)
        version["tags"].pop(cv.TAG_PRODUCTION_UNTIL, None)
        if number != "3":
            version["stage"] = "None"


def _prediction_audit(dump: dict) -> None:
    for run in _inference(dump).values():
        del run["params"]["input_data_hash"], run["params"]["predictions_hash"]


def _long_term_repro(dump: dict) -> None:
    # Offsets are from the newest training run, which starts V2_WINDOW[1] days before seeding.
    cutoff = -(30 - plan.V2_WINDOW[1]) * DAY_MS
    old = [r for r in _training(dump).values() if r["start"] < cutoff]
    assert len(old) > len(_training(dump)) // 2
    for run in old:
        del run["params"][cv.PARAM_PYTHON_VERSION], run["params"][cv.PARAM_TORCH_VERSION]
        run["artifacts"] = []


def _artifact_cleanup(dump: dict) -> None:
    source = dump["models"][MODEL]["versions"]["1"]["run"]
    dump["runs"][source]["lifecycle"] = "deleted"


def _onboarding(broken: dict) -> None:
    """Applied to the broken dump: drop the scratch experiment after checking what it holds."""
    scratch = {k: r for k, r in broken["runs"].items() if k.startswith("mltrack-reference-scratch/")}
    assert len(scratch) >= 3
    for run in scratch.values():
        assert run["status"] in {"FAILED", "RUNNING"} and run["metrics"] == {}
    assert all(k.split("/", 1)[1].startswith("unnamed") for k in scratch)
    del broken["experiments"]["mltrack-reference-scratch"]
    for key in scratch:
        del broken["runs"][key]


REMOVALS: dict[str, Callable[[dict], None]] = {
    "recovery": _recovery, "production-model": _production_model, "multi-user": _multi_user,
    "data-change": _data_change, "rollback": _rollback, "prediction-audit": _prediction_audit,
    "long-term-repro": _long_term_repro, "artifact-cleanup": _artifact_cleanup,
}


def _assert_same(expected: dict, actual: dict) -> None:
    if expected != actual:  # name the first differing run or model, not a 1 MB repr
        for section in ("experiments", "runs", "models"):
            assert sorted(expected[section]) == sorted(actual[section]), section
            for key in expected[section]:
                assert json.dumps(expected[section][key], sort_keys=True) == json.dumps(
                    actual[section][key], sort_keys=True), f"{section}/{key}"
    assert expected == actual


def test_every_break_is_covered() -> None:
    assert set(REMOVALS) | {"hparam-search", "onboarding"} == set(BREAKS)


@pytest.mark.parametrize("check", sorted(REMOVALS))
def test_break_removes_only_its_property(check: str, complete_dump: dict, break_store) -> None:
    broken = normalised_dump(break_store(check).uri)
    expected = copy.deepcopy(complete_dump)
    REMOVALS[check](expected)
    assert expected != complete_dump, "the removal changed nothing: the test could not fail"
    _assert_same(expected, broken)


def test_onboarding_break_only_adds_the_scratch_experiment(complete_dump: dict, break_store) -> None:
    broken = normalised_dump(break_store("onboarding").uri)
    _onboarding(broken)
    _assert_same(complete_dump, broken)


def _shape(dump: dict) -> tuple[list, list]:
    """Everything but the training-dependent values: which fields exist and when, as multisets
    (which v1 run is best, and so which runs keep checkpoints, depends on the metrics)."""
    runs = dump["runs"].values()
    rows = [json.dumps([r["status"], r["lifecycle"], sorted(r["params"]),
                        {k: v for k, v in r["tags"].items() if k not in {"mlflow.note.content", cv.TAG_USER, cv.TAG_COMMAND}},
                        {k: [s for s, _ in v] for k, v in r["metrics"].items()}, r["artifacts"]],
                       sort_keys=True) for r in runs]
    return sorted(rows), sorted((r["start"], r["end"]) for r in runs)


def test_hparam_search_break_uses_one_configuration(complete_dump: dict, break_store) -> None:
    broken = normalised_dump(break_store("hparam-search").uri)
    configs = {(r["params"][cv.PARAM_LEARNING_RATE], r["params"][cv.PARAM_BATCH_SIZE],
                r["params"][cv.PARAM_OPTIMIZER]) for r in _training(broken).values()}
    assert len(configs) == 1
    seeds = {r["params"][cv.PARAM_SEED] for r in _training(broken).values()}
    assert len(seeds) == len(_training(broken))  # still real, different runs
    complete_configs = {(r["params"][cv.PARAM_LEARNING_RATE], r["params"][cv.PARAM_BATCH_SIZE],
                         r["params"][cv.PARAM_OPTIMIZER]) for r in _training(complete_dump).values()}
    assert len(complete_configs) > 10

    assert _shape(broken) == _shape(complete_dump)
    assert {k: (v["stage"], sorted(v["tags"])) for k, v in broken["models"][MODEL]["versions"].items()} == {
        k: (v["stage"], sorted(v["tags"])) for k, v in complete_dump["models"][MODEL]["versions"].items()}
    assert broken["models"][MODEL]["aliases"] == complete_dump["models"][MODEL]["aliases"]
