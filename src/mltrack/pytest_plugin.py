"""pytest plugin: `pytest --tracking-uri URI` runs the ten pressure checks beside a project's tests.

The URI resolves option -> `MLTRACK_TRACKING_URI` -> ini `mltrack_tracking_uri`; without one the
plugin adds nothing. The store is read once per session, at session start (so an unknown
experiment in the policy is a usage error before any test runs); under pytest-xdist the
controller reads it and hands the workers a snapshot file, so workers never read it again.
Each check's evidence is gathered by the worker that runs that check, with the same code
`mltrack audit` uses (`mltrack.pressure.runner.CheckSession`). Names the policy does not set
are inferred from the snapshot (every process resolves the same snapshot the same way); the
report header and the terminal summary list what was assumed and the policy key to override it.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported lazily at run time: the plugin loads in every pytest run
    from mltrack.model import CheckResult, StoreSnapshot
    from mltrack.pressure.assumptions import Assumption
    from mltrack.pressure.policy import Policy
    from mltrack.pressure.runner import CheckSession
    from mltrack.stores.base import StoreAdapter

ENV_URI = "MLTRACK_TRACKING_URI"
INI_URI = "mltrack_tracking_uri"
WORKER_SNAPSHOT_KEY = "mltrack_snapshot_file"
RESULT_PROPERTY = "mltrack_result"


class PressureWarning(UserWarning):
    """A pressure check that passed with a warning (status `warn`)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mltrack", "mltrack pressure suite")
    group.addoption(
        "--tracking-uri",
        dest="mltrack_tracking_uri",
        default=None,
        help="Tracking store to put under pressure (env MLTRACK_TRACKING_URI, ini mltrack_tracking_uri).",
    )
    group.addoption(
        "--mltrack-config",
        dest="mltrack_config",
        default=None,
        metavar="FILE",
        help="Policy file ([tool.mltrack] of a pyproject.toml, or a standalone TOML file).",
    )
    group.addoption(
        "--mltrack-rollback-drill",
        dest="mltrack_rollback_drill",
        action="store_true",
        default=False,
        help="Also rehearse a rollback in a sandbox registered model (writes, then deletes it).",
    )
    group.addoption(
        "--mltrack-load-models",
        dest="mltrack_load_models",
        action="store_true",
        default=False,
        help="Also load (unpickle) models in a child process; runs code from the store (policy load_models).",
    )
    parser.addini(INI_URI, "Tracking store for the mltrack pressure suite.", default="")


def checks_dir() -> Path:
    """The shipped check files: inside the wheel (`mltrack/_checks`), else the source tree."""
    package = Path(__file__).resolve().parent
    packaged = package / "_checks"
    if packaged.is_dir():
        return packaged
    source = package.parent.parent / "checks"
    if source.is_dir():
        return source
    raise pytest.UsageError(f"mltrack: the pressure checks are missing (looked in {packaged} and {source})")


def resolve_uri(config: pytest.Config) -> tuple[str, str] | None:
    """(uri, where it came from) or None."""
    if config.getoption("mltrack_tracking_uri", None):
        return config.getoption("mltrack_tracking_uri"), "--tracking-uri"
    if os.environ.get(ENV_URI):
        return os.environ[ENV_URI], f"${ENV_URI}"
    ini = config.getini(INI_URI)
    if ini:
        return str(ini), f"ini {INI_URI} ({config.inipath})"
    return None


@dataclass
class _SuiteState:
    uri: str
    source: str
    policy: Policy
    drill: bool
    snapshot: StoreSnapshot | None = None
    server_version: str | None = None
    snapshot_file: Path | None = None
    owns_snapshot_file: bool = False
    adapter: StoreAdapter | None = None
    session: CheckSession | None = None
    reads: int = 0
    results: dict[str, CheckResult] = field(default_factory=dict)
    assumptions: tuple[Assumption, ...] = ()  # what was inferred because the policy did not say


_STATE = pytest.StashKey[_SuiteState]()


def _state(config: pytest.Config) -> _SuiteState | None:
    return config.stash.get(_STATE, None)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("help", False) or config.getoption("version", False):
        return
    resolved = resolve_uri(config)
    if resolved is None:
        return
    from mltrack.errors import MltrackError
    from mltrack.pressure.policy import load_policy
    from mltrack.uri import parse, redact

    uri, source = resolved
    try:
        parse(uri)
        policy = load_policy(config.getoption("mltrack_config"), start=config.rootpath)
        if config.getoption("mltrack_load_models", False):
            policy = replace(policy, load_models=True)
    except MltrackError as err:
        raise pytest.UsageError(f"mltrack: {redact(str(err))}") from None
    config.stash[_STATE] = _SuiteState(uri, source, policy, bool(config.getoption("mltrack_rollback_drill")))
    folder = checks_dir()
    # Always add the folder (a `pytest .` would skip it inside a virtualenv), unless the command
    # line already points into it; pytest drops a file reached twice.
    if not any(_inside(Path(arg.split("::")[0]), folder) for arg in config.args):
        config.args.append(str(folder))


def _inside(arg: Path, folder: Path) -> bool:
    try:
        return arg.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`-k hparam-search` selects a check by its hyphenated name, as `mltrack explain` spells it."""
    if _state(config) is None:
        return
    folder = checks_dir().resolve()
    for item in items:
        if item.path.parent.resolve() == folder and item.path.stem.startswith("test_"):
            item.extra_keyword_matches.add(item.path.stem[len("test_"):].replace("_", "-"))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    state = _state(session.config)
    if state is None:
        return
    from mltrack.model import StoreSnapshot

    workerinput = getattr(session.config, "workerinput", None)
    if workerinput is not None and workerinput.get(WORKER_SNAPSHOT_KEY):
        payload = json.loads(Path(workerinput[WORKER_SNAPSHOT_KEY]).read_text(encoding="utf-8"))
        state.snapshot = StoreSnapshot.from_dict(payload["snapshot"])
        state.server_version = payload["server_version"]
        _resolve_policy(state)
        return
    _read_store(state)
    _resolve_policy(state)
    if session.config.pluginmanager.hasplugin("xdist") and workerinput is None and state.snapshot is not None:
        handle, name = tempfile.mkstemp(prefix="mltrack-snapshot-", suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({"snapshot": state.snapshot.to_dict(), "server_version": state.server_version}, out)
        state.snapshot_file, state.owns_snapshot_file = Path(name), True


def _read_store(state: _SuiteState) -> None:
    from mltrack.errors import MltrackError
    from mltrack.pressure.runner import read_snapshot

    try:
        state.snapshot, state.server_version = read_snapshot(_adapter(state), state.policy)
    except MltrackError as err:  # may quote the server's answer: escapes made visible
        from mltrack.textsafe import for_terminal

        from mltrack.uri import redact

        raise pytest.UsageError(f"mltrack: {for_terminal(redact(str(err)))}") from None
    state.reads += 1


def _resolve_policy(state: _SuiteState) -> None:
    """The policy the checks run with: the user's keys, the rest inferred from the snapshot."""
    from mltrack.pressure.runner import resolve_policy

    assert state.snapshot is not None  # read or loaded just before
    state.policy, state.assumptions = resolve_policy(state.snapshot, state.policy)


def assumption_lines(assumptions: Iterable[Assumption | Mapping[str, Any]]) -> list[str]:
    """`assumed metric = val_acc (val_acc, 11 of 11 finished training runs); override: metric`."""
    from mltrack.pressure.assumptions import shown_value

    lines = []
    for item in assumptions:
        data = item.to_dict() if hasattr(item, "to_dict") else dict(item)
        coverage = f" ({data['coverage']})" if data.get("coverage") else ""
        lines.append(f"assumed {data['key']} = {shown_value(data.get('value'))}{coverage}; "
                     f"override: {data['override']}")
    return lines


def _adapter(state: _SuiteState) -> StoreAdapter:
    if state.adapter is None:
        from mltrack.service import open_adapter

        state.adapter = open_adapter(state.uri, state.policy)
    return state.adapter


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: hand each worker the snapshot file instead of the store."""
    state = _state(node.config)
    if state is not None and state.snapshot_file is not None:
        node.workerinput[WORKER_SNAPSHOT_KEY] = str(state.snapshot_file)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    state = _state(config)
    if state is None:
        return None
    from mltrack.textsafe import for_terminal
    from mltrack.uri import redact

    tracker = state.snapshot.tracker if state.snapshot is not None else "store"
    version = state.server_version or "unknown"
    lines = [f"mltrack: tracking URI {redact(state.uri)} (from {state.source}); {tracker} version {version}"]
    if state.assumptions:  # zero configuration: say what the verdicts rest on
        lines.append("mltrack: no policy key set for these; inferred from the store ([tool.mltrack] overrides):")
        lines += [f"mltrack:   {line}" for line in assumption_lines(state.assumptions)]
    return [for_terminal(line) for line in lines]


def pytest_unconfigure(config: pytest.Config) -> None:
    state = _state(config)
    if state is None:
        return
    if state.session is not None:
        state.session.close()
    if state.adapter is not None:
        state.adapter.close()
    if state.owns_snapshot_file and state.snapshot_file is not None:
        state.snapshot_file.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def mltrack_snapshot(request: pytest.FixtureRequest) -> StoreSnapshot:
    """The store snapshot this session read (skips when no tracking URI is configured)."""
    state = _state(request.config)
    if state is None:
        pytest.skip("no tracking URI: pass --tracking-uri, set MLTRACK_TRACKING_URI or ini mltrack_tracking_uri")
    assert state.snapshot is not None  # read (or loaded from the controller's file) at configure time
    return state.snapshot


@pytest.fixture
def pressure_check(request: pytest.FixtureRequest, mltrack_snapshot: StoreSnapshot):
    """Run one pressure check by name and turn its result into a pytest outcome:
    pass -> pass, warn -> pass with a PressureWarning, skip -> skip, fail/error -> a failure
    that prints the verdict, the evidence and the fix (never a traceback)."""
    state = _state(request.config)
    assert state is not None  # mltrack_snapshot skipped the test otherwise

    def run(name: str) -> CheckResult:
        from mltrack.model import Status
        from mltrack.pressure.registry import get
        from mltrack.pressure.render import format_result
        from mltrack.pressure.runner import CheckSession
        from mltrack.report.schema import mask_results
        from mltrack.textsafe import for_terminal

        if state.session is None:
            state.session = CheckSession(_adapter(state), mltrack_snapshot, state.policy,
                                         rollback_drill=state.drill)
        result = state.session.run(get(name))
        # Secret-looking params and tags masked, as in report.json: the result reaches junit.xml
        # (user_properties) and the terminal.
        result = mask_results((result,))[0][0]
        state.results[name] = result
        request.node.user_properties.append((RESULT_PROPERTY, json.dumps(result.to_dict(), default=str)))
        text = format_result(result)
        if result.status in (Status.FAIL, Status.ERROR):
            pytest.fail(text, pytrace=False)
        if result.status is Status.SKIP:
            pytest.skip(for_terminal(f"{name}: {result.message}"))
        if result.status is Status.WARN:
            warnings.warn(PressureWarning(text), stacklevel=2)
        return result

    return run


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """One line per check, in registry order, gathered from the reports (works under xdist)."""
    state = _state(config)
    if state is None:
        return
    rows: dict[str, dict[str, Any]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for key, value in getattr(report, "user_properties", ()):
                if key == RESULT_PROPERTY:
                    data = json.loads(value)
                    rows[data["name"]] = data
    if not rows:
        return
    from mltrack.pressure.registry import CHECKS
    from mltrack.textsafe import for_terminal

    terminalreporter.section("mltrack pressure suite")
    for check in CHECKS:
        if check.name in rows:
            row = rows[check.name]
            terminalreporter.line(for_terminal(  # store text: escapes made visible before clipping
                f"{row['code']} {row['name']:<17} {row['status'].upper():<5} {for_terminal(row['message'])[:110]}"))
    for line in assumption_lines(state.assumptions):
        terminalreporter.line(for_terminal(line))
