"""Models in a store are verified without running them; a full load is opt-in and happens in a
child process.

The store (fixtures/stores/booby_trapped_model.py, plain MLflow) holds models whose unpickling
writes a marker file with the pid of the process that ran it: the best run's PyTorch model (also
production v2) and a pyfunc model (v1, the previous production version). audit, report, the
pytest plugin and rollback must never create the marker by default, and still call the models
verified; with the opt-in the marker appears, written by a child process.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import struct
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.stores import booby_trapped_model as trap
from mltrack.cli import main
from mltrack.model_verify import FULL_LOAD, STATIC, WEIGHTS_ONLY, verify_model_dir
from mltrack.stores.model_access import check_model
from mltrack.stores.model_load import load_in_subprocess
from mltrack.pressure.policy import policy_from_mapping
from mltrack.errors import ConfigError

pytest_plugins = ["pytester"]
torch = pytest.importorskip("torch")

POLICY = (f'[tool.mltrack]\nexperiments = ["{trap.EXPERIMENT}"]\ninference_experiments = []\n'
          f'registered_models = ["{trap.MODEL}"]\n')
MODEL_CHECKS = ("recovery", "production-model", "rollback")


class Store:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = folder / "mlflow.db"
        self.uri = f"sqlite:///{self.db}"
        self.artifacts = folder / "mlflow-artifacts"
        self.marker = trap.marker_path(self.uri)
        self.policy = folder / "policy.toml"

    def model_dir(self, version: str) -> Path:
        """The artifact folder of a registered version (its logged model)."""
        from mlflow.tracking import MlflowClient

        source = MlflowClient(self.uri, registry_uri=self.uri).get_model_version(trap.MODEL, version).source
        return self.artifacts / "models" / source.removeprefix("models:/") / "artifacts"


def _build(folder: Path) -> Store:
    from tests.support.stores import empty_database

    folder.mkdir(parents=True)
    store = Store(folder)
    shutil.copy2(empty_database(folder.parent), store.db)  # skip MLflow's schema migrations
    trap.build(store.uri)
    store.policy.write_text(POLICY)
    assert not store.marker.exists()
    return store


@pytest.fixture(scope="module")
def trapped(tmp_path_factory) -> Store:
    return _build(tmp_path_factory.mktemp("trapped") / "store")


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> Store:
    """The same models, with v2's weights truncated and v1's pickle deleted."""
    store = _build(tmp_path_factory.mktemp("damaged") / "store")
    weights = store.model_dir("2") / "data" / "model.pth"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    (store.model_dir("1") / "python_model.pkl").unlink()
    return store


@pytest.fixture
def no_marker(trapped):
    trapped.marker.unlink(missing_ok=True)
    yield trapped
    trapped.marker.unlink(missing_ok=True)


def audit(store: Store, out: Path, *extra: str):
    result = CliRunner().invoke(main, ["audit", "--tracking-uri", store.uri, "--out", str(out), "--config",
                                       str(store.policy), "--no-progress", *extra])
    assert result.exit_code in (0, 1), result.output
    return {r["name"]: r for r in json.loads((out / "report.json").read_text())["results"]}


# --------------------------------------------------------------------------- safe by default


def test_audit_verifies_the_trapped_models_without_running_them(no_marker, tmp_path):
    results = audit(no_marker, tmp_path / "audit")
    assert not no_marker.marker.exists(), "auditing ran the model's code"
    assert {n: results[n]["status"] for n in MODEL_CHECKS} == dict.fromkeys(MODEL_CHECKS, "pass"), \
        [results[n]["message"] for n in MODEL_CHECKS]
    artifact = results["recovery"]["evidence"]["artifact"]
    assert artifact["verified"] and not artifact["loaded"] and artifact["verified_by"] == STATIC
    assert "static read (not loaded)" in results["recovery"]["message"]
    assert artifact["note"] == "well-formed, not loaded"
    assert any(imp.endswith(".exec") for imp in artifact["dangerous_imports"])  # named, not run
    load = results["production-model"]["evidence"]["models"][0]["load"]
    assert load["verified_by"] == STATIC and load["listing"].startswith("6 of 6")
    assert "download and verify by a static read" in results["production-model"]["message"]
    assert load["answer_s"] < 30
    previous = results["rollback"]["evidence"]["plans"][0]["previous_load"]
    assert previous["verified"] and previous["verified_by"] == STATIC
    assert previous["weights"][0]["file"] == "python_model.pkl"  # the pyfunc pickle, scanned only


def test_report_never_runs_the_models(no_marker, tmp_path):
    out = tmp_path / "onboarding.html"
    result = CliRunner().invoke(main, ["report", "--tracking-uri", no_marker.uri, "--out", str(out),
                                       "--config", str(no_marker.policy)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and not no_marker.marker.exists()
    assert "static read (not loaded)" in out.read_text()  # the page says how the models were verified


def test_pytest_plugin_never_runs_the_models(no_marker, pytester, monkeypatch):
    monkeypatch.delenv("MLTRACK_TRACKING_URI", raising=False)
    result = pytester.runpytest_subprocess("--tracking-uri", no_marker.uri, "--mltrack-config",
                                           str(no_marker.policy), "-k", "recovery or production or rollback",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert not no_marker.marker.exists()


def test_rollback_verifies_without_running_and_moves(trapped, tmp_path):
    trapped.marker.unlink(missing_ok=True)
    copy = Store(tmp_path)  # a copy of the database; the artifacts stay where the runs put them
    shutil.copy2(trapped.db, copy.db)
    result = CliRunner().invoke(main, ["rollback", "--tracking-uri", copy.uri, "--model", trap.MODEL, "--yes",
                                       "--config", str(trapped.policy)])
    assert result.exit_code == 0, result.output
    assert "verified by a static read (not loaded)" in result.output
    assert not trapped.marker.exists()
    from mlflow.tracking import MlflowClient

    assert str(MlflowClient(copy.uri, registry_uri=copy.uri).get_registered_model(trap.MODEL).aliases["production"]) == "1"


# --------------------------------------------------------------------------- broken models still fail


def test_truncated_and_missing_files_fail_the_checks(damaged, tmp_path):
    results = audit(damaged, tmp_path / "audit")
    assert not damaged.marker.exists()
    assert {n: results[n]["status"] for n in MODEL_CHECKS} == dict.fromkeys(MODEL_CHECKS, "fail")
    assert "damaged or incomplete" in results["recovery"]["message"]
    assert "model.pth" in results["recovery"]["message"] and "zip" in results["recovery"]["message"]
    assert "model.pth" in results["production-model"]["message"]
    assert "python_model.pkl" in results["rollback"]["message"]


def test_rollback_refuses_a_target_with_a_missing_pickle(damaged, tmp_path):
    copy = Store(tmp_path)
    shutil.copy2(damaged.db, copy.db)
    result = CliRunner().invoke(main, ["rollback", "--tracking-uri", copy.uri, "--model", trap.MODEL, "--yes",
                                       "--config", str(damaged.policy)])
    assert result.exit_code == 2, result.output
    assert "python_model.pkl" in result.output and not damaged.marker.exists()


# --------------------------------------------------------------------------- opt-in: a child loads


def _written_by(marker: Path) -> int:
    assert marker.exists(), "the opt-in load did not run the model"
    return int(marker.read_text())


def test_audit_load_models_loads_in_a_child_process(no_marker, tmp_path):
    results = audit(no_marker, tmp_path / "audit", "--load-models", "--checks", "production-model")
    load = results["production-model"]["evidence"]["models"][0]["load"]
    assert results["production-model"]["status"] == "pass", results["production-model"]["message"]
    assert load["loaded"] and load["verified_by"] == FULL_LOAD and load["flavor"] == "pytorch"
    writer = _written_by(no_marker.marker)
    assert writer == load["pid"] != os.getpid()
    # the answer time counts the load itself, not the child's interpreter start-up
    assert load["answer_s"] <= load["download_s"] + load["check_s"] - load["subprocess_s"] + load["load_s"] + 0.01


def test_pytest_plugin_opt_in_loads_in_a_child_process(no_marker, pytester, monkeypatch):
    monkeypatch.delenv("MLTRACK_TRACKING_URI", raising=False)
    pytester.makeconftest("import os, pathlib\npathlib.Path('pytest.pid').write_text(str(os.getpid()))\n")
    result = pytester.runpytest_subprocess("--tracking-uri", no_marker.uri, "--mltrack-config",
                                           str(no_marker.policy), "--mltrack-load-models", "-k", "rollback",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    pytest_pid = int((pytester.path / "pytest.pid").read_text())
    assert _written_by(no_marker.marker) not in (os.getpid(), pytest_pid)  # a child of pytest wrote it


def test_rollback_load_models_loads_in_a_child_process(no_marker, tmp_path):
    copy = Store(tmp_path)
    shutil.copy2(no_marker.db, copy.db)
    result = CliRunner().invoke(main, ["rollback", "--tracking-uri", copy.uri, "--model", trap.MODEL, "--yes",
                                       "--config", str(no_marker.policy), "--load-models"])
    assert result.exit_code == 0, result.output
    assert "verified by a full load in a subprocess" in result.output
    assert _written_by(no_marker.marker) != os.getpid()


def test_policy_key_load_models():
    assert policy_from_mapping({"load_models": True}).load_models
    assert not policy_from_mapping({}).load_models
    with pytest.raises(ConfigError, match="load_models"):
        policy_from_mapping({"load_models": "yes"})


def test_a_hung_load_is_killed_at_the_timeout(tmp_path):
    marker = tmp_path / "started"
    source = f"import os, time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)\n"
    model = tmp_path / "model.pkl"
    model.write_bytes(pickle.dumps(trap._Trap(source)))
    started = time.perf_counter()
    facts = load_in_subprocess(model, timeout_s=4)
    assert time.perf_counter() - started < 15
    assert not facts["loaded"] and "did not finish within 4 s" in facts["error"]
    assert _written_by(marker) == facts["pid"] != os.getpid()
    with pytest.raises(ProcessLookupError):
        os.kill(facts["pid"], 0)


# --------------------------------------------------------------------------- formats, without a store


def test_a_state_dict_is_loaded_weights_only(tmp_path):
    """torch's weights-only load is the store layer's (stores/model_access.py); the core
    verification, which imports no vendor SDK, reads the same archive statically."""
    torch.save({"w": torch.zeros(3, 2), "b": torch.ones(2)}, tmp_path / "weights.pt")
    facts = check_model(tmp_path / "weights.pt")
    assert facts["verified"] and facts["verified_by"] == WEIGHTS_ONLY and facts["weights"][0]["tensors"] == 2
    assert not facts["loaded"]
    static = verify_model_dir(tmp_path / "weights.pt")
    assert static["verified"] and static["verified_by"] == STATIC and "tensors" not in static["weights"][0]


def test_a_refused_weights_only_load_leaves_the_static_facts(tmp_path):
    torch.save({"w": torch.zeros(3)}, tmp_path / "weights.pt")

    def refuses(file):
        raise RuntimeError("Weights only load failed\nmore")

    facts = verify_model_dir(tmp_path / "weights.pt", load_weights_only=refuses)
    assert facts["verified"] and facts["verified_by"] == STATIC
    assert facts["weights"][0]["weights_only_refused"] == "RuntimeError: Weights only load failed"


def test_a_pickled_object_is_scanned_never_loaded(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(trap._Trap(f"open({str(marker)!r}, 'w')")))
    facts = verify_model_dir(tmp_path / "model.pkl")
    assert facts["verified"] and facts["verified_by"] == STATIC and not marker.exists()
    assert facts["dangerous_imports"] == ["builtins.exec"]


def test_a_truncated_pickle_is_broken(tmp_path):
    blob = pickle.dumps({"weights": list(range(1000))})
    (tmp_path / "model.pkl").write_bytes(blob[: len(blob) // 2])
    facts = verify_model_dir(tmp_path / "model.pkl")
    assert not facts["verified"] and "truncated" in facts["error"]


def test_a_corrupt_archive_member_fails_its_crc(tmp_path):
    torch.save({"w": torch.arange(64, dtype=torch.float32)}, tmp_path / "weights.pt")
    with zipfile.ZipFile(tmp_path / "weights.pt") as archive:
        info = next(i for i in archive.infolist() if "/data/" in i.filename)
    raw = bytearray((tmp_path / "weights.pt").read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    raw[info.header_offset + 30 + name_len + extra_len + 10] ^= 0xFF  # a byte of the tensor data
    (tmp_path / "weights.pt").write_bytes(bytes(raw))
    facts = verify_model_dir(tmp_path / "weights.pt")
    assert not facts["verified"] and "CRC" in facts["error"]


def test_safetensors_header_must_cover_the_file(tmp_path):
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    good = struct.pack("<Q", len(header)) + header + b"\0" * 8
    (tmp_path / "ok.safetensors").write_bytes(good)
    assert verify_model_dir(tmp_path / "ok.safetensors")["verified"]
    (tmp_path / "cut.safetensors").write_bytes(good[:-3])
    assert "safetensors" in verify_model_dir(tmp_path / "cut.safetensors")["error"]


def test_mlmodel_must_parse_and_stay_inside_the_model(tmp_path):
    (tmp_path / "MLmodel").write_text("flavors: [unclosed")
    assert "MLmodel does not parse" in verify_model_dir(tmp_path)["error"]
    (tmp_path / "MLmodel").write_text("flavors:\n  sklearn:\n    pickled_model: ../../etc/passwd\n")
    assert "outside the model directory" in verify_model_dir(tmp_path)["error"]
    (tmp_path / "MLmodel").write_text("flavors:\n  sklearn:\n    pickled_model: model.pkl\n")
    assert "'model.pkl', which is missing" in verify_model_dir(tmp_path)["error"]


def test_sizes_must_match_the_store_listing(tmp_path):
    (tmp_path / "model.pkl").write_bytes(pickle.dumps([1, 2, 3]))
    size = (tmp_path / "model.pkl").stat().st_size
    assert verify_model_dir(tmp_path / "model.pkl", {"model.pkl": size})["verified"]
    facts = verify_model_dir(tmp_path / "model.pkl", {"model.pkl": size + 1})
    assert f"the store lists {size + 1}" in facts["error"]


def test_a_format_we_do_not_read_is_checked_for_presence(tmp_path):
    (tmp_path / "MLmodel").write_text("flavors:\n  xgboost:\n    data: model.xgb\n    model_class: XGBClassifier\n")
    (tmp_path / "model.xgb").write_bytes(b"{binary booster}")
    facts = verify_model_dir(tmp_path)
    assert facts["verified"] and facts["verified_by"] == STATIC and facts["weights"][0]["file"] == "model.xgb"
    (tmp_path / "model.xgb").write_bytes(b"")
    assert "model.xgb is empty" in verify_model_dir(tmp_path)["error"]
