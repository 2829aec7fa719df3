"""The reader on the real reference store (`mltrack seed`, really trained runs): everything the
pressure checks need is read, and a full read leaves the store byte-identical."""

from __future__ import annotations

from pathlib import Path

from mltrack import conventions as c
from mltrack.model import StoreSnapshot
from mltrack.stores import open_store
from tests.support.dump import assert_unchanged, dump_store


def test_reference_store_reads_completely_and_unchanged(small_reference_store, tmp_path: Path) -> None:
    seeded = small_reference_store
    before = dump_store(seeded.db_path, seeded.artifacts_dir)
    store = open_store(seeded.uri)
    snap = store.snapshot()

    training = snap.experiment(c.REFERENCE_EXPERIMENT)
    runs = [r for r in snap.runs_in(training) if r.tags.get(c.TAG_RUN_TYPE) == c.RUN_TYPE_TRAINING]
    assert len(runs) >= 10
    assert len({r.user for r in snap.runs}) >= 3
    best = max((r for r in runs if c.METRIC in r.metrics), key=lambda r: r.metrics[c.METRIC])
    assert {c.PARAM_LEARNING_RATE, c.PARAM_DATA_HASH, c.PARAM_SEED} <= set(best.params)
    history = store.metric_history(best.run_id, c.METRIC)
    assert history and history[-1][1] == best.metrics[c.METRIC]  # latest = last step's value

    model = snap.registered_model(c.REGISTERED_MODEL)
    production = model.aliases[c.PRODUCTION_ALIAS]
    assert len(model.versions) >= 3
    assert model.version(production).aliases == (c.PRODUCTION_ALIAS,)
    registered = model.version(production)
    if registered.model_id:  # MLflow 3: the logged model's files count toward its run
        files = store.list_artifacts(registered.run_id)
        assert any(f.path.startswith(f"models/{registered.model_id}/") and f.size for f in files)
    local = store.download_model(f"models:/{c.REGISTERED_MODEL}@{c.PRODUCTION_ALIAS}", tmp_path / "m")
    assert any(local.rglob("MLmodel"))

    assert StoreSnapshot.from_json(snap.to_json()) == snap
    store.close()
    assert_unchanged(before, dump_store(seeded.db_path, seeded.artifacts_dir))
