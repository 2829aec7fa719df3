"""The reference dataset: a small synthetic tabular classification task in two versions.

Made with numpy from fixed seeds, written as CSV with a fixed number format, so the files are
byte-identical on every machine and their sha256 is a stable data version. v2 has less label
noise and more rows than v1, so the same recipe scores a higher `val_acc` on v2 (the newer data
moves the metric, which is what the `data-change` check is about).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VERSIONS = ("v1", "v2")
N_FEATURES = 8
N_CLASSES = 3
SPLITS = ("train.csv", "val.csv")
INFERENCE_FILE = "requests.csv"

# Per version: (rows in train, rows in val, fraction of labels flipped, generator seed).
_SPEC = {"v1": (480, 1000, 0.22, 101), "v2": (720, 1000, 0.04, 202)}
_CLASS_SEED = 7  # class centres are shared by both versions: same task, different data
_INFERENCE_ROWS = 240
_INFERENCE_SEED = 303

# The files shipped in the repository; a wheel without them regenerates into a cache.
_REPO_DATA = Path(__file__).resolve().parents[3] / "fixtures" / "reference" / "data"


@dataclass(frozen=True)
class Dataset:
    version: str
    x_train: np.ndarray  # float32 (rows, N_FEATURES)
    y_train: np.ndarray  # int64 (rows,)
    x_val: np.ndarray
    y_val: np.ndarray
    path: Path
    sha256: str


def _centres() -> np.ndarray:
    return np.random.default_rng(_CLASS_SEED).normal(0.0, 1.6, size=(N_CLASSES, N_FEATURES))


def _sample(rng: np.random.Generator, rows: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, N_CLASSES, size=rows)
    features = _centres()[labels] + rng.normal(0.0, 1.0, size=(rows, N_FEATURES))
    # A non-linear feature so a hidden layer helps a little.
    features[:, -1] = np.tanh(features[:, 0] * features[:, 1])
    flip = rng.random(rows) < noise
    labels = np.where(flip, rng.integers(0, N_CLASSES, size=rows), labels)
    return features, labels


def _csv(features: np.ndarray, labels: np.ndarray | None) -> str:
    header = [f"f{i}" for i in range(features.shape[1])] + ([] if labels is None else ["label"])
    lines = [",".join(header)]
    for row_index, row in enumerate(features):
        cells = [f"{value:.4f}" for value in row]
        if labels is not None:
            cells.append(str(int(labels[row_index])))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def write_dataset(data_dir: Path) -> list[Path]:
    """Write v1/, v2/ and inference/requests.csv under `data_dir`; return the files written."""
    written = []
    for version in VERSIONS:
        train_rows, val_rows, noise, seed = _SPEC[version]
        rng = np.random.default_rng(seed)
        folder = data_dir / version
        folder.mkdir(parents=True, exist_ok=True)
        for name, rows in zip(SPLITS, (train_rows, val_rows)):
            features, labels = _sample(rng, rows, noise)
            (folder / name).write_text(_csv(features, labels), encoding="ascii", newline="\n")
            written.append(folder / name)
    features, _ = _sample(np.random.default_rng(_INFERENCE_SEED), _INFERENCE_ROWS, 0.0)
    (data_dir / "inference").mkdir(parents=True, exist_ok=True)
    requests = data_dir / "inference" / INFERENCE_FILE
    requests.write_text(_csv(features, None), encoding="ascii", newline="\n")
    return [*written, requests]


def default_data_dir() -> Path:
    """The repository's fixtures/reference/data, or a generated copy in the user cache."""
    if (_REPO_DATA / "v1" / "train.csv").is_file():
        return _REPO_DATA
    cache = Path.home() / ".cache" / "mltrack" / "reference-data"
    if not (cache / "v2" / "val.csv").is_file():
        write_dataset(cache)
    return cache


def file_sha256(paths: list[Path]) -> str:
    """sha256 over the bytes of `paths`, in sorted order by file name (stable across machines)."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def dataset_hash(version: str, data_dir: Path | None = None) -> str:
    """The content hash of one data version: its CSV files, sorted by name."""
    folder = _version_dir(version, data_dir)
    return file_sha256([folder / name for name in SPLITS])


def _version_dir(version: str, data_dir: Path | None) -> Path:
    if version not in VERSIONS:
        raise ValueError(f"unknown data version {version!r}; expected one of {', '.join(VERSIONS)}")
    return Path(data_dir or default_data_dir()) / version


def read_csv(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Features (float32) and labels (int64, or None for an unlabelled file)."""
    header = path.open(encoding="ascii").readline().strip().split(",")
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    if header[-1] == "label":
        return table[:, :-1].astype(np.float32), table[:, -1].astype(np.int64)
    return table.astype(np.float32), None


def load_dataset(version: str, data_dir: Path | None = None) -> Dataset:
    folder = _version_dir(version, data_dir)
    x_train, y_train = read_csv(folder / "train.csv")
    x_val, y_val = read_csv(folder / "val.csv")
    assert y_train is not None and y_val is not None, f"{folder} holds unlabelled files"
    return Dataset(version, x_train, y_train, x_val, y_val, folder,
                   dataset_hash(version, folder.parent))
