"""One overall deadline for the snapshot read (`read_deadline_s`): a server that answers its
health probe and then hangs ends the audit, the report and the pytest session within the
deadline, with one line naming it and exit code 2 (a usage error in pytest).

Real parts: a real HTTP server on 127.0.0.1 that hangs (tests/support/hanging_server.py), in
front of a real `mlflow server` when the hang should come part way through the read. Without
the deadline each hung request costs `timeout_s` (120 s by default) four times over.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from mltrack.errors import StoreTimeout
from mltrack.pressure.policy import Policy
from mltrack.pressure.runner import read_snapshot
from mltrack.stores import open_store
from tests.support.hanging_server import HangingServer

MLTRACK = Path(sys.executable).with_name("mltrack")
DEADLINE_S = 3.0
PART_WAY_DEADLINE_S = 6.0  # the real server must answer the open and the first page inside it
# Wall-clock slack for the in-process tests: the grace read_within allows, plus a busy machine.
SLACK_S = 3.5
CLI_DEADLINE_S = 5
# After the line is printed the process still has to exit: the pytest plugin imports torch in a
# background thread at session start, and on 2 busy cores that import can hold the interpreter's
# exit for seconds (not the store's time, but the user waits for it).
EXIT_SLACK_S = 12.0


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    server = HangingServer().start()
    yield server
    server.stop()


def _policy_file(tmp_path: Path, deadline: float) -> Path:
    path = tmp_path / "policy.toml"
    # timeout_s stays at its default (120 s): the deadline, not the request timeout, must end it.
    path.write_text(f"read_deadline_s = {deadline}\n", encoding="utf-8")
    return path


def _read(uri: str, deadline: float) -> None:
    policy = Policy(read_deadline_s=deadline)
    adapter = open_store(uri, timeout=policy.timeout_s, read_deadline_s=policy.read_deadline_s)
    try:
        read_snapshot(adapter, policy)
    finally:
        adapter.close()


def test_a_server_that_hangs_at_once_ends_within_the_deadline(hanging: HangingServer) -> None:
    with pytest.raises(StoreTimeout) as info:
        _read(hanging.url, DEADLINE_S)
    took = time.monotonic() - hanging.first_request_at  # from the first contact: imports excluded
    assert DEADLINE_S - 0.5 <= took < DEADLINE_S + SLACK_S, took  # never well before: no lie
    assert "read deadline of 3 s" in str(info.value) and "read_deadline_s" in str(info.value)
    assert hanging.hung >= 1  # it really was the hung API call that ran out the clock


def test_a_server_that_hangs_part_way_through_the_read(mlflow_server, tmp_path: Path) -> None:
    """The open and the first pages are answered by a real server, then the proxy stalls: the
    deadline covers the whole read, and the message says what was being read."""
    warm = open_store(mlflow_server.url)  # a cold server's first answers are slow on busy cores
    warm.snapshot()
    warm.close()
    proxy = HangingServer(upstream=mlflow_server.url, answer_api=2).start()
    try:
        with pytest.raises(StoreTimeout) as info:
            _read(proxy.url, PART_WAY_DEADLINE_S)
        took = time.monotonic() - proxy.first_request_at
    finally:
        proxy.stop()
    assert PART_WAY_DEADLINE_S - 0.5 <= took < PART_WAY_DEADLINE_S + SLACK_S, took
    assert proxy.api_requests > 2 and proxy.hung >= 1  # answered the open, hung in the read
    assert "read deadline of 6 s" in str(info.value) and "still listing" in str(info.value)


def test_the_deadline_lets_a_healthy_read_through(mlflow_server) -> None:
    """The same path with a live server: the deadline ends nothing that answers."""
    policy = Policy(read_deadline_s=60)
    adapter = open_store(mlflow_server.url, timeout=30, read_deadline_s=policy.read_deadline_s)
    try:
        snapshot, _ = read_snapshot(adapter, Policy(experiments=(), inference_experiments=(),
                                                    registered_models=(), read_deadline_s=60))
        assert adapter.read_deadline is None  # over once the snapshot is read: checks have timeout_s
    finally:
        adapter.close()
    assert snapshot.experiment("Default") is not None


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    said_at: float  # seconds from the server's first request to the line naming the deadline
    exited_at: float  # ... to the process's exit


def _run(args: list[str], cwd: Path, server: HangingServer) -> Finished:
    """Run a command, timing from its first request to the server (the health probe that opens
    the store), so the seconds a fresh interpreter spends importing do not count."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("MLTRACK_TRACKING_URI", None)
    child = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: dict[str, list[tuple[float, str]]] = {"stdout": [], "stderr": []}

    def collect(name: str, stream: IO[str]) -> None:
        for line in stream:
            seen[name].append((time.monotonic(), line))

    readers = [threading.Thread(target=collect, args=(name, getattr(child, name)), daemon=True)
               for name in seen]
    for reader in readers:
        reader.start()
    try:
        child.wait(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
    exited = time.monotonic()
    for reader in readers:
        reader.join(10)
    assert server.first_request_at is not None, seen["stderr"]
    said = [at for at, line in seen["stdout"] + seen["stderr"] if "read deadline" in line]
    return Finished(child.returncode, "".join(line for _, line in seen["stdout"]),
                    "".join(line for _, line in seen["stderr"]),
                    (min(said) if said else exited) - server.first_request_at,
                    exited - server.first_request_at)


@pytest.mark.parametrize("command", ["audit", "report", "snapshot"])
def test_cli_exits_2_within_the_deadline(command: str, hanging: HangingServer, tmp_path: Path) -> None:
    out = tmp_path / {"audit": "audit", "report": "onboarding.html", "snapshot": "s.json"}[command]
    deadline = (["--read-deadline", str(CLI_DEADLINE_S)] if command == "snapshot"
                else ["--config", str(_policy_file(tmp_path, CLI_DEADLINE_S))])
    done = _run([str(MLTRACK), command, "--tracking-uri", hanging.url, "--out", str(out), *deadline],
                tmp_path, hanging)
    assert done.returncode == 2, done.stderr
    # The store had (almost) all of its deadline, and not much more.
    assert CLI_DEADLINE_S - 0.5 <= done.said_at < CLI_DEADLINE_S + SLACK_S, done
    assert done.exited_at < CLI_DEADLINE_S + EXIT_SLACK_S, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("mltrack: error: ") and "read deadline of 5 s" in lines[0]
    assert "read_deadline_s" in lines[0]


def test_pytest_session_is_a_usage_error_within_the_deadline(hanging: HangingServer, tmp_path: Path) -> None:
    done = _run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                 "--tracking-uri", hanging.url,
                 "--mltrack-config", str(_policy_file(tmp_path, CLI_DEADLINE_S))], tmp_path, hanging)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert CLI_DEADLINE_S - 0.5 <= done.said_at < CLI_DEADLINE_S + SLACK_S, done
    assert done.exited_at < CLI_DEADLINE_S + EXIT_SLACK_S, done
    assert "read deadline of 5 s" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
