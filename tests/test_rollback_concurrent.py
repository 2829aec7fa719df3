"""Two operators roll back at once against a real `mlflow server` (issue 10, compare-and-set).

Both `mltrack rollback --yes` processes plan from the same production version; exactly one moves
it, the other exits 2 having written nothing, and every promotion record survives. To make the
race certain rather than likely, the test holds the model's rollback lease while the two
processes start, plan and verify (each says it is waiting), then releases it: both then race for
the lease and the move for real. (Without that, a process that starts planning after the other
one committed sees the new production version and rolls back from there, which is not a race.)
The race is repeated, production being re-promoted between rounds by "another tool".
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from fixtures.stores import alias_only_registry
from mltrack.ops.rollback import LOCK_TAG
from mltrack.promotions import make_record, new_record_tag, read_promotions

MODEL = alias_only_registry.MODEL
ROUNDS = 3
LEGACY = [{"version": "1", "alias": "production", "promoted_at": "2026-01-05T09:00:00Z", "previous": None, "by": "kim"},
          {"version": "2", "alias": "production", "promoted_at": "2026-02-01T09:00:00Z", "previous": "1", "by": "kim"},
          {"version": "3", "alias": "production", "promoted_at": "2026-03-01T09:00:00Z", "previous": "2", "by": "raj"}]


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


class _Operator:
    """One `mltrack rollback --yes` process, its output collected line by line as it comes."""

    def __init__(self, uri: str, name: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "MLTRACK_TRACKING_URI"}
        env.update(PYTHONUNBUFFERED="1", MLTRACK_USER=name)
        self.name = name
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("mltrack")), "rollback", "--tracking-uri", uri,
             "--model", MODEL, "--yes"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def finish(self, timeout: float = 180) -> int:
        try:
            code = self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        self._reader.join(5)
        return code


def _wait_until(condition, timeout: float, what: str, operators: list[_Operator]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline or any(o.process.poll() is not None for o in operators):
            for operator in operators:
                operator.process.kill()
            raise AssertionError(f"{what}:\n" + "\n---\n".join(o.output for o in operators))
        time.sleep(0.2)


def test_concurrent_rollbacks_one_wins_no_record_lost(fresh_mlflow_server) -> None:
    uri = fresh_mlflow_server.url
    alias_only_registry.build(uri)
    client = _client(uri)
    client.set_registered_model_tag(MODEL, "mltrack.promotions", json.dumps(LEGACY))  # v1 -> v2 -> v3
    expected = list(LEGACY)
    for round_no in range(ROUNDS):
        client.set_registered_model_tag(MODEL, LOCK_TAG, json.dumps(
            {"owner": "test-barrier", "by": "test", "expires": time.time() + 300}))
        operators = [_Operator(uri, f"op{round_no}{side}") for side in "ab"]
        _wait_until(lambda: all("Waiting: another rollback" in o.output for o in operators), 240,
                    "both rollbacks should plan v3 -> v2 and wait for the lease", operators)
        assert all(re.search(r"current\s+3\s", o.output) and re.search(r"target\s+2\s", o.output)
                   for o in operators), [o.output for o in operators]
        client.delete_registered_model_tag(MODEL, LOCK_TAG)  # go: both race for the lease
        codes = {o.name: o.finish() for o in operators}
        outputs = {o.name: o.output for o in operators}
        assert sorted(codes.values()) == [0, 2], outputs
        winner = next(name for name, code in codes.items() if code == 0)
        loser = next(name for name, code in codes.items() if code == 2)
        assert "Verified" in outputs[winner], outputs
        assert "moved since this rollback was planned" in outputs[loser] and "nothing changed" in outputs[loser]
        model = client.get_registered_model(MODEL)
        assert str(model.aliases["production"]) == "2"
        assert LOCK_TAG not in model.tags  # the winner released its lease; the loser never took one
        assert json.loads(model.tags["mltrack.promotions"]) == LEGACY
        records = read_promotions(model.tags)
        expected.append({"version": "2", "previous": "3", "by": winner, "reason": "rollback"})
        assert [{k: r.get(k) for k in ("version", "previous", "by", "reason")} for r in records] == [
            {k: r.get(k) for k in ("version", "previous", "by", "reason")} for r in expected]
        # Another tool promotes v3 again and writes its record, for the next round.
        client.set_registered_model_alias(MODEL, "production", "3")
        promotion = make_record(version="3", previous="2", alias="production", by="ci", when="2026-11-01T00:00:00Z")
        client.set_registered_model_tag(MODEL, *new_record_tag(promotion))
        expected.append(promotion)


def test_records_written_at_the_same_instant_are_all_kept(mlflow_server) -> None:
    """Each record is a tag of its own: writers racing on the same model lose nothing."""
    uri, model = mlflow_server.url, f"raced-{uuid.uuid4().hex[:8]}"
    _client(uri).create_registered_model(model)
    writers, per_writer = 6, 5
    start = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(index: int) -> None:
        client = _client(uri)
        try:
            start.wait()
            for n in range(per_writer):
                record = make_record(version=f"{index}{n}", previous=None, alias="production",
                                     by=f"writer{index}", when="2026-11-01T00:00:00Z")
                client.set_registered_model_tag(model, *new_record_tag(record))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    records = read_promotions(_client(uri).get_registered_model(model).tags)
    assert sorted(r["version"] for r in records) == sorted(f"{i}{n}" for i in range(writers) for n in range(per_writer))
