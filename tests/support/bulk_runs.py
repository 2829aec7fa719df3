"""Many runs, fast: copy one real MLflow run's rows N times inside its sqlite database.

Creating runs through MlflowClient costs ~25 ms each on sqlite (≈5 runs/s through a server);
pagination tests and the read benchmark need thousands. The template run is written by MLflow
itself, so every copied row has exactly MLflow's schema; only ids, names and times change.
Used by tests/test_store_paging.py and benchmarks/bench_read.py.
"""

from __future__ import annotations

import sqlite3
import uuid
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


def clone_runs(db_path: Path, template_run_id: str, count: int) -> list[str]:
    """Insert `count` copies of the template run (one transaction); return their ids."""
    db = sqlite3.connect(db_path)
    try:
        columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
        template = dict(zip(columns, db.execute(
            "SELECT * FROM runs WHERE run_uuid = ?", (template_run_id,)).fetchone()))
        children = {table: db.execute(f"SELECT * FROM {table} WHERE run_uuid = ?",
                                      (template_run_id,)).fetchall() for table in _PER_RUN_TABLES}
        child_columns = {table: [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
                         for table in _PER_RUN_TABLES}
        tags = db.execute("SELECT key, value FROM tags WHERE run_uuid = ?",
                          (template_run_id,)).fetchall()
        users = ("alice", "bob", "carol")
        new_ids = []
        with db:
            for index in range(count):
                run_id = uuid.uuid4().hex
                new_ids.append(run_id)
                row = dict(template, run_uuid=run_id, name=f"bulk-{index}",
                           start_time=template["start_time"] + index * 1000,
                           end_time=template["end_time"] + index * 1000,
                           user_id=users[index % 3],
                           artifact_uri=template["artifact_uri"].replace(template_run_id, run_id))
                db.execute(f"INSERT INTO runs ({', '.join(columns)}) VALUES "
                           f"({', '.join('?' * len(columns))})", [row[c] for c in columns])
                for table, rows in children.items():
                    cols = child_columns[table]
                    at = cols.index("run_uuid")
                    db.executemany(
                        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                        [(*r[:at], run_id, *r[at + 1:]) for r in rows])
                db.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                               [(k, f"bulk-{index}" if k == "mlflow.runName" else
                                 users[index % 3] if k == "mlflow.user" else v, run_id)
                                for k, v in tags])
    finally:
        db.close()
    return new_ids
