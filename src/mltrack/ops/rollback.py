"""`mltrack rollback`: move production back to the previous version, record it, verify it loads.

Steps: read the model (current production by alias, else the Production stage), work out the
previous version from the promotion records (`mltrack.promotions`), check the target loads BEFORE
touching anything, move the alias (and the stage where the store uses stages), write the
promotion record exactly like the reference runs do, then load `models:/NAME@ALIAS` again to
prove production now serves the target. If that last load fails the alias is put back.

Exit codes (see `cli/rollback_cmd.py`): 0 rolled back and verified; 1 declined at the prompt or
the verification after the move failed (the alias was restored); 2 refused before any change
(unknown model, no production version, no previous version, target missing or does not load,
store unreachable).
"""

from __future__ import annotations

import getpass
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mltrack import conventions
from mltrack.errors import EXIT_FINDINGS, MltrackError
from mltrack import promotions as promo


class RollbackRefused(MltrackError):
    """Nothing was changed: the rollback cannot be done safely (exit 2)."""


class RollbackFailed(MltrackError):
    """The alias moved but production did not verify; the alias was restored (exit 1)."""

    exit_code = EXIT_FINDINGS


@dataclass(frozen=True)
class VersionFacts:
    version: str
    run_id: str | None
    metric: float | None
    data_version: str | None
    promoted_at: str | None
    stage: str


@dataclass(frozen=True)
class RollbackPlan:
    model: str
    alias: str
    metric_name: str
    current: VersionFacts
    target: VersionFacts
    how_known: str  # where the previous version came from
    uses_stages: bool
    promotions: tuple[dict[str, Any], ...] = ()

    def moves(self) -> list[str]:
        lines = [f"alias {self.alias!r}: version {self.current.version} -> version {self.target.version}"]
        if self.uses_stages:
            lines.append(f"stage: version {self.target.version} -> Production, "
                         f"version {self.current.version} -> Archived")
        lines.append(f"promotion record appended to {conventions.TAG_PROMOTIONS} on {self.model!r}; "
                     f"{conventions.TAG_PRODUCTION_SINCE}/{conventions.TAG_PRODUCTION_UNTIL} tags updated")
        return lines


@dataclass
class RollbackOutcome:
    plan: RollbackPlan
    verified: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0


def plan_rollback(client: Any, model: str, *, alias: str = conventions.PRODUCTION_ALIAS,
                  to_version: str | None = None, metric: str = conventions.METRIC) -> RollbackPlan:
    registered = _registered_model(client, model)
    versions = {str(v.version): v for v in _all_versions(client, model)}  # int on some stores
    current_version = registered.aliases.get(alias) if registered.aliases else None
    if current_version is None:
        in_production = [v for v in versions.values() if v.current_stage == "Production"]
        if not in_production:
            raise RollbackRefused(f"model {model!r} has no {alias!r} alias and no Production stage: "
                                  "nothing is in production to roll back")
        current_version = max(in_production, key=lambda v: int(v.version)).version
    current_version = str(current_version)
    records = promo.read_promotions(registered.tags or {})
    if to_version is not None:
        target_version, how = str(to_version), "--to"
        if target_version not in versions:
            raise RollbackRefused(f"model {model!r} has no version {target_version} "
                                  f"(versions: {', '.join(sorted(versions, key=int))})")
        if target_version == current_version:
            raise RollbackRefused(f"version {target_version} of {model!r} is already {alias!r}")
    else:
        listing = [(key, v.current_stage, v.tags or {}) for key, v in versions.items()]
        found, how = promo.previous_version(current_version, records, listing, alias)
        if found is None or found not in versions:
            raise RollbackRefused(
                f"no previous production version of {model!r} can be identified ({how})",
                hint="pass --to VERSION to choose one",
            )
        target_version = found
    uses_stages = versions[current_version].current_stage == "Production"
    return RollbackPlan(
        model=model, alias=alias, metric_name=metric,
        current=_facts(client, versions[current_version], records, metric),
        target=_facts(client, versions[target_version], records, metric),
        how_known=how, uses_stages=uses_stages, promotions=tuple(records),
    )


def verify_loads(adapter: Any, model_uri: str, *, load_models: bool = False) -> dict[str, Any]:
    """Download `model_uri` through the read-only adapter and verify it without running it
    (`verified`, `verified_by`); with `load_models`, also load it in a child process (`loaded`)."""
    from mltrack.pressure.evidence import check_model

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mltrack-rollback-") as scratch:
        try:
            local = Path(adapter.download_model(model_uri, Path(scratch)))
        except Exception as exc:  # noqa: BLE001 - a model that does not download does not load
            return {"model_uri": model_uri, "verified": False, "loaded": False,
                    "error": f"download failed: {_line(exc)}"}
        facts = check_model(local, load_models=load_models)
    return {"model_uri": model_uri, **facts, "seconds": round(time.perf_counter() - started, 3)}


def apply_rollback(client: Any, plan: RollbackPlan, *, by: str | None = None) -> None:
    """Move the alias (and stages), then write the promotion record and the version tags."""
    now = promo.utc_iso()
    client.set_registered_model_alias(plan.model, plan.alias, plan.target.version)
    if plan.uses_stages:
        with warnings.catch_warnings():  # stages are deprecated in MLflow 3 but still served
            warnings.simplefilter("ignore")
            client.transition_model_version_stage(plan.model, plan.target.version, "Production")
            client.transition_model_version_stage(plan.model, plan.current.version, "Archived")
    client.set_model_version_tag(plan.model, plan.current.version, conventions.TAG_PRODUCTION_UNTIL, now)
    client.set_model_version_tag(plan.model, plan.target.version, conventions.TAG_PRODUCTION_SINCE, now)
    try:  # the target is production again: an old "until" would contradict the alias
        client.delete_model_version_tag(plan.model, plan.target.version, conventions.TAG_PRODUCTION_UNTIL)
    except Exception:  # noqa: BLE001 - absent tag
        pass
    record = promo.append_record(plan.promotions, version=plan.target.version, previous=plan.current.version,
                                 alias=plan.alias, by=by or _user(), when=now, reason=promo.REASON_ROLLBACK)
    client.set_registered_model_tag(plan.model, conventions.TAG_PROMOTIONS, record)


def undo_alias(client: Any, plan: RollbackPlan) -> None:
    client.set_registered_model_alias(plan.model, plan.alias, plan.current.version)
    if plan.uses_stages:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client.transition_model_version_stage(plan.model, plan.current.version, "Production")
            client.transition_model_version_stage(plan.model, plan.target.version, "Archived")


def rollback(client: Any, adapter: Any, plan: RollbackPlan, *, confirm: Callable[[], bool],
             started: float | None = None, load_models: bool = False) -> RollbackOutcome:
    """Check the target loads, ask, move, verify. Raises RollbackRefused / RollbackFailed."""
    started = time.perf_counter() if started is None else started
    before = verify_loads(adapter, f"models:/{plan.model}/{plan.target.version}", load_models=load_models)
    if not before.get("verified"):
        raise RollbackRefused(f"version {plan.target.version} of {plan.model!r} does not load: "
                              f"{before.get('error') or before.get('load_note', 'unknown reason')}; nothing changed")
    if not confirm():
        raise RollbackDeclined("rollback declined; nothing changed")
    apply_rollback(client, plan)
    serving = str(client.get_model_version_by_alias(plan.model, plan.alias).version)
    after = verify_loads(adapter, f"models:/{plan.model}@{plan.alias}", load_models=load_models)
    if serving != plan.target.version or not after.get("verified"):
        undo_alias(client, plan)
        raise RollbackFailed(f"{plan.alias!r} did not verify after the move (serves {serving}, "
                             f"load: {after.get('error', 'ok')}); alias restored to {plan.current.version}")
    return RollbackOutcome(plan, {"alias_resolves_to": serving, **after}, time.perf_counter() - started)


class RollbackDeclined(MltrackError):
    exit_code = EXIT_FINDINGS


def _registered_model(client: Any, model: str) -> Any:
    try:
        return client.get_registered_model(model)
    except Exception as exc:  # noqa: BLE001
        if "RESOURCE_DOES_NOT_EXIST" in str(exc) or "not found" in str(exc).lower():
            raise RollbackRefused(f"no registered model named {model!r}") from None
        raise


def _all_versions(client: Any, model: str) -> list[Any]:
    found, token = [], None
    while True:
        page = client.search_model_versions(f"name = '{model}'", max_results=200, page_token=token)
        found.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return found


def _facts(client: Any, version: Any, records: list[dict[str, Any]], metric: str) -> VersionFacts:
    tags = dict(version.tags or {})
    # The reference registration copies the metric and data version onto the version's tags.
    value, data_version = tags.get(metric), tags.get(conventions.VERSION_TAG_DATA_VERSION)
    if version.run_id and (value is None or data_version is None):
        try:
            run = client.get_run(version.run_id)
            value = value if value is not None else run.data.metrics.get(metric)
            data_version = data_version or run.data.params.get(conventions.PARAM_DATA_VERSION)
        except Exception:  # noqa: BLE001 - a deleted run leaves the facts we have
            pass
    return VersionFacts(
        version=str(version.version), run_id=version.run_id,
        metric=float(value) if value not in (None, "") else None, data_version=data_version,
        promoted_at=promo.promoted_at(str(version.version), records, tags), stage=version.current_stage or "None",
    )


def _user() -> str:
    try:
        return os.environ.get("MLTRACK_USER") or getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


def _line(exc: BaseException) -> str:
    from mltrack.uri import redact

    text = str(exc).strip().splitlines()
    return redact(f"{type(exc).__name__}: {text[0] if text else ''}")[:300]
