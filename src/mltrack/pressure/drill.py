"""The opt-in rollback drill: rehearse a real rollback in a throwaway registered model.

Writes only to a sandbox model named `mltrack-drill-<model>-<random>`, which is deleted in a
`finally` block - even when the drill fails. The real model is never touched.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from mltrack.pressure.base import GatherContext
from mltrack.pressure.evidence import describe_error, fetch_and_load

SANDBOX_PREFIX = "mltrack-drill-"
SANDBOX_TAG = "mltrack.sandbox"


def rollback_drill(ctx: GatherContext, model: str, current: str, previous: str) -> dict[str, Any]:
    if ctx.adapter is None or getattr(ctx.adapter.uri, "tracker", "mlflow") != "mlflow":
        return {"ok": True, "skipped": "the drill needs an MLflow model registry"}
    from mlflow.tracking import MlflowClient

    raw = ctx.adapter.uri.raw
    client = MlflowClient(tracking_uri=raw, registry_uri=raw)
    alias = ctx.policy.production_alias
    sandbox = f"{SANDBOX_PREFIX}{model}-{uuid.uuid4().hex[:8]}"
    facts: dict[str, Any] = {"sandbox": sandbox, "ok": False}
    started = time.perf_counter()
    try:
        client.create_registered_model(sandbox, tags={SANDBOX_TAG: "true"})
        now = str(client.copy_model_version(f"models:/{model}/{current}", sandbox).version)
        before = str(client.copy_model_version(f"models:/{model}/{previous}", sandbox).version)
        real = {now: current, before: previous}  # sandbox version -> the real version it copies
        client.set_registered_model_alias(sandbox, alias, now)
        rolled = time.perf_counter()
        client.set_registered_model_alias(sandbox, alias, before)
        served = str(client.get_model_version_by_alias(sandbox, alias).version)
        load = fetch_and_load(ctx, f"models:/{sandbox}/{served}", "drill")
        facts["rollback_s"] = round(time.perf_counter() - rolled, 3)
        client.set_registered_model_alias(sandbox, alias, now)  # and forward again
        forward = str(client.get_model_version_by_alias(sandbox, alias).version)
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
        facts["sandbox_deleted"] = _delete(client, sandbox)
    if not facts["sandbox_deleted"] and facts["ok"]:
        facts.update(ok=False, error=f"sandbox {sandbox} could not be deleted")
    return facts


def _delete(client, sandbox: str) -> bool:
    try:
        client.delete_registered_model(sandbox)
        return True
    except Exception as exc:  # noqa: BLE001
        return "RESOURCE_DOES_NOT_EXIST" in str(exc)
