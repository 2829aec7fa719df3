"""`mltrack seed --tracker wandb --out DIR`, then `audit` and `pytest --tracking-uri wandb-offline:DIR`.

Real parts: the seed trains and logs with the real wandb client (offline); audit reads the
`.wandb` logs it wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrack.cli import main
from mltrack.stores.wandb_offline import find_run_logs

pytest.importorskip("wandb")
pytest.importorskip("torch")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wandb-cli") / "store"
    result = CliRunner().invoke(main, ["seed", "--tracker", "wandb", "--out", str(out), "--runs", "12"])
    assert result.exit_code == 0, result.output
    assert "wandb-offline:" in result.output
    return out


def test_seed_writes_offline_runs(seeded: Path) -> None:
    logs = find_run_logs(seeded)
    # 12 training, 3 registration, 12 inference runs, all with a readable log.
    assert len(logs) == 27


def test_seed_refuses_a_used_directory_without_force(seeded: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["seed", "--tracker", "wandb", "--out", str(seeded), "--runs", "12"])
    assert result.exit_code == 2 and "already holds 27 offline runs" in result.output
    assert len(find_run_logs(seeded)) == 27  # untouched


def test_seed_usage_errors() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["seed", "--tracker", "wandb"]).exit_code == 2
    bad = runner.invoke(main, ["seed", "--tracker", "wandb", "--out", "x", "--break", "nope"])
    assert bad.exit_code == 2 and "unknown --break 'nope'" in bad.output


def test_audit_reads_the_wandb_store(seeded: Path, tmp_path: Path) -> None:
    before = sorted((p, p.stat().st_size) for p in seeded.rglob("*.wandb"))
    result = CliRunner().invoke(main, ["audit", "--tracking-uri", f"wandb-offline:{seeded}",
                                       "--out", str(tmp_path / "report"), "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    statuses = {r["name"]: r["status"] for r in report["results"]}
    assert statuses.pop("long-term-repro") == "skip"
    assert statuses.pop("onboarding") == "warn"  # 27 offline runs never synced, named
    assert set(statuses.values()) == {"pass"}, statuses
    assert report["tracker"] == "wandb"
    assert sorted((p, p.stat().st_size) for p in seeded.rglob("*.wandb")) == before  # read-only


def test_audit_on_a_missing_directory_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["audit", "--tracking-uri", f"wandb-offline:{tmp_path / 'none'}",
                                       "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "does not exist" in result.output and "Traceback" not in result.output
