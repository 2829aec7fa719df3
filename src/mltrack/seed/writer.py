"""Write planned runs into MLflow with the low-level client, backdated to their place in time.

The metrics written are exactly what `recipe.train` returned; a break only leaves fields out.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shlex
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from mltrack import conventions as cv
from mltrack.seed.breaks import Omissions
from mltrack.seed.plan import InferenceSlot, Slot
from mltrack.seed.provenance import Provenance
from mltrack.seed.recipe import TrainResult

TRAIN_SCRIPT = "fixtures/reference/train.py"
INFER_SCRIPT = "fixtures/reference/infer.py"
SECONDS_PER_EPOCH = 30
INFERENCE_BATCH_ROWS = 20


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def training_fields(slot: Slot, result: TrainResult, provenance: Provenance, data_path: str,
                    omit: Omissions) -> tuple[dict[str, str], dict[str, str]]:
    """The params and tags of one training run."""
    cfg = slot.config
    params = {
        cv.PARAM_LEARNING_RATE: repr(cfg.learning_rate), cv.PARAM_BATCH_SIZE: str(cfg.batch_size),
        cv.PARAM_EPOCHS: str(cfg.epochs), cv.PARAM_OPTIMIZER: cfg.optimizer,
        cv.PARAM_ARCHITECTURE: cfg.model_architecture, cv.PARAM_SEED: str(cfg.random_seed),
        cv.PARAM_GIT_COMMIT: provenance.git_commit, cv.PARAM_GIT_DIRTY: provenance.git_dirty,
        cv.PARAM_DATA_HASH: result.data_hash, cv.PARAM_DATA_VERSION: cfg.data_version,
        "data_path": data_path,
        cv.PARAM_PYTHON_VERSION: provenance.python_version,
        cv.PARAM_TORCH_VERSION: provenance.torch_version,
    }
    tags = {
        cv.TAG_USER: slot.user, cv.TAG_RUN_TYPE: cv.RUN_TYPE_TRAINING,
        cv.TAG_GIT_COMMIT: provenance.git_commit,
        "mlflow.source.name": TRAIN_SCRIPT, "mlflow.source.type": "LOCAL",
        cv.TAG_COMMAND: train_command(cfg),
        "mlflow.note.content": f"Reference search run {slot.index} on data {cfg.data_version}.",
    }
    if slot.keep:
        tags[cv.TAG_KEEP] = "true"
    if omit.seed_and_commit:
        del params[cv.PARAM_SEED], params[cv.PARAM_GIT_COMMIT], tags[cv.TAG_GIT_COMMIT]
    if omit.data_hash:
        del params[cv.PARAM_DATA_HASH]
    if omit.environment_and_artifacts:
        del params[cv.PARAM_PYTHON_VERSION], params[cv.PARAM_TORCH_VERSION]
    return params, tags


def train_command(cfg: Any) -> str:
    """The command line of fixtures/reference/train.py that re-trains this configuration."""
    return shlex.join([
        "python", TRAIN_SCRIPT, "--learning-rate", repr(cfg.learning_rate),
        "--batch-size", str(cfg.batch_size), "--epochs", str(cfg.epochs),
        "--optimizer", cfg.optimizer, "--architecture", cfg.model_architecture,
        "--seed", str(cfg.random_seed), "--data-version", cfg.data_version,
    ])


def write_training_run(client: Any, experiment_id: str, slot: Slot, result: TrainResult,
                       epoch_states: list[dict], fields: tuple[dict[str, str], dict[str, str]],
                       with_artifacts: bool, finish: bool = True) -> str:
    """Create, fill and (unless `finish=False`) terminate one backdated training run."""
    import torch
    from mlflow.entities import Metric, Param, RunTag

    params, tags = fields
    run = client.create_run(experiment_id, start_time=ms(slot.start), tags=tags, run_name=slot.name)
    run_id = run.info.run_id
    metrics = [
        Metric(key, float(epoch[key]), ms(slot.start) + 1000 * SECONDS_PER_EPOCH * (epoch["step"] + 1),
               int(epoch["step"]))
        for epoch in result.history for key in ("train_loss", "val_loss", "val_acc")
    ]
    client.log_batch(run_id, metrics=metrics, params=[Param(k, v) for k, v in params.items()],
                     tags=[RunTag("mlflow.runName", slot.name)])
    if with_artifacts:
        with tempfile.TemporaryDirectory(prefix="mltrack-seed-") as tmp:
            folder = Path(tmp) / "checkpoints"
            folder.mkdir()
            torch.save(result.best_state_dict, folder / "best.pt")
            torch.save(result.final_model.state_dict(), folder / "final.pt")
            if slot.every_epoch_checkpoints:
                for step, state in enumerate(epoch_states):
                    torch.save(state, folder / f"epoch-{step:02d}.pt")
            client.log_artifacts(run_id, tmp)
    if finish:
        client.set_terminated(run_id, "FINISHED", end_time=ms(slot.end))
    return run_id


def _table(header: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("ascii")


def inference_name(moment: datetime) -> str:
    return f"inference-{moment.strftime('%Y%m%dT%H%M%SZ')}"


def write_inference_run(client: Any, experiment_id: str, slot: InferenceSlot, model: Any,
                        requests: Any, model_name: str, training_run_id: str,
                        omit_hashes: bool) -> str:
    """Predict one batch of requests with `model` (a loaded registered version) and log it."""
    from mlflow.entities import Metric, Param, RunTag

    from mltrack.seed.recipe import predict

    rows = requests[slot.batch * INFERENCE_BATCH_ROWS:(slot.batch + 1) * INFERENCE_BATCH_ROWS]
    predictions = predict(model, rows)
    header = [f"f{i}" for i in range(rows.shape[1])]
    input_bytes = _table(header, [[f"{v:.4f}" for v in row] for row in rows])
    output_bytes = _table(["row", "prediction"], [[i, int(p)] for i, p in enumerate(predictions)])
    params = {
        "model_name": model_name, "model_version": str(slot.version),
        "input_data_hash": hashlib.sha256(input_bytes).hexdigest(),
        "predictions_hash": hashlib.sha256(output_bytes).hexdigest(),
        "inference_timestamp": slot.at.isoformat(timespec="seconds"),
        "training_run_id": training_run_id,
    }
    if omit_hashes:
        del params["input_data_hash"], params["predictions_hash"]
    name = inference_name(slot.at)
    tags = {cv.TAG_USER: slot.user, cv.TAG_RUN_TYPE: cv.RUN_TYPE_INFERENCE,
            "mlflow.source.name": INFER_SCRIPT, "mlflow.source.type": "LOCAL"}
    run = client.create_run(experiment_id, start_time=ms(slot.at), tags=tags, run_name=name)
    run_id = run.info.run_id
    client.log_batch(run_id, metrics=[Metric("n_predictions", float(len(predictions)), ms(slot.at), 0)],
                     params=[Param(k, v) for k, v in params.items()],
                     tags=[RunTag("mlflow.runName", name)])
    with tempfile.TemporaryDirectory(prefix="mltrack-infer-") as tmp:
        (Path(tmp) / "input.csv").write_bytes(input_bytes)
        (Path(tmp) / "predictions.csv").write_bytes(output_bytes)
        client.log_artifacts(run_id, tmp)
    client.set_terminated(run_id, "FINISHED", end_time=ms(slot.at) + 2000)
    return run_id


def write_scratch_runs(client: Any, experiment_id: str, users: tuple[str, ...], now: datetime) -> None:
    """The `onboarding` break: runs nobody named, finished or gave a metric."""
    for index, status in enumerate(("FAILED", "FAILED", "RUNNING")):
        start = ms(now) - (index + 2) * 86_400_000
        # Deliberately without a code version: these are the careless runs the break is about.
        run = client.create_run(experiment_id, start_time=start,  # noqa: MLT006
                                tags={cv.TAG_USER: users[index % len(users)]})
        if status != "RUNNING":
            client.set_terminated(run.info.run_id, status, end_time=start + 60_000)
