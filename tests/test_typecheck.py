"""The type check of src/ (issue 12 item 4): the store contract is a type, and mypy proves it.

`python -m mypy src/mltrack` with the `[tool.mypy]` configuration of pyproject.toml must pass
(also `make typecheck`). Its cache lives in the repository's .mypy_cache, so a re-run only
re-checks what changed. The second test proves the check has teeth: in a scratch copy of src/,
an adapter and a writer that each lost a method, and consumers that step outside the
protocols, each fail it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "pyproject.toml"

# Consumers typed against the protocols: each line must be a mypy error.
PROBE = '''\
from mltrack.model import StoreSnapshot
from mltrack.pressure.base import GatherContext
from mltrack.pressure.policy import Policy
from mltrack.pressure.runner import CheckSession, run_checks


def gather(ctx: GatherContext) -> dict[str, object]:
    return {"runs": ctx.adapter.list_runs()}  # PROBE not-in-protocol


def misuse(snapshot: StoreSnapshot) -> None:
    run_checks(42, Policy())  # PROBE not-an-adapter
    CheckSession("sqlite:///x.db", snapshot, Policy())  # PROBE uri-for-adapter
'''


def _mypy(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        import mypy  # noqa: F401
    except ModuleNotFoundError:
        pytest.fail("mypy is not installed: pip install -e '.[dev]' (it is pinned in the dev extra)")
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(CONFIG), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


def test_src_typechecks() -> None:
    done = _mypy("src/mltrack", cwd=ROOT)
    assert done.returncode == 0, f"mypy found errors (run `make typecheck`):\n{done.stdout}{done.stderr}"


def _rename_method(module: Path, name: str, new_name: str) -> None:
    text = module.read_text(encoding="utf-8")
    renamed = re.sub(rf"\bdef {name}\(", f"def {new_name}(", text, count=1)
    assert renamed != text, f"{module.name} has no `def {name}(` any more: update this test"
    module.write_text(renamed, encoding="utf-8")


def test_a_broken_contract_fails_the_typecheck(tmp_path: Path) -> None:
    scratch = tmp_path / "src"
    shutil.copytree(ROOT / "src", scratch, ignore=shutil.ignore_patterns("__pycache__"))
    stores = scratch / "mltrack" / "stores"
    _rename_method(stores / "wandb_store.py", "download_model", "fetch_model")  # a read adapter
    _rename_method(stores / "mlflow_writes.py", "restore_run", "undelete_run")  # the write side
    probe = scratch / "mltrack" / "typecheck_probe.py"
    probe.write_text(PROBE, encoding="utf-8")

    done = _mypy("--cache-dir", str(tmp_path / "cache"), "mltrack/stores/base.py", "mltrack/typecheck_probe.py",
                 cwd=scratch)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert '"WandbStore" is missing following "StoreAdapter" protocol member' in out, out
    assert re.search(r"stores/base\.py:\d+: note:\s+download_model$", out, re.MULTILINE), out
    assert '"MlflowWriter" is missing following "StoreWriter" protocol member' in out, out
    assert re.search(r"stores/base\.py:\d+: note:\s+restore_run$", out, re.MULTILINE), out
    for number, line in enumerate(PROBE.splitlines(), start=1):
        if "# PROBE" in line:
            assert f"typecheck_probe.py:{number}: error:" in out, f"no error for: {line.strip()}\n{out}"
