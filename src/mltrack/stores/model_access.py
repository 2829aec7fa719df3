"""Models behind the store layer: download through the adapter, verify without running, load
opt-in in a child process.

`model_access(adapter)` is the `ModelAccess` (stores/base.py) that the pressure suite and
`mltrack rollback` ask for a model; neither imports a vendor SDK. What is vendor-specific lives
here and in `model_load.py`: torch's weights-only load of a plain tensor archive, the child that
loads a model as its owner would (`mlflow.pytorch`, `mlflow.pyfunc`, `torch.load`), and how a
model URI names the logged model behind it (`models:/m-<id>`, `models:/<name>/<version>`). The
byte-level checks (zip CRCs, safetensors header, pickle opcodes) are vendor-free and stay in
`mltrack.model_verify`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mltrack.model import StoreSnapshot
from mltrack.model_verify import verify_model_dir
from mltrack.stores.base import ModelAccess, StoreAdapter
from mltrack.stores.model_load import DEFAULT_TIMEOUT_S, load_in_subprocess

__all__ = ["DEFAULT_TIMEOUT_S", "ModelFiles", "check_model", "load_weights_only", "model_access"]


def load_weights_only(file: Path) -> int | None:
    """The tensors of a torch archive, loaded with `weights_only=True` (a loader that refuses
    to run code); None without torch. Raises when torch refuses or the file is damaged."""
    try:
        import torch
    except ImportError:
        return None
    loaded = torch.load(str(file), map_location="cpu", weights_only=True)
    return _count_tensors(loaded, torch)


def _count_tensors(value: Any, torch: Any) -> int:
    if isinstance(value, torch.Tensor):
        return 1
    if isinstance(value, Mapping):
        return sum(_count_tensors(v, torch) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_count_tensors(v, torch) for v in value)
    return 0


def check_model(path: Path, *, load_models: bool = False, listed: Mapping[str, int | None] | None = None,
                timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """Verify a downloaded model without running it; with `load_models`, also load it in a child
    process. `loaded` is True only after a real load; `verified_by` names how it was verified."""
    facts: dict[str, Any] = {"loaded": False, **verify_model_dir(path, listed, load_weights_only=load_weights_only)}
    if not facts["verified"] or not load_models:
        return facts
    load = load_in_subprocess(path, timeout_s)
    facts["verified_by"] = load["verified_by"]
    facts.pop("note", None)
    facts.update({k: v for k, v in load.items() if k != "verified_by"})
    facts["verified"] = bool(load.get("loaded"))
    return facts


class ModelFiles:
    """`ModelAccess` over any adapter: its `download_model` fetches the files (an MLflow model
    directory, a W&B model artifact), which are then checked the same way."""

    def __init__(self, adapter: StoreAdapter) -> None:
        self._adapter = adapter

    def download_model(self, model_uri: str, dst: Path) -> Path:
        return Path(self._adapter.download_model(model_uri, dst))

    def verify_model(self, path: Path, *, listed: Mapping[str, int | None] | None = None,
                     load_models: bool = False, timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
        return check_model(path, load_models=load_models, listed=listed, timeout_s=timeout_s)

    def logged_model_of(self, snapshot: StoreSnapshot, model_uri: str) -> tuple[str | None, str | None]:
        return logged_model_of(snapshot, model_uri)


def logged_model_of(snapshot: StoreSnapshot, model_uri: str) -> tuple[str | None, str | None]:
    """(logged model id, run id) behind `models:/m-<id>` or `models:/<name>/<version>`, from the
    snapshot; (None, None) when it does not name one (an alias, a stage, a `runs:/` URI)."""
    ref = model_uri[len("models:/"):] if model_uri.startswith("models:/") else ""
    if ref.startswith("m-") and "/" not in ref:
        owner = next(iter(snapshot.runs.owners_of_logged_model(ref)), None)  # indexed, not a scan
        return ref, owner
    name, _, version = ref.partition("/")
    model = snapshot.registered_model(name) if version else None
    found = next((v for v in model.versions if v.version == version), None) if model else None
    return (found.model_id, found.run_id) if found else (None, None)


def model_access(adapter: StoreAdapter) -> ModelAccess:
    """The `ModelAccess` of an open adapter (typed as the protocol, so mypy proves `ModelFiles`
    meets it; `open_writer` and `open_sandbox` do the same for the write protocols)."""
    return ModelFiles(adapter)
