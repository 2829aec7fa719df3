"""The reference dataset and recipe: byte-stable files, a metric that moves, determinism."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltrack.seed.dataset import VERSIONS, dataset_hash, default_data_dir, load_dataset, write_dataset
from mltrack.seed.provenance import UNKNOWN, git_state
from mltrack.seed.recipe import TrainConfig, build_model, predict, train

SHIPPED = Path(__file__).resolve().parents[1] / "fixtures" / "reference" / "data"


def test_generator_reproduces_the_shipped_files_byte_for_byte(tmp_path: Path) -> None:
    written = write_dataset(tmp_path)
    assert len(written) == 5
    for path in written:
        shipped = SHIPPED / path.relative_to(tmp_path)
        assert shipped.read_bytes() == path.read_bytes(), f"{shipped} differs from the generator"
    for version in VERSIONS:
        assert dataset_hash(version, tmp_path) == dataset_hash(version, SHIPPED)


def test_files_are_small_and_versions_hash_differently() -> None:
    assert default_data_dir() == SHIPPED
    assert sum(p.stat().st_size for p in SHIPPED.rglob("*.csv")) < 300_000
    assert dataset_hash("v1") != dataset_hash("v2")
    data = load_dataset("v1")
    assert data.x_train.shape[1] == 8 and data.sha256 == dataset_hash("v1")
    with pytest.raises(ValueError, match="unknown data version"):
        load_dataset("v3")


def test_same_config_trains_to_identical_metrics() -> None:
    config = TrainConfig(learning_rate=0.03, batch_size=16, optimizer="sgd", data_version="v1")
    first, second = train(config), train(config)
    assert first.history == second.history  # exact floats, every epoch
    assert first.best_epoch == second.best_epoch
    assert [row["step"] for row in first.history] == list(range(config.epochs))
    other = train(TrainConfig(learning_rate=0.03, batch_size=16, optimizer="sgd", data_version="v1",
                              random_seed=7))
    assert other.history != first.history  # the seed matters, so the test above can fail


def test_newer_data_moves_the_metric_up() -> None:
    v1 = train(TrainConfig(data_version="v1")).history[-1]["val_acc"]
    v2 = train(TrainConfig(data_version="v2")).history[-1]["val_acc"]
    assert v2 > v1 + 0.05


def test_best_checkpoint_and_predictions() -> None:
    result = train(TrainConfig(epochs=3))
    assert result.best_val_acc == max(row["val_acc"] for row in result.history)
    model = build_model("mlp-8-32-3")
    model.load_state_dict(result.best_state_dict)
    labels = predict(model, load_dataset("v2").x_val)
    assert labels.shape == (1000,) and set(labels.tolist()) <= {0, 1, 2}


def test_git_state_outside_a_checkout_is_unknown(tmp_path: Path) -> None:
    assert git_state(tmp_path) == (UNKNOWN, UNKNOWN)
    commit, dirty = git_state(SHIPPED)
    assert len(commit) == 40 and dirty in {"true", "false"}
