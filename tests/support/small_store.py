"""A small MLflow store written through the real MlflowClient (sqlite or a server), holding
one of everything the reader must see: users, params, metric histories, nested artifacts, a
deleted run, a deleted experiment, an MLflow 3 logged model with files, a registered model
with three versions, an alias, a legacy stage and tags. Names carry a suffix so several
tests may share one server."""

from __future__ import annotations

import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SmallStore:
    uri: str
    experiment: str
    deleted_experiment: str
    model_name: str
    run_ids: dict[str, str] = field(default_factory=dict)  # role -> run id
    model_id: str = ""


def build_small_store(uri: str, scratch: Path, artifact_root: Path | None = None) -> SmallStore:
    """Write the store. `artifact_root`: where experiments keep artifacts (sqlite stores need
    an absolute one; a server with --serve-artifacts chooses its own)."""
    from mlflow.tracking import MlflowClient

    suffix = uuid.uuid4().hex[:8]
    store = SmallStore(uri, f"small-{suffix}", f"small-gone-{suffix}", f"clf-{suffix}")
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    def location(name: str) -> str | None:
        return str(artifact_root / name) if artifact_root else None

    exp_id = client.create_experiment(store.experiment, artifact_location=location(store.experiment),
                                      tags={"team": "vision"})
    files = scratch / f"files-{suffix}"
    (files / "plots").mkdir(parents=True)
    (files / "plots" / "loss.txt").write_text("0.9 0.5 0.3\n")
    (files / "notes.md").write_text("# run notes\n")
    for role, user, lr, start in (("best", "alice", "0.01", 1_700_000_000_000),
                                  ("other", "bob", "0.1", 1_700_000_100_000)):
        run = client.create_run(exp_id, start_time=start, run_name=f"train-{role}",
                                tags={"mlflow.user": user, "mltrack.run_type": "training",
                                      "mlflow.source.git.commit": "1" * 40})
        run_id = run.info.run_id
        store.run_ids[role] = run_id
        client.log_param(run_id, "learning_rate", lr)
        client.log_param(run_id, "optimizer", "adam")
        for step, value in enumerate((0.5, 0.7, 0.9 if role == "best" else 0.6)):
            client.log_metric(run_id, "val_acc", value, step=step, timestamp=start + step)
        client.log_artifacts(run_id, str(files))
        client.set_terminated(run_id, end_time=start + 60_000)
    failed = client.create_run(exp_id, run_name="crashed", tags={"mlflow.user": "carol"})
    store.run_ids["failed"] = failed.info.run_id
    client.set_terminated(failed.info.run_id, status="FAILED")
    deleted = client.create_run(exp_id, run_name="discarded", tags={"mlflow.user": "bob"})
    store.run_ids["deleted"] = deleted.info.run_id
    client.delete_run(deleted.info.run_id)

    gone_id = client.create_experiment(store.deleted_experiment,
                                       artifact_location=location(store.deleted_experiment))
    store.run_ids["in_deleted_experiment"] = client.create_run(gone_id).info.run_id
    client.delete_experiment(gone_id)

    best = store.run_ids["best"]
    model = client.create_logged_model(exp_id, name="model", source_run_id=best)
    store.model_id = model.model_id
    model_files = scratch / f"model-{suffix}"
    model_files.mkdir()
    (model_files / "MLmodel").write_text("flavors: {}\n")
    (model_files / "weights.bin").write_bytes(b"\x00" * 1234)
    client.log_model_artifacts(model.model_id, str(model_files))
    client.finalize_logged_model(model.model_id, "READY")

    client.create_registered_model(store.model_name, tags={"owner": "alice"})
    for source, run_id, acc in ((f"runs:/{store.run_ids['other']}/plots", store.run_ids["other"], "0.6"),
                                (f"runs:/{best}/plots", best, "0.9"),
                                (model.artifact_location, best, "0.9")):
        # A `models:/m-...` source makes the registry look the model up through the global
        # tracking URI; registering by artifact location plus model_id is what MLflow 3 stores.
        client.create_model_version(store.model_name, source, run_id=run_id,
                                    tags={"val_acc": acc},
                                    model_id=None if source.startswith("runs:/") else model.model_id)
    client.set_registered_model_alias(store.model_name, "production", "3")
    client.set_registered_model_alias(store.model_name, "previous", "2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # stages are deprecated, still served
        client.transition_model_version_stage(store.model_name, "1", "Archived")
        client.transition_model_version_stage(store.model_name, "3", "Production")
    return store
