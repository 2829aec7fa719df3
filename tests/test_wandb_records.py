"""W&B's own records in the snapshot: how runs ended, their environment, their data.

Real parts: the runs are written by the real `wandb` client, offline, in a subprocess (a
finished run, a crashed one, and two whose process was killed: one after its log reached disk,
one before). Only the onboarding judge and the snapshot are exercised; no W&B cloud is needed.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mltrack.pressure.checks import onboarding
from mltrack.pressure.policy import Policy
from mltrack.stores import open_store
from mltrack.stores.wandb_log import CorruptLogError
from mltrack.stores.wandb_mapping import WandbRun
from mltrack.stores.wandb_offline import _apply_metadata_file, find_run_logs, read_directory, read_run

pytest.importorskip("wandb")

# One script per run: W&B records the program that ran, and a killed process must be its own.
WRITER = r"""
import os, sys, time, wandb
out, kind = sys.argv[1], sys.argv[2]
settings = wandb.Settings(mode="offline", username="eve", git_commit="feedc0de" * 5,
                          git_remote_url="https://example.com/team/repo.git", x_disable_stats=True,
                          console="off", silent=True)
run = wandb.init(project="states", entity="team", dir=out, name=kind, job_type="train",
                 config={"lr": 0.1, "seed": 3}, settings=settings)
if kind in ("finished", "crashed"):
    with open(os.path.join(out, f"{kind}.csv"), "w") as fh:
        fh.write("x,y\n" + "\n".join(f"{i},{i % 3}" for i in range(50 if kind == "finished" else 60)))
    data = wandb.Artifact("table", "dataset")
    data.add_file(os.path.join(out, f"{kind}.csv"), name="table.csv")
    run.log_artifact(data)
rows = 400 if kind in ("finished", "killed") else 1
for step in range(rows):
    run.log({"loss": 1.0 / (step + 1), "acc": step / rows})
if kind == "crashed":
    run.finish(exit_code=3)
elif kind == "finished":
    run.finish()
else:
    time.sleep(2)  # what was logged reached W&B's service
    os._exit(137)  # killed: no exit record
"""


def _env(out: Path) -> dict[str, str]:
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=str(out),
               WANDB_DATA_DIR=str(out / ".data"), WANDB_CACHE_DIR=str(out / ".cache"),
               WANDB_CONFIG_DIR=str(out / ".config"))
    env.pop("WANDB_API_KEY", None)
    return env


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wandb-states")
    script = out / "train_states.py"
    script.write_text(WRITER)
    writers = [subprocess.Popen([sys.executable, str(script), str(out), kind], env=_env(out),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for kind in ("finished", "crashed", "killed", "killed-early")]
    for writer in writers:
        writer.wait(timeout=120)
    return out


def _by_name(root: Path) -> dict[str, Path]:
    found = {}
    for path in find_run_logs(root):
        try:
            found[read_run(path).name] = path
        except CorruptLogError:
            found.setdefault("(no run record)", path)
    return found


def test_how_runs_ended(store: Path) -> None:
    logs = _by_name(store)
    assert set(logs) == {"finished", "crashed", "killed", "(no run record)"}
    finished, crashed, killed = (read_run(logs[k]) for k in ("finished", "crashed", "killed"))
    assert (finished.state, finished.exit_code) == ("FINISHED", 0)
    assert (crashed.state, crashed.exit_code) == ("FAILED", 3)
    # Killed after its log reached disk: every record up to the kill is read, and it never ended.
    assert (killed.state, killed.exit_code, killed.end_time) == ("RUNNING", None, None)
    assert len(killed.history) > 100 and killed.config["lr"] == 0.1


def test_snapshot_names_runs_never_synced_never_ended_and_crashed(store: Path) -> None:
    snap = open_store(f"wandb-offline:{store}").snapshot()
    facts = snap.extras
    early = _by_name(store)["(no run record)"].parent
    assert [r["name"] for r in facts["crashed_runs"]] == ["crashed"] and facts["crashed_runs"][0]["exit_code"] == 3
    ended = {r["name"] or r["run_id"]: r["why"] for r in facts["never_ended_runs"]}
    assert set(ended) == {"killed", early.name.rpartition("-")[2]}
    # where the kill lands decides whether the log ends between records or inside one: both never ended
    assert re.search(r"no exit record|ends mid-record", ended["killed"]), ended["killed"]
    assert "no run record" in ended[early.name.rpartition("-")[2]]
    warnings = " ".join(facts["onboarding_warnings"])
    assert "4 offline runs never synced" in warnings and "'killed'" in warnings and "'crashed' (exit code 3)" in warnings
    verdict = onboarding.judge(snap, {}, Policy(experiments=("states",), metric="acc"))
    assert verdict.status.value == "warn", verdict.message
    assert "never synced" in verdict.message and "'killed'" in verdict.message and "crashed" in verdict.message
    killed = next(r for r in snap.runs if r.name == "killed")
    assert killed.status == "RUNNING" and "wandb.exit_code" not in killed.tags
    assert next(r for r in snap.runs if r.name == "crashed").tags["wandb.exit_code"] == "3"


def test_synced_runs_that_ended_are_no_warning(store: Path, tmp_path: Path) -> None:
    """The warning is about the runs, not about W&B: a synced, finished run adds nothing."""
    project = tmp_path / "p"
    (project / "wandb").mkdir(parents=True)
    run_dir = _by_name(store)["finished"].parent
    copy = project / "wandb" / run_dir.name
    import shutil

    shutil.copytree(run_dir, copy, symlinks=True)
    log = next(copy.glob("run-*.wandb"))
    log.with_name(log.name + ".synced").write_text("")
    snap = open_store(f"wandb-offline:{project}").snapshot()
    assert snap.extras["onboarding_warnings"] == []
    assert onboarding.judge(snap, {}, Policy(experiments=("states",), metric="acc")).status.value == "pass"


def test_a_log_cut_mid_record_keeps_what_was_written(store: Path, tmp_path: Path) -> None:
    """A killed process leaves its log cut inside a record: the records before the cut are
    sound (the run is kept, never ended); a flipped byte is damage and still an error."""
    good = _by_name(store)["finished"]
    data = good.read_bytes()
    folder = tmp_path / "wandb" / "offline-run-20000101_000000-cutcutcu"
    folder.mkdir(parents=True)
    (folder / "run-cutcutcu.wandb").write_bytes(data[: len(data) - 40])
    run = read_run(folder / "run-cutcutcu.wandb")
    assert run.log_cut and run.state == "RUNNING" and run.exit_code is None and run.name == "finished"
    assert run.history  # what came before the cut
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    (folder / "run-cutcutcu.wandb").write_bytes(bytes(flipped))
    with pytest.raises(CorruptLogError):
        read_run(folder / "run-cutcutcu.wandb")
    (folder / "run-cutcutcu.wandb").write_bytes(data[: len(data) - 40])
    snap = open_store(f"wandb-offline:{tmp_path}").snapshot()
    (why,) = [r["why"] for r in snap.extras["never_ended_runs"]]
    assert "ends mid-record" in why and snap.runs[0].tags["wandb.log_cut"] == "true"


def test_environment_git_and_program_are_w_and_b_s_own_records(store: Path) -> None:
    snap = open_store(f"wandb-offline:{store}").snapshot()
    run = next(r for r in snap.runs if r.name == "finished")
    assert run.tags["python_version"] == platform.python_version()
    assert run.tags["mlflow.source.git.commit"] == "feedc0de" * 5
    assert run.tags["mlflow.source.git.repoURL"] == "https://example.com/team/repo.git"
    assert run.tags["mlflow.source.name"].endswith("train_states.py")
    assert "requirements.txt" in run.tags["wandb.environment_files"]
    torch = pytest.importorskip("torch")
    assert run.tags["torch_version"] == torch.__version__  # from the pip freeze W&B saved


def test_metadata_file_fills_what_the_log_lacks(tmp_path: Path) -> None:
    """Older clients wrote the environment only to files/wandb-metadata.json."""
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "wandb-metadata.json").write_text(json.dumps(
        {"python": "CPython 3.10.4", "program": "train.py", "codePath": "src/train.py",
         "git": {"remote": "git@example.com:t/r.git", "commit": "abc123"}, "host": "gpu-1"}))
    run = WandbRun("r1", "e", "p")
    _apply_metadata_file(run, tmp_path)
    assert (run.python_version, run.program, run.git_commit, run.git_remote, run.host) == \
        ("3.10.4", "src/train.py", "abc123", "git@example.com:t/r.git", "gpu-1")
    run = WandbRun("r2", "e", "p", git_commit="fromlog", python_version="3.11.7")
    _apply_metadata_file(run, tmp_path)
    assert (run.git_commit, run.python_version) == ("fromlog", "3.11.7")  # the log wins


def test_dataset_artifacts_are_dataset_inputs(store: Path) -> None:
    snap = open_store(f"wandb-offline:{store}").snapshot()
    runs = {r.name: r for r in snap.runs}
    logged = {r.name: r for r in read_directory(store).runs}
    for name in ("finished", "crashed"):
        (dataset,) = runs[name].datasets
        digest = next(a.digest for a in logged[name].logged if a.type == "dataset")
        assert (dataset.name, dataset.digest, dataset.source_type) == ("table", digest, "wandb-artifact")
        assert runs[name].params["data_hash"] == digest
    # Different content, different digest: a data change W&B recorded by itself.
    assert runs["finished"].datasets[0].digest != runs["crashed"].datasets[0].digest
    assert runs["killed"].datasets == ()
