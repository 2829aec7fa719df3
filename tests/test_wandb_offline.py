"""The offline `.wandb` reader against logs written in the test by the real wandb client.

No mocks: the `wandb` client runs in offline mode in a subprocess (it starts its own service
process), and `wandb leet inspect --json`, the client's own record dumper, is the cross-check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mltrack.errors import StoreUnreachable
from mltrack.stores import open_store
from mltrack.stores.wandb_log import CorruptLogError, iter_payloads
from mltrack.stores.wandb_offline import find_run_logs, read_directory, read_run

pytest.importorskip("wandb")

WRITER = r"""
import json, os, sys, wandb
out = sys.argv[1]
config = {"learning_rate": 0.003, "batch_size": 16, "optimizer": "adam",
          "arch": {"hidden": [32, 16], "dropout": 0.1}, "flag": True,
          "notes": "n" * 70000}  # one record over two 32 KiB blocks: first/middle/last chunks
rows = [{"epoch": i, "train_loss": 1.0 / (i + 1), "val_acc": 0.5 + i * 0.07, "note": f"e{i}"}
        for i in range(6)]
rows.append({"val_acc": 0.93, "big": 2 ** 40, "neg": -1.5e-12})
settings = wandb.Settings(mode="offline", username="carol", git_commit="0123abcd",
                          git_remote_url="https://example.com/repo.git", x_disable_stats=True,
                          console="off", silent=True)
run = wandb.init(project="roundtrip", entity="team", dir=out, config=config, job_type="training",
                 name="rt-1", tags=["mltrack.keep=true", "baseline"], settings=settings)
for row in rows:
    run.log(row)
run.config.update({"late_param": "x"})
run.summary["best_val_acc"] = 0.93
run.summary["val_acc"] = 0.9  # overrides the last logged value
with open(os.path.join(out, "data.csv"), "w") as fh:
    fh.write("x,y\n" + "\n".join(f"{i},{i % 2}" for i in range(100)))
data = wandb.Artifact("training-data", "dataset", metadata={"rows": 100})
data.add_file(os.path.join(out, "data.csv"))
run.log_artifact(data, aliases=["v1-data"])
model = wandb.Artifact("classifier", "model", metadata={"val_acc": 0.93, "run_id": run.id})
model.add_file(os.path.join(out, "data.csv"), name="weights/model.pt")
run.log_artifact(model, aliases=["production"])
run_id = run.id
run.finish()
json.dump({"run_id": run_id, "config": config, "rows": rows}, open(os.path.join(out, "logged.json"), "w"))
"""


def _wandb_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true",
               WANDB_DATA_DIR=str(tmp / "data"), WANDB_CACHE_DIR=str(tmp / "cache"),
               WANDB_CONFIG_DIR=str(tmp / "config"))
    env.pop("WANDB_API_KEY", None)
    return env


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A project folder written by the real client, and what the writer logged."""
    out = tmp_path_factory.mktemp("wandb-roundtrip")
    subprocess.run([sys.executable, "-c", WRITER, str(out)], check=True, env=_wandb_env(out),
                   timeout=120, capture_output=True)
    return out, json.loads((out / "logged.json").read_text())


def _user_keys(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith("_")}


def test_recovers_exactly_what_was_logged(logged: tuple[Path, dict]) -> None:
    out, expected = logged
    (log_path,) = find_run_logs(out)
    assert log_path.stat().st_size > 2 * 32768  # the framing across block boundaries is exercised
    run = read_run(log_path)
    assert run.run_id == expected["run_id"]
    assert (run.project, run.entity, run.name, run.user) == ("roundtrip", "team", "rt-1", "carol")
    assert (run.job_type, run.state, run.git_commit) == ("training", "FINISHED", "0123abcd")
    assert run.git_remote == "https://example.com/repo.git"
    assert run.tags == ("mltrack.keep=true", "baseline")
    config = {k: v for k, v in run.config.items() if k != "_wandb"}
    assert config == {**expected["config"], "late_param": "x"}
    assert [_user_keys(r) for r in run.history] == expected["rows"]
    assert [r["_step"] for r in run.history] == list(range(len(expected["rows"])))
    summary = _user_keys(run.summary)
    assert summary["val_acc"] == 0.9 and summary["best_val_acc"] == 0.93
    assert summary["big"] == 2 ** 40 and summary["note"] == "e5"
    data, model = run.logged
    assert (data.name, data.type, data.aliases) == ("training-data", "dataset", ("v1-data",))
    assert data.metadata == {"rows": 100}
    assert [(f.path, f.size) for f in data.files] == [("data.csv", (out / "data.csv").stat().st_size)]
    assert (model.name, model.type, model.aliases) == ("classifier", "model", ("production",))
    assert [f.path for f in model.files] == ["weights/model.pt"]
    assert len(data.digest) == 32 and data.digest != model.digest
    assert run.synced is False and run.start_time and run.end_time >= run.start_time


def test_agrees_with_wandb_leet_inspect(logged: tuple[Path, dict]) -> None:
    out, _ = logged
    (log_path,) = find_run_logs(out)
    leet = Path(sys.executable).with_name("wandb")
    dump = subprocess.run([str(leet), "leet", "inspect", "--json", str(log_path)], check=True,
                          capture_output=True, text=True, timeout=60, env=_wandb_env(out)).stdout
    records = [json.loads(line) for line in dump.splitlines() if line.strip()]
    assert len(records) == sum(1 for _ in iter_payloads(log_path))
    run = read_run(log_path)
    leet_history = [r["history"]["item"] for r in records if r["type"] == "history"]
    assert [_user_keys(r) for r in leet_history] == [_user_keys(r) for r in run.history]
    leet_run = next(r["run"] for r in records if r["type"] == "run")
    assert leet_run["run_id"] == run.run_id and leet_run["git"]["commit"] == run.git_commit
    leet_arts = [r["artifact"] for r in records if r["type"] == "artifact"]
    assert [(a["name"], a["digest"]) for a in leet_arts] == [(a.name, a.digest) for a in run.logged]
    leet_summary: dict = {}
    for record in records:
        if record["type"] == "summary":
            leet_summary.update(record["summary"].get("update", {}))
    assert _user_keys(leet_summary) == _user_keys(run.summary)


def test_snapshot_maps_the_run(logged: tuple[Path, dict]) -> None:
    out, expected = logged
    snap = open_store(f"wandb-offline:{out}").snapshot()
    (run,) = snap.runs
    assert snap.tracker == "wandb" and snap.experiment("roundtrip")
    assert run.params["learning_rate"] == "0.003" and run.params["arch.dropout"] == "0.1"
    assert run.params["data_hash"] == next(a for a in read_run(find_run_logs(out)[0]).logged).digest
    assert run.tags["mlflow.user"] == "carol" and run.tags["mltrack.keep"] == "true"
    assert run.tags["mltrack.run_type"] == "training"
    assert run.tags["mlflow.source.git.commit"] == "0123abcd"
    assert run.metrics["val_acc"] == 0.9
    model = snap.registered_model("classifier")
    assert model is not None and model.aliases["production"] == "0"
    assert model.versions[0].run_id == expected["run_id"]
    assert snap.extras["never_synced_runs"] == [str(find_run_logs(out)[0].parent)]


def test_adapter_history_and_downloads(logged: tuple[Path, dict], tmp_path: Path) -> None:
    out, expected = logged
    store = open_store(f"wandb-offline:{out}")
    store.snapshot()
    history = store.metric_history(expected["run_id"], "val_acc")
    assert [v for _, v, _ in history] == [r["val_acc"] for r in expected["rows"]]
    got = store.download_model("models:/classifier@production", tmp_path / "m")
    assert (got / "weights" / "model.pt").read_bytes() == (out / "data.csv").read_bytes()
    files = {f.path for f in store.list_artifacts(expected["run_id"])}
    assert files == {"training-data/data.csv", "models/classifier:v0/weights/model.pt"}


def _copy_project(src: Path, dst: Path) -> Path:
    shutil.copytree(src / "wandb", dst / "wandb", symlinks=True)
    return dst


def test_corrupt_logs_are_reported_and_the_rest_is_read(logged: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = logged
    good = find_run_logs(out)[0]
    total = sum(1 for _ in iter_payloads(good))
    project = _copy_project(out, tmp_path)
    cut_dir = project / "wandb" / "offline-run-20000101_000000-cutcutcu"
    rnd_dir = project / "wandb" / "offline-run-20000101_000000-randomxx"
    flip_dir = project / "wandb" / "offline-run-20000101_000000-flipflip"
    for folder in (cut_dir, rnd_dir, flip_dir):
        folder.mkdir()
    data = good.read_bytes()
    (cut_dir / "run-cutcutcu.wandb").write_bytes(data[: len(data) // 2])
    (rnd_dir / "run-randomxx.wandb").write_bytes(os.urandom(4096))
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    (flip_dir / "run-flipflip.wandb").write_bytes(bytes(flipped))

    read = read_directory(project / "wandb")
    assert [r.run_id for r in read.runs] == [read_run(good).run_id]
    errors = {e.path.name: e for e in read.errors}
    assert set(errors) == {"run-cutcutcu.wandb", "run-randomxx.wandb", "run-flipflip.wandb"}
    assert 0 < errors["run-cutcutcu.wandb"].records_read < total
    assert errors["run-randomxx.wandb"].records_read == 0
    assert "bad header" in str(errors["run-randomxx.wandb"])
    assert 0 < errors["run-flipflip.wandb"].records_read < total
    message = str(errors["run-cutcutcu.wandb"])
    assert "run-cutcutcu.wandb" in message and "record(s)" in message and "\n" not in message
    with pytest.raises(CorruptLogError):
        read_run(cut_dir / "run-cutcutcu.wandb")
    snap = open_store(f"wandb-offline:{project}").snapshot()
    assert len(snap.runs) == 1 and len(snap.extras["read_errors"]) == 3


def test_synced_runs_are_not_reported(logged: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = logged
    project = _copy_project(out, tmp_path)
    (log_path,) = find_run_logs(project)
    log_path.with_name(log_path.name + ".synced").write_text("")
    assert open_store(f"wandb-offline:{project}").snapshot().extras["never_synced_runs"] == []


def test_missing_directory_is_unreachable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnreachable, match="does not exist"):
        open_store(f"wandb-offline:{tmp_path / 'nope'}")
