"""The opt-in rollback drill: rehearse a real rollback in a throwaway registered model.

Writes only to a sandbox model named `mltrack-drill-<model>-<random>` (the store layer's
`ModelSandbox`, whose every write names the sandbox), which is deleted in a `finally` block -
even when the drill fails. The real model is only read (its versions are copied).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from mltrack.pressure.base import GatherContext
from mltrack.pressure.evidence import describe_error, fetch_and_load
from mltrack.stores.writes import open_sandbox

SANDBOX_PREFIX = "mltrack-drill-"
SANDBOX_TAG = "mltrack.sandbox"


def rollback_drill(ctx: GatherContext, model: str, current: str, previous: str) -> dict[str, Any]:
    sandbox = open_sandbox(ctx.adapter, f"{SANDBOX_PREFIX}{model}-{uuid.uuid4().hex[:8]}")
    if sandbox is None:
        return {"ok": True, "skipped": "the drill needs an MLflow model registry"}
    alias = ctx.policy.production_alias
    facts: dict[str, Any] = {"sandbox": sandbox.name, "ok": False}
    started = time.perf_counter()
    try:
        sandbox.create(tags={SANDBOX_TAG: "true"})
        now = sandbox.copy_version(model, current)
        before = sandbox.copy_version(model, previous)
        real = {now: current, before: previous}  # sandbox version -> the real version it copies
        sandbox.set_alias(alias, now)
        rolled = time.perf_counter()
        sandbox.set_alias(alias, before)
        served = sandbox.alias_version(alias)
        load = fetch_and_load(ctx, sandbox.model_uri(served), "drill")
        facts["rollback_s"] = round(time.perf_counter() - rolled, 3)
        sandbox.set_alias(alias, now)  # and forward again
        forward = sandbox.alias_version(alias)
        facts.update(served_after_rollback=real.get(served, f"sandbox v{served}"),
                     served_after_forward=real.get(forward, f"sandbox v{forward}"), load=load)
        if served != before or forward != now:
            facts["error"] = f"alias moved to v{served}/v{forward}, expected v{before}/v{now}"
        elif not load.get("verified") and load.get("error"):
            facts["error"] = load["error"]
        else:
            facts["ok"] = True
    except Exception as exc:  # noqa: BLE001 - a failed drill is a finding, the sandbox still goes
        facts["error"] = describe_error(exc)
    finally:
        facts["seconds"] = round(time.perf_counter() - started, 3)
        facts["sandbox_deleted"] = sandbox.delete()
    if not facts["sandbox_deleted"] and facts["ok"]:
        facts.update(ok=False, error=f"sandbox {sandbox.name} could not be deleted")
    return facts
