"""The logged models a store holds, read in bounded memory (stores/logged_models_by_run.py).

MLflow 3 keeps logged models under the experiment; the reader lists them all before the runs.
A store where every run logs a model has as many models as runs, so past MLTRACK_SPILL_RUNS
they go to a private sqlite file. Shown on a real store whose runs log models through MLflow's
own client (the snapshot is identical spilled or not), and by tracemalloc: 10,000 extra models
must not grow the index's memory, while a plain dict of them does.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from mltrack.model import LoggedModelRecord
from mltrack.stores import open_store
from mltrack.stores.logged_models_by_run import LoggedModelsByRun


def _record(i: int) -> LoggedModelRecord:
    return LoggedModelRecord(model_id=f"m-{i:032x}", name=f"model-{i}", status="READY",
                             environment_files=("conda.yaml", "python_env.yaml", "requirements.txt"))


def test_lookups_equal_in_memory_and_spilled() -> None:
    memory, spilled = LoggedModelsByRun(spill_after=10**9), LoggedModelsByRun(spill_after=7)
    for i in range(60):
        run = f"run-{i % 23}"  # several models per run, interleaved as MLflow lists them
        memory.add(run, _record(i))
        spilled.add(run, _record(i))
    assert not memory.spilled and spilled.spilled
    for r in range(25):  # two runs with no model
        assert spilled.get(f"run-{r}") == memory.get(f"run-{r}")
    runs = [f"run-{r}" for r in range(25)]
    assert spilled.get_many(runs) == memory.get_many(runs) == {r: memory.get(r) for r in runs[:23]}
    assert memory.get("run-24") == () and len(memory.get("run-0")) == 3
    assert [m.model_id for m in spilled.get("run-1")] == [f"m-{i:032x}" for i in (1, 24, 47)]  # listed order
    memory.close()
    spilled.close()


def test_spill_file_removed_on_close(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    index = LoggedModelsByRun(spill_after=2)
    for i in range(5):
        index.add("run", _record(i))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("mltrack-models-")]
    assert len(index.get("run")) == 5
    index.close()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("mltrack-models-")]


def _growth_mib(make, extra: int) -> float:
    """Traced memory held after adding `extra` more models than a 1,000-model baseline."""
    held = []
    for count in (1_000, 1_000 + extra):
        tracemalloc.start()
        index = make()
        for i in range(count):
            index.add(f"{i:032x}", _record(i))
        held.append(tracemalloc.get_traced_memory()[0])
        tracemalloc.stop()
        del index
    return (held[1] - held[0]) / 2**20


class _Dict:  # what the reader held before: run id -> list of records
    def __init__(self) -> None:
        self.d: dict[str, list[LoggedModelRecord]] = {}

    def add(self, run_id: str, record: LoggedModelRecord) -> None:
        self.d.setdefault(run_id, []).append(record)


def test_memory_does_not_grow_with_models() -> None:
    spilled = _growth_mib(lambda: LoggedModelsByRun(spill_after=500), 10_000)
    held = _growth_mib(_Dict, 10_000)
    assert held > 3.0, f"a dict of 10,000 models should cost MiBs (measured {held:.1f}): the test must be able to fail"
    assert spilled < 0.5, f"spilled index grew by {spilled:.2f} MiB for 10,000 models"


@pytest.fixture(scope="module")
def store_with_models(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Plain MLflow client code: 40 runs, most logging one or two MLflow 3 logged models."""
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("models")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("with-models", artifact_location=str(root / "artifacts"))
    for i in range(40):
        run = client.create_run(exp, start_time=1_700_000_000_000 + i, run_name=f"train-{i}").info.run_id
        for k in range(i % 3):
            model = client.create_logged_model(exp, name=f"net-{i}-{k}", source_run_id=run)
            if k == 0:
                client.finalize_logged_model(model.model_id, "READY")
        client.set_terminated(run)
    return uri


def test_snapshot_identical_spilled_or_not(store_with_models: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLTRACK_SPILL_RUNS", raising=False)
    plain = open_store(store_with_models).snapshot()
    monkeypatch.setenv("MLTRACK_SPILL_RUNS", "3")  # both the models and the run table spill
    spilled = open_store(store_with_models).snapshot()
    assert [r.run_id for r in spilled.runs] == [r.run_id for r in plain.runs]
    assert [r.logged_models for r in spilled.runs] == [r.logged_models for r in plain.runs]
    assert [r.logged_model_ids for r in spilled.runs] == [r.logged_model_ids for r in plain.runs]
    with_models = [r for r in plain.runs if r.logged_models]
    assert len(with_models) == 26 and sum(len(r.logged_models) for r in with_models) == 39
    assert {m.status for r in with_models for m in r.logged_models} >= {"READY", "PENDING"}


def test_read_leaves_no_spill_file(store_with_models: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setenv("MLTRACK_SPILL_RUNS", "3")
    snap = open_store(store_with_models).snapshot()
    assert sum(len(r.logged_models) for r in snap.runs) == 39
    assert not list(tmp_path.glob("mltrack-models-*"))  # closed when the read ended
