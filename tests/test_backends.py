"""The scheme -> backend table (mltrack/backends.py): a third-party backend plugs in by an entry
point in the `mltrack.stores` group; a broken one is one line naming it, never a traceback.

The entry points here are real: a `*.dist-info/entry_points.txt` on sys.path is what
importlib.metadata reads for an installed package, so no package needs installing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from mltrack import backends
from mltrack.backends import MLFLOW, WANDB, Backend, BackendRegistry, BrokenBackend
from mltrack.errors import EXIT_USAGE, MltrackError, StoreUnreachable
from mltrack.extras import MissingExtra
from mltrack.stores import open_store
from mltrack.uri import TrackingUri, parse

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class ToyStore:
    """Stands in for a third party's StoreAdapter: the test checks it is what open_store returns."""

    uri: TrackingUri
    timeout: float
    read_deadline_s: float | None


def open_toy(uri: TrackingUri, *, timeout: float, read_deadline_s: float | None) -> ToyStore:
    return ToyStore(uri, timeout, read_deadline_s)


TOY = Backend(tracker="toy", schemes=("toy",), open=open_toy, examples=("toy://NAME",))


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> BackendRegistry:
    """A fresh table holding the built-ins, in place of the process-wide one."""
    fresh = BackendRegistry()
    fresh.register(MLFLOW)
    fresh.register(WANDB)
    monkeypatch.setattr(backends, "REGISTRY", fresh)
    return fresh


def _dist(site: Path, entry_points: str, modules: dict[str, str]) -> None:
    """An installed-looking distribution in `site`: metadata, entry points and its modules."""
    info = site / "toy_backend-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-backend\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[mltrack.stores]\n{entry_points}\n")
    for name, text in modules.items():
        (site / f"{name}.py").write_text(text)


TOY_MODULE = """
from mltrack.backends import Backend

def open_toy(uri, *, timeout, read_deadline_s):
    return ("toy store", uri.raw, timeout)

BACKEND = Backend(tracker="toy", schemes=("toy", "toy-offline"), open=open_toy,
                  examples=("toy://NAME",))
"""


def test_a_registered_backend_reads_its_scheme_and_joins_the_hint(registry: BackendRegistry) -> None:
    with pytest.raises(StoreUnreachable) as before:
        parse("toy://run-store")
    assert "toy://NAME" not in str(before.value)

    registry.register(TOY)
    parsed = parse("toy://run-store")
    assert (parsed.scheme, parsed.tracker) == ("toy", "toy")
    store = open_store("toy://run-store", timeout=7, read_deadline_s=3)
    assert isinstance(store, ToyStore) and store.uri.raw == "toy://run-store"
    assert (store.timeout, store.read_deadline_s) == (7, 3)

    with pytest.raises(StoreUnreachable) as unknown:
        parse("nope://x")
    message = str(unknown.value)
    assert "unsupported tracking URI 'nope://x'" in message and "\n" not in message
    assert "toy://NAME" in message and "sqlite:///PATH" in message and "wandb-offline:PATH" in message


def test_built_ins_answer_through_the_same_table(registry: BackendRegistry) -> None:
    assert parse("sqlite:///x.db").tracker == "mlflow"
    assert parse("postgresql+psycopg://u@h/db").tracker == "mlflow"
    assert parse("relative/mlruns").tracker == "mlflow"  # a plain path: a legacy file store
    assert parse("wandb-offline:/tmp/wandb").tracker == "wandb"
    assert [b.tracker for b in registry.backends()] == ["mlflow", "wandb"]


def test_a_scheme_cannot_be_claimed_twice(registry: BackendRegistry) -> None:
    thief = Backend(tracker="thief", schemes=("toy", "sqlite"), open=open_toy)
    with pytest.raises(BrokenBackend, match="claims scheme 'sqlite'"):
        registry.register(thief)
    assert parse("sqlite:///x.db").tracker == "mlflow"


def test_an_opener_must_be_a_function_or_its_name(registry: BackendRegistry) -> None:
    with pytest.raises(BrokenBackend, match="neither a function"):
        registry.register(Backend(tracker="toy", schemes=("toy",), open="no_colon_here"))


def test_a_backend_without_its_sdk_names_the_extra(registry: BackendRegistry) -> None:
    registry.register(Backend(tracker="toy", schemes=("toy",), open=open_toy,
                              requires=("mltrack_no_such_sdk",), extra="toy"))
    with pytest.raises(MissingExtra) as info:
        open_store("toy://x")
    assert str(info.value) == ("toy stores need mltrack_no_such_sdk, which is not installed "
                               "(pip install 'mltrack[toy]')")


def test_an_entry_point_backend_is_found(registry: BackendRegistry, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _dist(tmp_path, "toy = mltrack_toy_backend:BACKEND", {"mltrack_toy_backend": TOY_MODULE})
    monkeypatch.syspath_prepend(str(tmp_path))
    assert open_store("toy-offline:/data", timeout=5) == ("toy store", "toy-offline:/data", 5)
    assert parse("toy://a").tracker == "toy"


def test_a_broken_entry_point_is_one_line_naming_it(registry: BackendRegistry, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _dist(tmp_path, "toy = mltrack_missing_plugin_module:BACKEND", {})
    monkeypatch.syspath_prepend(str(tmp_path))
    # The plug-in is read only for a scheme no built-in reads: sqlite:// never meets it.
    assert parse("sqlite:///x.db").tracker == "mlflow"
    with pytest.raises(BrokenBackend) as info:
        parse("toy://x")
    message = str(info.value)
    assert "\n" not in message
    assert "entry point 'toy' (mltrack_missing_plugin_module:BACKEND) failed to load" in message
    assert "ModuleNotFoundError" in message


def test_an_opener_name_that_does_not_import_is_one_line(registry: BackendRegistry) -> None:
    registry.register(Backend(tracker="toy", schemes=("toy",), open="mltrack_no_such_module:open"))
    with pytest.raises(BrokenBackend, match=r"^the toy backend's opener 'mltrack_no_such_module:open' "
                                            r"failed to load: ModuleNotFoundError"):
        open_store("toy://x")


@pytest.mark.parametrize("plugin, expected", [
    pytest.param({}, "entry point 'toy' (mltrack_missing_plugin_module:BACKEND) failed to load",
                 id="module-missing"),
    pytest.param({"mltrack_missing_plugin_module": "raise RuntimeError('plug-in bug')\n"},
                 "failed to load: RuntimeError: plug-in bug", id="module-raises"),
    pytest.param({"mltrack_missing_plugin_module": "BACKEND = object()\n"},
                 "failed to load: not a mltrack Backend", id="not-a-backend"),
])
def test_the_cli_reports_a_broken_plugin_in_one_line(tmp_path: Path, plugin: dict[str, str],
                                                      expected: str) -> None:
    _dist(tmp_path, "toy = mltrack_missing_plugin_module:BACKEND", plugin)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-c", "from mltrack.cli import main; main()", "snapshot", "--tracking-uri", "toy://x",
         "--out", str(tmp_path / "snap.json")],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert result.returncode == EXIT_USAGE, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mltrack: error: no backend reads 'toy://x'")
    assert expected in lines[0]


def test_errors_are_mltrack_errors() -> None:
    assert issubclass(BrokenBackend, MltrackError) and issubclass(MissingExtra, MltrackError)
