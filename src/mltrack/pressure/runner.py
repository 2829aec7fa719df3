"""Run pressure checks against a store: one snapshot, then gather + judge per check.

The audit command and the pytest plugin both call `run_checks`, so they give the same verdicts.
Names the policy does not set are inferred from the snapshot (`mltrack.pressure.assumptions`)
before any check runs; the outcome carries the resolved policy and what was assumed.
A store that dies mid-run turns the check that noticed and every remaining check into `error`
with a clear message, each within `policy.timeout_s`: evidence gathering runs in a daemon thread
that is abandoned, not waited for, when it overruns.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mltrack.errors import ConfigError, StoreError
from mltrack.model import CheckResult, StoreSnapshot
from mltrack.pressure.assumptions import Assumption, resolve
from mltrack.pressure.base import Check, GatherContext
from mltrack.pressure.evidence import describe_error, is_connection_error
from mltrack.pressure.policy import Policy
from mltrack.pressure.registry import select
from mltrack.stores.base import Progress, StoreAdapter
from mltrack.uri import redact


@dataclass(frozen=True)
class RunOutcome:
    snapshot: StoreSnapshot
    results: tuple[CheckResult, ...]
    server_version: str | None
    duration_s: float
    policy: Policy | None = None  # the policy the checks ran with: the user's, gaps inferred
    assumptions: tuple[Assumption, ...] = ()  # what was inferred because the policy did not say

    def result(self, name: str) -> CheckResult | None:
        return next((r for r in self.results if r.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"snapshot": self.snapshot.to_dict(), "results": [r.to_dict() for r in self.results],
                "server_version": self.server_version, "duration_s": self.duration_s,
                "assumptions": [a.to_dict() for a in self.assumptions]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunOutcome:
        return cls(StoreSnapshot.from_dict(data["snapshot"]),
                   tuple(CheckResult.from_dict(r) for r in data["results"]),
                   data.get("server_version"), data.get("duration_s", 0.0),
                   assumptions=tuple(Assumption.from_dict(a) for a in data.get("assumptions", ())))


def validate_policy(snapshot: StoreSnapshot, policy: Policy) -> None:
    """Names the user set must exist in the store: a typo must not make checks vacuous. Names
    not set are inferred from the store (resolve_policy), so they exist by construction."""
    named = [*(policy.experiments if policy.is_set("experiments") else ()),
             *(policy.inference_experiments if policy.is_set("inference_experiments") else ())]
    missing = [f"experiment {n!r}" for n in named if snapshot.experiment(n) is None]
    if snapshot.tracker == "mlflow" and policy.is_set("registered_models"):
        missing += [f"registered model {n!r}" for n in policy.registered_models
                    if snapshot.registered_model(n) is None]
    if missing:
        raise ConfigError(f"[tool.mltrack] names {', '.join(missing)}, not found in {snapshot.uri}",
                          hint="fix the name in [tool.mltrack] (or remove the key: it is then inferred "
                               "from the store) or point --tracking-uri at the right store")


def resolve_policy(snapshot: StoreSnapshot, policy: Policy) -> tuple[Policy, tuple[Assumption, ...]]:
    """The policy the checks run with: the user's keys as set, every other name the checks need
    inferred from the snapshot, and the assumptions made (empty when the policy names them all)."""
    return resolve(snapshot, policy)


def read_snapshot(adapter: StoreAdapter, policy: Policy, progress: Progress | None = None) -> tuple[StoreSnapshot, str | None]:
    """The one read of the store a run makes: server version, then the snapshot, validated.

    Bounded by `policy.read_deadline_s` (started when open_store was given it, else now): a
    store that hangs ends the run with StoreTimeout (exit 2) naming the deadline."""
    from mltrack.stores.deadline import ReadDeadline, read_within

    deadline = getattr(adapter, "read_deadline", None) or ReadDeadline(policy.read_deadline_s)
    if hasattr(adapter, "read_deadline"):
        adapter.read_deadline = deadline  # the adapter fits its requests and retries in it too
    where = getattr(getattr(adapter, "uri", None), "redacted", None) or "the store"

    def read() -> tuple[str | None, StoreSnapshot]:
        return adapter.server_version(), adapter.snapshot(progress=progress)

    try:
        server_version, snapshot = read_within(deadline, where, read)
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001 - one clear line, no traceback
        raise StoreError(f"cannot read {adapter.uri.redacted}: {describe_error(exc)}") from None
    validate_policy(snapshot, policy)
    return snapshot, server_version


def run_checks(uri_or_adapter: str | StoreAdapter, policy: Policy, names: Sequence[str] | str | None = None, *,
               rollback_drill: bool = False, progress: Progress | None = None) -> RunOutcome:
    """Read the store once and run the selected checks (registry order). Raises ConfigError
    (unknown names) or StoreError (snapshot unreadable); check failures are results, never raised."""
    checks = select(names)
    started = time.perf_counter()
    owned = isinstance(uri_or_adapter, str)
    if isinstance(uri_or_adapter, str):
        from mltrack.stores import open_store

        adapter = open_store(uri_or_adapter, timeout=policy.timeout_s, read_deadline_s=policy.read_deadline_s)
    else:
        adapter = uri_or_adapter
    try:
        snapshot, server_version = read_snapshot(adapter, policy, progress)
        policy, assumptions = resolve_policy(snapshot, policy)
        with CheckSession(adapter, snapshot, policy, rollback_drill=rollback_drill) as session:
            results = []
            for done, check in enumerate(checks):
                results.append(session.run(check))
                if progress is not None:
                    progress(done + 1, len(checks), f"check {check.name}: {results[-1].status.value}")
    finally:
        if owned:
            adapter.close()
    return RunOutcome(snapshot, tuple(results), server_version, round(time.perf_counter() - started, 3),
                      policy, assumptions)


def run_offline(snapshot: StoreSnapshot, policy: Policy, evidence: dict[str, dict[str, Any]] | None = None,
                names: Sequence[str] | str | None = None) -> tuple[CheckResult, ...]:
    """Judge recorded snapshots and evidence without a store (the offline unit tests), with the
    policy resolved against the snapshot exactly as a live run does."""
    evidence = evidence or {}
    policy, _ = resolve_policy(snapshot, policy)
    return tuple(c.evaluate(snapshot, evidence.get(c.name, {}), policy) for c in select(names))


class CheckSession:
    """Runs checks one at a time against one snapshot; remembers when the store went away so
    every later check errors at once instead of waiting out its own timeout."""

    def __init__(self, adapter: StoreAdapter, snapshot: StoreSnapshot, policy: Policy, *, rollback_drill: bool = False) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="mltrack-checks-"))
        self.ctx = GatherContext(adapter, snapshot, policy, self.workdir, rollback_drill)
        self.store_down: str | None = None
        self.evidence: dict[str, dict[str, Any]] = {}  # check name -> what gather returned (recordable)

    def __enter__(self) -> CheckSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def run(self, check: Check) -> CheckResult:
        began = time.perf_counter()
        if self.store_down is None:  # every check, so none reports on a store that is gone
            self.store_down = _probe(self.ctx)
        if self.store_down is not None:
            return check.error(f"not evaluated: {self.store_down}")
        result, self.store_down, self.evidence[check.name] = _run_one(check, self.ctx, began)
        return result


# A gather asks the store (each request under timeout_s) and also passes over the snapshot's
# runs on this machine: artifact-cleanup streams them three times and walks up to 10,000 local
# artifact folders. On a 1,000,012-run sqlite store, `mltrack report` on a loaded 2-core machine
# spent more than 120 s in those passes, and the check was cut as if the store were down. So the
# gather's limit grows by one second per 2,500 runs (+400 s at a million; none below 2,500).
RUNS_PER_EXTRA_SECOND = 2_500


def gather_timeout(policy: Policy, runs: int) -> float:
    """How long a check's gather may take: `timeout_s`, plus the time to pass over `runs`."""
    return policy.timeout_s + runs // RUNS_PER_EXTRA_SECOND


def _run_one(check: Check, ctx: GatherContext, began: float) -> tuple[CheckResult, str | None, dict[str, Any]]:
    evidence: dict[str, Any] = {}
    if (gather := check.gather) is not None:
        outcome: dict[str, Any] = {}

        def target() -> None:
            try:
                outcome["evidence"] = gather(ctx)
            except BaseException as exc:  # noqa: BLE001 - reported as an error result
                outcome["error"] = exc

        worker = threading.Thread(target=target, name=f"mltrack-gather-{check.name}", daemon=True)
        worker.start()
        limit = gather_timeout(ctx.policy, len(ctx.snapshot.runs))
        worker.join(limit)
        took = round(time.perf_counter() - began, 3)
        if worker.is_alive():
            down = f"the store did not answer within {limit:g} s (during {check.name})"
            return check.error(f"timed out after {limit:g} s gathering evidence", took), down, {}
        if "error" in outcome:
            exc = outcome["error"]
            if is_connection_error(exc):
                down = f"the store stopped answering (during {check.name}): {describe_error(exc)}"
                return check.error(down, took), down, {}
            return check.error(f"could not evaluate: {describe_error(exc)}", took), None, {}
        evidence = outcome.get("evidence") or {}
    try:
        took = round(time.perf_counter() - began, 3)
        return check.evaluate(ctx.snapshot, evidence, ctx.policy, took), None, evidence
    except Exception as exc:  # noqa: BLE001 - a judge bug must not kill the other nine
        took = round(time.perf_counter() - began, 3)
        return check.error(f"could not evaluate: {describe_error(exc)}", took), None, evidence


def _probe(ctx: GatherContext) -> str | None:
    """A cheap liveness check before each store-reading check (HTTP stores only)."""
    uri = getattr(ctx.adapter, "uri", None)
    if uri is None or uri.scheme not in ("http", "https"):
        return None
    from mltrack.stores.http_client import alive  # MLflow's credentials (userinfo, env vars)

    exc = alive(uri.raw, min(5.0, ctx.policy.timeout_s))  # any answer (even 401/404) is alive
    return None if exc is None else f"the store at {redact(uri.raw)} stopped answering ({describe_error(exc)})"
