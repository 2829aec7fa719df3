"""`mltrack seed` without its SDKs names the extra it needs: `[train]` (MLflow and torch), or
`[train,wandb]` with `--tracker wandb` - never `[mlflow]`, which installs no torch, so following
that hint would only lead to the next missing module.

The SDKs are blocked in a subprocess (tests/support/without_modules.py), as in
tests/test_optional_deps.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mltrack.errors import MltrackError
from mltrack.extras import MissingExtra, needs_extras

ROOT = Path(__file__).resolve().parents[1]
BLOCKER = ROOT / "tests" / "support" / "without_modules.py"


def _seed(blocked: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MLTRACK_TRACKING_URI", None)
    return subprocess.run([sys.executable, str(BLOCKER), blocked, "mltrack.cli:main", "seed", *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.mark.parametrize("blocked", ["mlflow", "torch", "mlflow,numpy,torch,wandb"])
def test_seed_without_its_sdks_names_the_train_extra(tmp_path: Path, blocked: str) -> None:
    result = _seed(blocked, "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db", "--runs", "12")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mltrack: error: "), result.stderr
    assert "pip install 'mltrack[train]'" in lines[0]
    assert not (tmp_path / "mlflow.db").exists()  # refused before the store was touched


def test_seed_wandb_without_its_sdks_names_both_extras(tmp_path: Path) -> None:
    result = _seed("torch", "--tracker", "wandb", "--out", str(tmp_path / "out"), "--runs", "12")
    assert result.returncode == 2, result.stderr
    assert "pip install 'mltrack[train,wandb]'" in result.stderr and "Traceback" not in result.stderr


def test_a_missing_mltrack_module_stays_loud() -> None:
    with pytest.raises(ModuleNotFoundError):
        with needs_extras("train"):
            raise ModuleNotFoundError("No module named 'mltrack.seed.gone'", name="mltrack.seed.gone")
    with pytest.raises(MissingExtra) as info:
        with needs_extras("train"):
            raise ModuleNotFoundError("No module named 'mlflow.tracking'", name="mlflow.tracking")
    assert isinstance(info.value, MltrackError) and "mltrack[train]" in str(info.value)
