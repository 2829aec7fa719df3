"""`report.json`: the audit's contract. Every other format renders from this data only.

Schema version 1 (a change that removes or renames a key bumps it; adding a key does not):

    schema_version   int, 1
    mltrack_version  str
    created_at       str, ISO 8601 UTC ("2026-11-23T10:40:00Z")
    uri              str, the tracking URI with credentials redacted
    tracker          "mlflow" | "wandb"
    server_version   str | null
    environment      {python, platform, mltrack, ci, checks_requested, ...}
    results          [{code, name, status, message, evidence{}, fix|null, duration_s}]
    summary          {checks, pass, fail, warn, error, skip, runs, users, experiments,
                      untracked_fields, reclaimable_bytes|null, masked_secrets}
                     masked_secrets: how many secret-looking values (params, tags, URIs with
                     passwords, token shapes; mltrack.secrets) were replaced by `***`
    trend            null | {previous, previous_created_at, newly_failing[], fixed[],
                             still_failing[], numbers{key: {before, after, delta}}}
    duration_s       float, the whole audit
    assumptions      [{key, value, how, coverage|null, override}]: what zero configuration
                     inferred from the store because the policy did not set it (experiments,
                     inference_experiments, run_kinds, metric, metric_goal, registered_models,
                     production_alias); `override` is the [tool.mltrack] key that sets it.
                     Empty when the policy names everything; absent in reports before it existed
    non_finite_values  (only when some were nulled) ["results[3].evidence.best_run.val_loss: nan", ...]:
                     strict JSON has no NaN/Infinity, so those numbers are written as null

`validate_report` checks this shape so a renderer never meets a half-written file, and a file
from a newer mltrack is refused with a clear message instead of rendered wrong.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mltrack import __version__
from mltrack.errors import MltrackError
from mltrack.model import AuditReport, CheckResult, Status
from mltrack.ranking import json_safe
from mltrack.secrets import mask_text, mask_value
from mltrack.uri import redact

SCHEMA_VERSION = 1
STATUSES = tuple(s.value for s in Status)
FAILING = frozenset({Status.FAIL.value, Status.ERROR.value})
SUMMARY_NUMBERS = ("runs", "users", "experiments", "untracked_fields", "reclaimable_bytes")

_REQUIRED_TOP = {
    "schema_version": int, "mltrack_version": str, "created_at": str, "uri": str,
    "tracker": str, "environment": dict, "results": list, "summary": dict,
}
_REQUIRED_RESULT = {"code": str, "name": str, "status": str, "message": str, "evidence": dict}


class ReportError(MltrackError):
    """A report.json that cannot be read or rendered (exit 2)."""


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def environment(checks_requested: str) -> dict[str, Any]:
    """Where the audit ran: enough to tell two audits' setups apart, nothing secret."""
    return {
        "mltrack": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "ci": is_ci(),
        "checks_requested": checks_requested,
        "argv": mask_text(" ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv)))[0],
    }


def is_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def summarize(results: tuple[CheckResult, ...], numbers: Mapping[str, Any]) -> dict[str, Any]:
    counts = {status: 0 for status in STATUSES}
    for result in results:
        counts[result.status.value] += 1
    return {"checks": len(results), **counts, **{k: numbers.get(k) for k in SUMMARY_NUMBERS}}


def mask_results(results: tuple[CheckResult, ...]) -> tuple[tuple[CheckResult, ...], int]:
    """The results with every secret-looking value in their messages, evidence (params, tags,
    URIs) and fixes replaced by `***`, and how many were: masked here, once, so every format
    rendered from report.json (and the onboarding page) publishes none of them."""
    masked, total = [], 0
    for result in results:
        message, in_message = mask_text(result.message)
        evidence, in_evidence = mask_value("", result.evidence)
        fix, in_fix = mask_text(result.fix) if result.fix else (result.fix, 0)
        masked.append(dataclasses.replace(result, message=message, evidence=evidence, fix=fix))
        total += in_message + in_evidence + in_fix
    return tuple(masked), total


def build_report(
    *,
    uri: str,
    tracker: str,
    server_version: str | None,
    results: tuple[CheckResult, ...],
    numbers: Mapping[str, Any],
    checks_requested: str,
    duration_s: float,
    created_at: str | None = None,
) -> AuditReport:
    results, masked = mask_results(tuple(results))
    return AuditReport(
        schema_version=SCHEMA_VERSION,
        mltrack_version=__version__,
        created_at=created_at or utc_now_iso(),
        uri=redact(uri),
        tracker=tracker,
        server_version=server_version,
        environment=environment(checks_requested),
        results=tuple(results),
        summary={**summarize(results, numbers), "masked_secrets": masked},
        trend=None,
        duration_s=round(duration_s, 3),
    )


def validate_report(data: Any) -> dict[str, Any]:
    """The report as a dict, or ReportError naming the first thing wrong with it."""
    if not isinstance(data, dict):
        raise ReportError("report.json must hold a JSON object")
    version = data.get("schema_version")
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise ReportError(
            f"report.json has schema_version {version}; this mltrack reads up to {SCHEMA_VERSION}",
            hint="upgrade mltrack",
        )
    _expect(data, _REQUIRED_TOP, "report")
    for index, result in enumerate(data["results"]):
        if not isinstance(result, dict):
            raise ReportError(f"results[{index}] must be an object")
        _expect(result, _REQUIRED_RESULT, f"results[{index}]")
        if result["status"] not in STATUSES:
            raise ReportError(f"results[{index}].status {result['status']!r} is not one of {STATUSES}")
    if data.get("trend") is not None and not isinstance(data["trend"], dict):
        raise ReportError("trend must be an object or null")
    assumptions = data.get("assumptions", [])
    if not isinstance(assumptions, list) or not all(isinstance(a, dict) and "key" in a for a in assumptions):
        raise ReportError("assumptions must be a list of objects with a key")
    return data


def _expect(data: Mapping[str, Any], keys: Mapping[str, type], where: str) -> None:
    for key, kind in keys.items():
        if key not in data:
            raise ReportError(f"{where} lacks {key!r}")
        if not isinstance(data[key], kind) or (kind is int and isinstance(data[key], bool)):
            raise ReportError(f"{where}.{key} must be {kind.__name__}")


def dumps(report: AuditReport | Mapping[str, Any]) -> str:
    """Strict JSON: a NaN or infinity (a diverged run's metric) is written as null, and
    `non_finite_values` lists where and what it was, so no strict parser chokes on the file and
    no reader mistakes the null for a missing value."""
    data = report.to_dict() if isinstance(report, AuditReport) else dict(report)
    notes: list[str] = []
    data = json_safe(data, notes=notes)
    if notes:
        data["non_finite_values"] = sorted(set(data.get("non_finite_values") or []) | set(notes))
    return json.dumps(data, indent=2, sort_keys=True, default=str, allow_nan=False) + "\n"


def load(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path} is not valid JSON: {exc}") from None
    return validate_report(data)


def is_failing(result: Mapping[str, Any]) -> bool:
    return result.get("status") in FAILING
