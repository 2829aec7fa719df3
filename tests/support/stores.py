"""Seeded reference stores for tests, seeded once per (break, runs) per whole pytest run.

`seeded_store(root, break_check, runs)` seeds a sqlite store under `root` the first time it is
asked for and reuses it afterwards, across pytest-xdist workers too: a file lock serialises the
seeding and a marker file says it finished. Treat the result as read-only; a test that writes
(rollback, cleanup) takes `copy_store(seeded, dst)` first.

Fixtures (registered by tests/conftest.py): `seeded_root`, `reference_store` (complete, the
default 120 runs), `small_reference_store` (complete, TEST_RUNS runs) and `break_store`, a factory:
`break_store("rollback")` -> a SeededStore with TEST_RUNS runs and that one break.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

DEFAULT_RUNS = 120
TEST_RUNS = 24  # enough for every check's default policy (a search needs >= 10 runs)
_MARKER = "seeded.json"


@dataclass(frozen=True)
class SeededStore:
    uri: str  # sqlite:///<db_path>
    db_path: Path
    artifacts_dir: Path  # every artifact of the store lives under here
    summary: dict | None = None  # SeedSummary as a dict, when this helper seeded it


def _store_at(folder: Path, summary: dict | None = None) -> SeededStore:
    db = folder / "mlflow.db"
    # mltrack.seed puts a sqlite store's artifacts beside the database: <stem>-artifacts/.
    return SeededStore(f"sqlite:///{db}", db, folder / "mlflow-artifacts", summary)


def seeded_store(tmp_root: Path, break_check: str | None = None, runs: int = TEST_RUNS) -> SeededStore:
    """The store `mltrack seed --runs RUNS [--break CHECK]` makes, seeded once under `tmp_root`."""
    from dataclasses import asdict

    from mltrack.seed.seeder import seed_store

    folder = Path(tmp_root) / "mltrack-seeded" / f"{break_check or 'complete'}-{runs}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock", timeout=600):
        marker = folder / _MARKER
        if marker.is_file():
            return _store_at(folder, json.loads(marker.read_text()))
        shutil.rmtree(folder, ignore_errors=True)  # a seeding that died half-way
        folder.mkdir()
        store = _store_at(folder)
        # Creating MLflow's schema costs 2-10 s of migrations; do it once and copy the result.
        shutil.copy2(empty_database(folder.parent), store.db_path)
        summary = asdict(seed_store(store.uri, runs=runs, break_check=break_check))
        marker.write_text(json.dumps(summary, default=str))
        return _store_at(folder, summary)


def empty_database(root: Path) -> Path:
    """An empty sqlite store with MLflow's current schema, made once under `root`."""
    template = root / "empty-mlflow.db"
    with FileLock(str(template) + ".lock", timeout=600):
        if not template.is_file():
            from mlflow import MlflowClient

            building = root / "empty-mlflow.building.db"
            building.unlink(missing_ok=True)
            MlflowClient(tracking_uri=f"sqlite:///{building}").search_experiments(max_results=1)
            building.rename(template)
    return template


def _rewrite_database(db_path: Path, replacements: dict[str, str]) -> None:
    """Replace every key of `replacements` by its value in every text cell of the database."""
    pattern = re.compile("|".join(re.escape(k) for k in sorted(replacements, key=len, reverse=True)))
    with closing(sqlite3.connect(db_path)) as db, db:  # commit, then close
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [c[1] for c in db.execute(f'PRAGMA table_info("{table}")')]
            for row in db.execute(f'SELECT rowid, * FROM "{table}"').fetchall():
                changed = {c: pattern.sub(lambda m: replacements[m.group(0)], v)
                           for c, v in zip(columns, row[1:]) if isinstance(v, str) and pattern.search(v)}
                if changed:
                    sets = ", ".join(f'"{c}" = ?' for c in changed)
                    db.execute(f'UPDATE "{table}" SET {sets} WHERE rowid = ?', (*changed.values(), row[0]))


def copy_store(seeded: SeededStore, dst: Path) -> SeededStore:
    """A private copy under `dst` that tests may write to; the original never changes.

    The database stores absolute artifact locations, so the copy's point at its own artifacts.
    Run and logged-model ids are renamed too: MLflow caches each run's artifact location per
    process by run id, so a copy sharing ids would send its writes to the original's files.
    """
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    copy = _store_at(dst, seeded.summary)
    shutil.copy2(seeded.db_path, copy.db_path)
    with closing(sqlite3.connect(copy.db_path)) as db:
        ids = [r[0] for r in db.execute("SELECT run_uuid FROM runs")]
        ids += [r[0] for r in db.execute("SELECT model_id FROM logged_models")]
    renamed = {old: (f"m-{uuid.uuid4().hex}" if old.startswith("m-") else uuid.uuid4().hex) for old in ids}
    _rewrite_database(copy.db_path, {str(seeded.artifacts_dir): str(copy.artifacts_dir), **renamed})
    if seeded.artifacts_dir.exists():
        shutil.copytree(seeded.artifacts_dir, copy.artifacts_dir)
        for folder in sorted(copy.artifacts_dir.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if folder.is_dir() and folder.name in renamed:
                folder.rename(folder.with_name(renamed[folder.name]))
    return copy


@pytest.fixture(scope="session")
def seeded_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by all xdist workers of one run (their basetemps' parent); per run without xdist."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def reference_store(seeded_root: Path) -> SeededStore:
    """The complete reference store, default size (120 training runs). Do not write to it."""
    return seeded_store(seeded_root, None, DEFAULT_RUNS)


@pytest.fixture(scope="session")
def small_reference_store(seeded_root: Path) -> SeededStore:
    """The complete reference store with TEST_RUNS runs: the baseline of the break stores."""
    return seeded_store(seeded_root, None, TEST_RUNS)


@pytest.fixture(scope="session")
def break_store(seeded_root: Path) -> Callable[..., SeededStore]:
    """`break_store(check, runs=TEST_RUNS)`: the reference store seeded with `--break check`."""

    def make(check: str, runs: int = TEST_RUNS) -> SeededStore:
        return seeded_store(seeded_root, check, runs)

    return make


# --- A normalised view of a store, read with MlflowClient directly --------------------------

_TIMES = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\+00:00)?|\d{8}T\d{6}Z")


def _all_runs(client, experiment_ids: list[str]) -> list:
    from mlflow.entities import ViewType

    runs, token = [], None
    while True:
        page = client.search_runs(experiment_ids, run_view_type=ViewType.ALL, max_results=1000,
                                  page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _artifacts(client, run_id: str, path: str | None = None) -> list[str]:
    found = []
    for item in client.list_artifacts(run_id, path):
        found.extend(_artifacts(client, run_id, item.path) if item.is_dir else [item.path])
    return sorted(found)


def normalised_dump(uri: str) -> dict:
    """Everything a check could read, without ids or wall-clock times, so two seedings compare.

    Runs are keyed `experiment/run name` (times in names become `<T>`, repeats get `#n`, MLflow's
    random names of unnamed runs become `unnamed`); run ids inside values become run keys; run
    times become offsets from the newest training run's start, which seeding fixes exactly.
    """
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    from mltrack import conventions as cv

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiments = [e for e in client.search_experiments(view_type=ViewType.ALL) if e.name != "Default"]
    runs = sorted(_all_runs(client, [e.experiment_id for e in experiments]),
                  key=lambda r: (r.info.start_time, r.info.run_name or ""))
    names = {e.experiment_id: e.name for e in experiments}
    origin = max(r.info.start_time for r in runs
                 if r.data.tags.get(cv.TAG_RUN_TYPE) == cv.RUN_TYPE_TRAINING)
    keys: dict[str, str] = {}
    for run in runs:
        # The scratch experiment's runs were created without a name: MLflow made one up at random.
        named = not names[run.info.experiment_id].endswith("-scratch")
        base = f"{names[run.info.experiment_id]}/{_TIMES.sub('<T>', run.info.run_name) if named else 'unnamed'}"
        key, n = base, 1
        while key in keys.values():
            n += 1
            key = f"{base}#{n}"
        keys[run.info.run_id] = key

    def clean(value: str) -> str:
        for run_id, key in keys.items():
            value = value.replace(run_id, key)
        return _TIMES.sub("<T>", value)

    dump: dict = {"experiments": {}, "runs": {}, "models": {}}
    for experiment in experiments:
        logged = client.search_logged_models([experiment.experiment_id])
        dump["experiments"][experiment.name] = {
            "lifecycle": experiment.lifecycle_stage,
            "tags": {k: v for k, v in experiment.tags.items()},
            "logged_models": sorted(clean(m.source_run_id or "") for m in logged),
        }
    for run in runs:
        history = {key: [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, key)]
                   for key in run.data.metrics}
        dump["runs"][keys[run.info.run_id]] = {
            "status": run.info.status, "lifecycle": run.info.lifecycle_stage,
            "start": run.info.start_time - origin,
            "end": None if run.info.end_time is None else run.info.end_time - origin,
            "params": {k: clean(v) for k, v in run.data.params.items()},
            "tags": {k: clean(v) for k, v in run.data.tags.items()
                     if k not in {"mlflow.log-model.history", "mlflow.runName"}},
            "metrics": history,
            "artifacts": _artifacts(client, run.info.run_id),
        }
    for model in client.search_registered_models():
        full = client.get_registered_model(model.name)
        versions = client.search_model_versions(f"name = '{model.name}'")
        dump["models"][model.name] = {
            "tags": {k: clean(v) for k, v in full.tags.items()},
            # sqlite gives versions as ints, a server as strings
            "aliases": {alias: str(number) for alias, number in full.aliases.items()},
            "versions": {str(v.version): {"stage": v.current_stage, "run": clean(v.run_id),
                                     "tags": {k: clean(t) for k, t in v.tags.items()}}
                         for v in versions},
        }
    return dump


# A break removes one property, so exactly its check fails. Where another check shares that
# property it may warn (never fail): recovery warns on a best run whose data has no hash;
# onboarding warns on a registered version (v1) whose training run the cleanup break deleted.
BREAK_SIDE_WARNINGS: dict[str, dict[str, str]] = {"data-change": {"recovery": "warn"},
                                                  "artifact-cleanup": {"onboarding": "warn"}}


def expected_verdicts(broken: str, names) -> dict[str, str]:
    """The statuses every check must have on the `--break broken` store."""
    return {n: "pass" for n in names} | BREAK_SIDE_WARNINGS.get(broken, {}) | {broken: "fail"}
