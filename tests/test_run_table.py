"""The snapshot's run table: in memory for small stores, spilled to a temporary sqlite file past
`MLTRACK_SPILL_RUNS`; both iterate in read order and answer the same lookups."""

from __future__ import annotations

import dataclasses
import gc
import math
import os
import threading
from pathlib import Path

import pytest

from mltrack.model import (
    ArtifactFile,
    DatasetInputRecord,
    LoggedModelRecord,
    RunRecord,
    RunTable,
    StoreSnapshot,
)
from mltrack.run_table import RunTableBuilder, decode, encode, spill_after_from_env


def _run(i: int, **changes) -> RunRecord:
    base = RunRecord(
        run_id=f"{i:032x}", experiment_id=str(i % 3), name=f"run-{i}", user="ana", status="FINISHED",
        start_time=1_700_000_000_000 + i, end_time=None, params={"lr": "0.1", "seed": str(i)},
        tags={"mlflow.user": "ana"}, metrics={"val_acc": i / 10, "loss": math.inf},  # nan != nan: see the round trip test
        artifact_uri=f"file:///a/{i}", logged_model_ids=(f"m-{i % 2}",))
    return dataclasses.replace(base, **changes)


def test_a_record_with_every_field_set_round_trips_through_the_encoding():
    # Every RunRecord field set to a non-default value: a field added to the model and forgotten
    # by the encoding fails here.
    run = RunRecord(
        run_id="r" * 32, experiment_id="7", name="n", user="u", status="FAILED", start_time=1, end_time=2,
        params={"a": "1"}, tags={"t": "v"}, metrics={"m": float("inf")}, lifecycle_stage="deleted",
        artifact_uri="s3://b/r", artifacts=(ArtifactFile("model/MLmodel", 10), ArtifactFile("x", None)),
        logged_model_ids=("m-1", "m-2"),
        datasets=(DatasetInputRecord("train", "abc", "local", '{"uri": "x"}', "training"),),
        logged_models=(LoggedModelRecord("m-1", "net", "logged_model", "READY", ("pytorch",), "3.11",
                                         ("conda.yaml",), True),))
    defaults = RunRecord("", "", "", "", "", None, None)
    for f in dataclasses.fields(RunRecord):
        assert getattr(run, f.name) != getattr(defaults, f.name), f"set {f.name} in this test"
    assert decode(encode(run)) == run
    diverged = decode(encode(dataclasses.replace(run, metrics={"m": math.nan})))
    assert math.isnan(diverged.metrics["m"])
    listed_later = dataclasses.replace(run, artifacts=None)  # None (not listed) stays None
    assert decode(encode(listed_later)).artifacts is None


@pytest.mark.parametrize("spill_after", [0, 3, 1_000])
def test_spilled_and_in_memory_tables_iterate_and_look_up_alike(spill_after: int):
    builder = RunTableBuilder(spill_after=spill_after)
    # Three groups added interleaved (as concurrent readers do): iterated group by group.
    order = [(i, i % 3) for i in range(30)]
    for i, group in order:
        assert builder.add(_run(i), group)
    assert not builder.add(_run(4), 1), "a run seen before is dropped"
    table = builder.finish()
    assert table.spilled is (spill_after < 30)
    expected = [_run(i) for g in range(3) for i, group in order if group == g]
    assert list(table) == expected
    assert list(table) == expected, "a table can be iterated again"
    assert len(table) == 30 and bool(table)
    assert table[0] == expected[0] and table[-1] == expected[-1]
    assert table.get(f"{7:032x}") == _run(7) and table.get("nope") is None
    assert table.owners_of_logged_model("m-1") == tuple(r.run_id for r in expected if r.logged_model_ids == ("m-1",))
    assert table.owners_of_logged_model("m-9") == ()
    assert table == RunTable(expected)


def test_a_spilled_table_deletes_its_file_when_closed_or_collected(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    builder = RunTableBuilder(spill_after=0)
    builder.add(_run(1))
    table = builder.finish()
    files = list(tmp_path.glob("mltrack-runs-*.sqlite"))
    assert len(files) == 1
    table.close()
    assert not files[0].exists()

    builder = RunTableBuilder(spill_after=0)
    builder.add(_run(2))
    table = builder.finish()
    (path,) = tmp_path.glob("mltrack-runs-*.sqlite")
    del table
    gc.collect()
    assert not path.exists()

    builder = RunTableBuilder(spill_after=0)
    builder.add(_run(3))
    builder.discard()  # a read that failed half-way leaves nothing behind
    assert not list(tmp_path.glob("mltrack-runs-*.sqlite"))


def test_a_spilled_table_answers_lookups_from_other_threads_while_iterated():
    builder = RunTableBuilder(spill_after=0)
    for i in range(5_000):
        builder.add(_run(i))
    table = builder.finish()
    errors: list[BaseException] = []

    def look() -> None:
        try:
            for i in range(0, 5_000, 7):
                assert table.get(f"{i:032x}").name == f"run-{i}"
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=look) for _ in range(3)]
    for w in workers:
        w.start()
    assert sum(1 for _ in table) == 5_000
    for w in workers:
        w.join()
    assert not errors


def test_the_snapshot_wraps_any_iterable_and_serialises_a_table_as_a_list():
    runs = [_run(1), _run(2)]
    snap = StoreSnapshot(uri="sqlite:///x", tracker="mlflow", server_version=None, taken_at=0, runs=runs)
    assert isinstance(snap.runs, RunTable) and snap.run(runs[1].run_id) == runs[1]
    builder = RunTableBuilder(spill_after=0)
    for r in runs:
        builder.add(r)
    spilled = dataclasses.replace(snap, runs=builder.finish())
    assert spilled.to_json() == snap.to_json()
    assert StoreSnapshot.from_json(spilled.to_json()) == snap


def test_spill_threshold_comes_from_the_environment():
    assert spill_after_from_env({}) == 10_000
    assert spill_after_from_env({"MLTRACK_SPILL_RUNS": "0"}) == 0
    assert spill_after_from_env({"MLTRACK_SPILL_RUNS": "250"}) == 250
    assert spill_after_from_env({"MLTRACK_SPILL_RUNS": "lots"}) == 10_000


@pytest.mark.parametrize("spill_after", [0, 1_000])
def test_mlflow_order_is_newest_first_then_run_id_whatever_order_runs_arrive(spill_after: int):
    # Concurrent readers hand runs over experiment by experiment, interleaved; the table must
    # iterate as one MLflow search does (start_time DESC, run_uuid), a run without a start last.
    runs = [_run(i, start_time=1_000 + (i % 4)) for i in range(12)] + [_run(99, start_time=None)]
    builder = RunTableBuilder(spill_after=spill_after, mlflow_order=True)
    for run in reversed(runs):
        builder.add(run, group=int(run.experiment_id))
    expected = sorted(runs[:-1], key=lambda r: (-r.start_time, r.run_id)) + [runs[-1]]
    table = builder.finish()
    assert [r.run_id for r in table] == [r.run_id for r in expected]
    assert table.owners_of_logged_model("m-0") == tuple(r.run_id for r in expected if r.logged_model_ids == ("m-0",))
