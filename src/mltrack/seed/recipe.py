"""Reference training: a tiny PyTorch MLP on the reference dataset. No tracker in here.

`train(config)` is deterministic on the CPU: it seeds Python, NumPy and torch, turns on
deterministic algorithms and uses one thread, so the same config gives the same metrics to the
last digit. The MLflow seeder and the W&B seeder both log what this returns.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mltrack.seed.dataset import Dataset, dataset_hash, load_dataset

__all__ = ["TrainConfig", "TrainResult", "train", "predict", "build_model", "load_dataset",
           "dataset_hash", "seed_everything"]

OPTIMIZERS = ("sgd", "adam")
ARCHITECTURES = {"mlp-8-32-3": (32,), "mlp-8-16-16-3": (16, 16)}


@dataclass(frozen=True)
class TrainConfig:
    learning_rate: float = 0.01
    batch_size: int = 32
    epochs: int = 6
    optimizer: str = "adam"
    model_architecture: str = "mlp-8-32-3"
    random_seed: int = 42
    data_version: str = "v2"


@dataclass(frozen=True)
class TrainResult:
    config: TrainConfig
    history: list[dict[str, float]]  # per epoch: step, train_loss, val_loss, val_acc
    best_epoch: int  # the `step` of the epoch with the highest val_acc (first one on ties)
    best_state_dict: dict[str, torch.Tensor] = field(repr=False)
    final_model: nn.Module = field(repr=False)
    data_hash: str = ""

    @property
    def best_val_acc(self) -> float:
        return self.history[self.best_epoch]["val_acc"]


def seed_everything(seed: int) -> None:
    """Seed every RNG the recipe touches and make torch's kernels deterministic."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    # One thread: reductions then always run in the same order (and 2 shared cores stay usable).
    torch.set_num_threads(1)


def build_model(architecture: str, n_features: int = 8, n_classes: int = 3) -> nn.Module:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; expected one of {sorted(ARCHITECTURES)}")
    layers: list[nn.Module] = []
    width = n_features
    for hidden in ARCHITECTURES[architecture]:
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)


def _optimizer(name: str, params: Any, learning_rate: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=learning_rate, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params, lr=learning_rate)
    raise ValueError(f"unknown optimizer {name!r}; expected one of {OPTIMIZERS}")


def _evaluate(model: nn.Module, data: Dataset) -> tuple[float, float]:
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(data.x_val))
        labels = torch.from_numpy(data.y_val)
        loss = nn.functional.cross_entropy(logits, labels).item()
        accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
    return loss, accuracy


def train(
    config: TrainConfig,
    data_dir: Path | None = None,
    on_epoch: Callable[[int, nn.Module], None] | None = None,
) -> TrainResult:
    """Train one model; `on_epoch(step, model)` is called after each epoch (e.g. to checkpoint)."""
    seed_everything(config.random_seed)
    data = load_dataset(config.data_version, data_dir)
    model = build_model(config.model_architecture, data.x_train.shape[1])
    optimizer = _optimizer(config.optimizer, model.parameters(), config.learning_rate)
    features, labels = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    shuffler = torch.Generator().manual_seed(config.random_seed)
    history: list[dict[str, float]] = []
    best_epoch, best_state = 0, copy.deepcopy(model.state_dict())
    for step in range(config.epochs):
        model.train()
        order = torch.randperm(len(labels), generator=shuffler)
        total, seen = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            batch = order[start:start + config.batch_size]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(features[batch]), labels[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
            seen += len(batch)
        val_loss, val_acc = _evaluate(model, data)
        history.append({"step": step, "train_loss": total / seen, "val_loss": val_loss,
                        "val_acc": val_acc})
        if val_acc > history[best_epoch]["val_acc"] or step == 0:
            best_epoch, best_state = step, copy.deepcopy(model.state_dict())
        if on_epoch is not None:
            on_epoch(step, model)
    return TrainResult(config, history, best_epoch, best_state, model, data.sha256)


def predict(model: nn.Module, inputs: np.ndarray) -> np.ndarray:
    """Class predictions (int64) for a float feature matrix (an nn.Module or a loaded pt2 model)."""
    try:
        model.eval()
    except NotImplementedError:  # an exported (pt2) program is always in inference mode
        pass
    with torch.no_grad():
        return model(torch.from_numpy(np.asarray(inputs, dtype=np.float32))).argmax(dim=1).numpy()
