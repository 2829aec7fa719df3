"""Small lies and noise (issue 9): each bad input gets one true line and exit code 2.

Real parts: real sqlite stores written by plain MLflow code (tests/support/small_store.py), a
real `mltrack seed` process interrupted with SIGINT, real offline runs written by the wandb
client, the real CLI in a subprocess where the terminal output itself is what is judged.
"""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrack.cli import main
from mltrack.errors import ConfigError, StoreUnreachable
from mltrack.pressure.policy import load_policy, policy_from_mapping
from mltrack.stores import open_store

MLTRACK = Path(sys.executable).with_name("mltrack")


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("MLTRACK_TRACKING_URI", None)
    return env


# -- --checks '' ---------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["audit", "report"])
@pytest.mark.parametrize("checks", ["", ",", " , "])
def test_checks_naming_nothing_is_a_usage_error(command: str, checks: str, tmp_path: Path) -> None:
    out = tmp_path / ("audit" if command == "audit" else "page.html")
    # The URI is never opened: the option is refused first (a closed port would fail anyway).
    result = CliRunner().invoke(main, [command, "--tracking-uri", f"sqlite:///{tmp_path}/none.db",
                                       "--out", str(out), "--checks", checks])
    assert result.exit_code == 2, result.output
    assert "names no check" in result.output and "none.db" not in result.output
    assert not out.exists()


# -- a directory where a file belongs --------------------------------------------------------
def test_a_directory_as_config_is_named_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_policy(tmp_path)
    result = CliRunner().invoke(main, ["audit", "--tracking-uri", "sqlite:///x.db", "--out",
                                       str(tmp_path / "out"), "--config", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.output
    assert "does not exist" not in result.output


def test_a_directory_as_the_sqlite_file_is_named_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "store.db"
    folder.mkdir()
    with pytest.raises(StoreUnreachable, match="is a directory") as info:
        open_store(f"sqlite:///{folder}")
    assert "does not exist" not in str(info.value)


# -- numeric policy keys ---------------------------------------------------------------------
@pytest.mark.parametrize(("key", "value"), [
    ("timeout_s", 0), ("timeout_s", -5), ("timeout_s", math.nan), ("timeout_s", math.inf),
    ("timeout_s", "120"), ("timeout_s", True), ("read_deadline_s", 0), ("answer_target_s", 0),
    ("drill_target_s", -1.0), ("rerun_tolerance", math.nan), ("rerun_tolerance", -0.1),
    ("keep_top", -1), ("keep_top", 2.5), ("min_users", "3"), ("old_run_days", math.nan),
])
def test_a_bad_number_is_a_config_error_naming_the_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_mapping({key: value}, source="policy.toml")
    assert key in str(info.value) and "policy.toml" in str(info.value)


@pytest.mark.parametrize("text", ["timeout_s = 0", "timeout_s = nan", "read_deadline_s = -inf"])
def test_zero_timeout_fails_before_the_store_is_blamed(text: str, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(text + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["audit", "--tracking-uri", f"sqlite:///{tmp_path}/none.db",
                                       "--out", str(tmp_path / "out"), "--config", str(policy)])
    assert result.exit_code == 2
    key = text.split(" =")[0]
    assert f"[tool.mltrack] {key}" in result.output and "none.db" not in result.output


# -- MLflow's tracebacks never reach the terminal ----------------------------------------------
@pytest.fixture(scope="module")
def plain_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.small_store import build_small_store

    root = tmp_path_factory.mktemp("plain-store")
    build_small_store(f"sqlite:///{root / 'mlflow.db'}", root, root / "artifacts")
    return root / "mlflow.db"


@pytest.mark.parametrize("table", ["latest_metrics", "logged_models", "registered_model_aliases"])
def test_a_missing_table_is_one_line_without_mlflow_tracebacks(plain_store: Path, table: str,
                                                               tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    db.write_bytes(plain_store.read_bytes())
    with closing(sqlite3.connect(db)) as conn:
        conn.execute(f"DROP TABLE {table}")
        conn.commit()
    done = subprocess.run([str(MLTRACK), "audit", "--tracking-uri", f"sqlite:///{db}", "--out",
                           str(tmp_path / "out"), "--checks", "onboarding"],
                          capture_output=True, text=True, env=_env(), timeout=300)
    assert done.returncode == 2
    # Besides mltrack's own plain progress lines ("mltrack: [5] runs"), exactly one line.
    lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("mltrack: [")]
    assert len(lines) == 1, done.stderr  # MLflow logged ~78 lines (SQL, two tracebacks) before
    assert lines[0].startswith("mltrack: error: ") and f"no {table!r} table" in lines[0]
    for noise in ("Traceback", "sqlalche.me", "[SQL:", "mlflow.store", "WARNING", "INFO"):
        assert noise not in done.stderr + done.stdout


# -- seeding into a place that cannot be written ----------------------------------------------
def _unwritable_db(tmp_path: Path) -> str:
    if os.geteuid() == 0:  # root writes through permissions: /proc takes no new files from anyone
        return "/proc/mltrack-cannot-write-here.db"
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    return str(folder / "mlflow.db")


def test_seeding_an_unwritable_place_fails_fast_in_one_line(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run([str(MLTRACK), "seed", "--tracking-uri", f"sqlite:///{_unwritable_db(tmp_path)}",
                           "--runs", "12"], capture_output=True, text=True, env=_env(), timeout=300)
    took = time.monotonic() - started
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write the sqlite database" in lines[0], done.stderr
    assert "retried" not in done.stderr
    # MLflow alone retried for about two minutes; this is the interpreter start plus one open.
    assert took < 60, took


def test_seeding_into_a_directory_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["seed", "--tracking-uri", f"sqlite:///{tmp_path}", "--runs", "12"])
    assert result.exit_code == 2 and "is a directory" in result.output


# -- W&B run files that are no files ------------------------------------------------------------
WANDB_WRITER = r"""
import sys, wandb
settings = wandb.Settings(mode="offline", x_disable_stats=True, console="off", silent=True)
for name in ("kept", "dir", "fifo"):
    run = wandb.init(project="lies", entity="team", dir=sys.argv[1], name=name, settings=settings,
                     config={"learning_rate": 0.01})
    run.log({"val_acc": 0.5})
    run.finish()
"""


@pytest.fixture(scope="module")
def wandb_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("wandb")
    out = tmp_path_factory.mktemp("wandb-lies")
    env = dict(_env(), WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DATA_DIR=str(out / "data"),
               WANDB_CACHE_DIR=str(out / "cache"), WANDB_CONFIG_DIR=str(out / "config"))
    env.pop("WANDB_API_KEY", None)
    subprocess.run([sys.executable, "-c", WANDB_WRITER, str(out)], check=True, env=env,
                   timeout=300, capture_output=True)
    return out


def test_a_run_file_that_is_a_directory_or_a_fifo_is_skipped(wandb_runs: Path) -> None:
    from mltrack.stores.wandb_offline import find_run_logs, read_run

    logs = find_run_logs(wandb_runs)
    by_name = {read_run(path).name: path for path in logs}
    assert set(by_name) == {"kept", "dir", "fifo"}
    by_name["dir"].unlink()
    by_name["dir"].mkdir()
    by_name["fifo"].unlink()
    os.mkfifo(by_name["fifo"])

    outcome: dict[str, object] = {}
    reader = threading.Thread(target=lambda: outcome.update(
        snap=open_store(f"wandb-offline:{wandb_runs}").snapshot()), daemon=True)
    reader.start()
    reader.join(60)  # a FIFO used to block the read forever
    assert not reader.is_alive(), "the read hung on the FIFO"
    snap = outcome["snap"]
    assert [r.name for r in snap.runs] == ["kept"]
    errors = {Path(e["path"]).name: e["message"] for e in snap.extras["read_errors"]}
    assert errors == {by_name["dir"].name: errors[by_name["dir"].name],
                      by_name["fifo"].name: errors[by_name["fifo"].name]}
    assert "unreadable" in errors[by_name["dir"].name] and "a directory" in errors[by_name["dir"].name]
    assert "unreadable" in errors[by_name["fifo"].name] and "FIFO" in errors[by_name["fifo"].name]


# -- a seed interrupted part way -----------------------------------------------------------------
def _reference_runs(db: Path) -> int:
    """Runs written so far into the reference experiment (0 before it exists)."""
    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as conn:
            row = conn.execute("SELECT count(*) FROM runs JOIN experiments USING (experiment_id) "
                               "WHERE experiments.name = 'mltrack-reference'").fetchone()
    except sqlite3.Error:  # tables not created yet, or the writer holds the lock
        return 0
    return row[0]


@pytest.fixture
def interrupted_seed(tmp_path: Path) -> Iterator[Path]:
    """A store whose `mltrack seed` got SIGINT (Ctrl-C) after it began writing runs."""
    db = tmp_path / "mlflow.db"
    seeder = subprocess.Popen([str(MLTRACK), "seed", "--tracking-uri", f"sqlite:///{db}", "--runs", "12"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        deadline = time.monotonic() + 240
        while _reference_runs(db) < 1 and seeder.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seeder.poll() is None, "the seed finished before it could be interrupted"
        seeder.send_signal(signal.SIGINT)
        _, stderr = seeder.communicate(timeout=120)
    finally:
        if seeder.poll() is None:
            seeder.kill()
            seeder.wait()
    assert seeder.returncode == 130, stderr
    assert "incomplete seed" in stderr and "--force" in stderr
    yield db


def test_an_interrupted_seed_is_named_incomplete(interrupted_seed: Path) -> None:
    before = interrupted_seed.read_bytes()
    done = subprocess.run([str(MLTRACK), "seed", "--tracking-uri", f"sqlite:///{interrupted_seed}",
                           "--runs", "12"], capture_output=True, text=True, env=_env(), timeout=300)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "this store holds an incomplete seed (interrupted?); rerun with --force" in lines[0]
    assert interrupted_seed.read_bytes() == before  # refused: nothing changed


def test_mlflow_records_are_kept_at_debug_level(plain_store: Path, tmp_path: Path) -> None:
    """Demoted, not dropped: MLTRACK_DEBUG=1 shows what MLflow logged about the damage."""
    db = tmp_path / "mlflow.db"
    db.write_bytes(plain_store.read_bytes())
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("DROP TABLE latest_metrics")
        conn.commit()
    done = subprocess.run([str(MLTRACK), "snapshot", "--tracking-uri", f"sqlite:///{db}", "--out",
                           str(tmp_path / "s.json")], capture_output=True, text=True,
                          env={**_env(), "MLTRACK_DEBUG": "1"}, timeout=300)
    assert done.returncode == 2
    assert "DEBUG:mlflow.store" in done.stderr and "no such table: latest_metrics" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("mltrack: error: ")
