"""Many runs, fast: copy one real MLflow run's rows N times inside its sqlite database.

Creating runs through MlflowClient costs ~25 ms each on sqlite (≈5 runs/s through a server);
pagination tests and the read benchmark need thousands. The template run is written by MLflow
itself, so every copied row has exactly MLflow's schema; only ids, names and times change.
Used by tests/test_store_paging.py and benchmarks/bench_read.py; `clone_runs_postgres` and a
shared `artifact_uri` build the 100k-1M-run stores of benchmarks/bench_big_store.py.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

_PER_RUN_TABLES = ("params", "latest_metrics", "metrics")


def write_template_run(uri: str, experiment: str, artifact_location: str) -> tuple[str, str]:
    """One realistic training run (user, params, per-epoch metrics); returns (exp id, run id)."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    exp_id = exp.experiment_id if exp else client.create_experiment(
        experiment, artifact_location=artifact_location)
    run = client.create_run(exp_id, start_time=1_700_000_000_000, run_name="template",
                            tags={"mlflow.source.git.commit": "0" * 40})
    params = {"learning_rate": "0.01", "batch_size": "32", "epochs": "5", "optimizer": "adam",
              "model_architecture": "mlp-2x64", "random_seed": "7", "git_commit": "0" * 40,
              "data_hash": "f" * 64, "data_version": "v1"}
    metrics = [Metric(key, 0.5 + epoch / 20, 1_700_000_000_000 + epoch, epoch)
               for epoch in range(5) for key in ("train_loss", "val_loss", "val_acc")]
    client.log_batch(run.info.run_id, metrics=metrics,
                     params=[Param(k, v) for k, v in params.items()],
                     tags=[RunTag("mlflow.user", "alice"), RunTag("mltrack.run_type", "training")])
    client.set_terminated(run.info.run_id, end_time=1_700_000_060_000)
    return exp_id, run.info.run_id


def clone_runs(db_path: Path, template_run_id: str, count: int, *, artifact_uri: str | None = None,
               chunk: int = 2_000, return_ids: bool = True, model_template: str | None = None,
               data_per_run: bool = False) -> list[str]:
    """Insert `count` copies of the template run into a sqlite store; return their ids.

    Each clone gets its own artifact folder name (the template's with the id replaced) unless
    `artifact_uri` is given: then every clone shares that one folder, which is how a store of a
    million runs is built without a million folders (ext4 allows 65,000 hard links per file).
    Committed every `chunk` runs, so memory stays flat; `return_ids=False` keeps no id list.
    The worst shapes for a reader's memory: `model_template` (an MLflow 3 logged model's id)
    gives every clone its own copy of that model (as a store where each run calls `log_model`),
    sharing the template's artifact location; `data_per_run` gives each its own `data_hash`.
    """
    db = sqlite3.connect(db_path)
    try:
        template = _read_template(db.cursor(), "?", template_run_id, model_template, data_per_run)
        new_ids: list[str] = []
        for first in range(0, count, chunk):
            rows = _clone_rows(template, first, min(count, first + chunk), artifact_uri)
            with db:
                for table, batch in rows.items():
                    cols = template.columns[table]
                    db.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                   batch)
            if return_ids:
                new_ids.extend(r[template.columns["runs"].index("run_uuid")] for r in rows["runs"])
    finally:
        db.close()
    return new_ids


def clone_runs_postgres(uri: str, template_run_id: str, count: int, *, artifact_uri: str | None = None,
                        chunk: int = 10_000, model_template: str | None = None, data_per_run: bool = False) -> int:
    """The same copies written into a PostgreSQL store with COPY (psycopg 3); returns `count`."""
    import psycopg

    with psycopg.connect(uri.replace("postgresql+psycopg://", "postgresql://")) as conn:
        template = _read_template(conn.cursor(), "%s", template_run_id, model_template, data_per_run)
        for first in range(0, count, chunk):
            rows = _clone_rows(template, first, min(count, first + chunk), artifact_uri)
            with conn.cursor() as cursor:
                for table, batch in rows.items():
                    with cursor.copy(f"COPY {table} ({', '.join(template.columns[table])}) FROM STDIN") as copy:
                        for row in batch:
                            copy.write_row(row)
            conn.commit()
    return count


_USERS = ("alice", "bob", "carol")


@dataclass
class _Template:
    run_id: str
    columns: dict[str, list[str]]  # table -> column names, runs and every per-run table
    run: dict
    children: dict[str, list[tuple]]  # per-run table -> the template's rows
    model_id: str | None = None  # a logged model every clone gets a copy of
    model_rows: dict[str, list[tuple]] | None = None  # logged_model* table -> its rows
    data_per_run: bool = False


_MODEL_TABLES = ("logged_models", "logged_model_tags", "logged_model_params", "logged_model_metrics")


def _read_template(cursor, mark: str, run_id: str, model_id: str | None = None,
                   data_per_run: bool = False) -> _Template:
    columns, children = {}, {}
    for table in ("runs", *_PER_RUN_TABLES, "tags"):
        cursor.execute(f"SELECT * FROM {table} WHERE run_uuid = {mark}", (run_id,))
        columns[table] = [d[0] for d in cursor.description]
        children[table] = [tuple(r) for r in cursor.fetchall()]
    run = dict(zip(columns["runs"], children.pop("runs")[0]))
    model_rows = None
    if model_id is not None:
        model_rows = {}
        for table in _MODEL_TABLES:
            cursor.execute(f"SELECT * FROM {table} WHERE model_id = {mark}", (model_id,))
            columns[table] = [d[0] for d in cursor.description]
            model_rows[table] = [tuple(r) for r in cursor.fetchall()]
        assert model_rows["logged_models"], f"no logged model {model_id}"
    return _Template(run_id, columns, run, children, model_id, model_rows, data_per_run)


def _clone_rows(template: _Template, first: int, stop: int, artifact_uri: str | None) -> dict[str, list[tuple]]:
    """Rows of clones number first..stop-1, per table (runs first)."""
    out: dict[str, list[tuple]] = {table: [] for table in template.columns}
    run_cols, tag_cols = template.columns["runs"], template.columns["tags"]
    param_cols = template.columns["params"]
    key_at, value_at = tag_cols.index("key"), tag_cols.index("value")
    for index in range(first, stop):
        run_id, user = uuid.uuid4().hex, _USERS[index % 3]
        row = dict(template.run, run_uuid=run_id, name=f"bulk-{index}",
                   start_time=template.run["start_time"] + index * 1000,
                   end_time=template.run["end_time"] + index * 1000, user_id=user,
                   artifact_uri=artifact_uri or template.run["artifact_uri"].replace(template.run_id, run_id))
        out["runs"].append(tuple(row[c] for c in run_cols))
        for table in _PER_RUN_TABLES:
            at = template.columns[table].index("run_uuid")
            out[table].extend((*r[:at], run_id, *r[at + 1:]) for r in template.children[table])
        if template.data_per_run:  # this run's own data: a distinct data_hash value
            key, value = param_cols.index("key"), param_cols.index("value")
            digest = hashlib.sha256(f"bulk-data-{index}".encode()).hexdigest()
            out["params"] = out["params"][:-len(template.children["params"])] + [
                tuple(digest if i == value and r[key] == "data_hash" else v for i, v in enumerate(r))
                for r in out["params"][-len(template.children["params"]):]]
        if template.model_rows is not None:
            _clone_model(template, out, run_id, row["start_time"])
        at = tag_cols.index("run_uuid")
        for tag in template.children["tags"]:
            value = {"mlflow.runName": f"bulk-{index}", "mlflow.user": user}.get(tag[key_at], tag[value_at])
            out["tags"].append(tuple(run_id if i == at else value if i == value_at else v for i, v in enumerate(tag)))
    return out


def _clone_model(template: _Template, out: dict[str, list[tuple]], run_id: str, when: int) -> None:
    """A copy of the template's logged model, produced by `run_id` at `when`."""
    assert template.model_rows is not None
    model_id = f"m-{uuid.uuid4().hex}"
    replace = {"model_id": model_id, "source_run_id": run_id, "run_id": run_id,
               "creation_timestamp_ms": when, "last_updated_timestamp_ms": when}
    for table, rows in template.model_rows.items():
        cols = template.columns[table]
        out[table].extend(tuple(replace.get(c, v) for c, v in zip(cols, r)) for r in rows)
