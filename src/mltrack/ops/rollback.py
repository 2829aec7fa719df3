"""`mltrack rollback`: move production back to the previous version, record it, verify it loads.

Steps: read the model (production by alias, else the one version in stage Production), work out
the previous version from evidence only (`mltrack.promotions`: promotion records), check the
target's run and weights BEFORE touching anything, then, holding a short lease on the model and
only if production is still where it was when planned (compare-and-set), move the alias and/or
the stage, verify production now serves the target, and write the promotion record under a key
of its own. If the verification fails the move is put back and nothing is recorded.

Exit codes (see `cli/rollback_cmd.py`): 0 rolled back and verified; 1 declined at the prompt or
the verification after the move failed (the move was undone); 2 refused before any change
(unknown model, an alias that does not exist, no or several production versions, no previous
version known, target missing, its run deleted or its weights unverified without --force,
production moved meanwhile, another rollback holding the lease, store unreachable).
"""

from __future__ import annotations

import getpass
import json
import os
import random
import shlex
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mltrack import conventions
from mltrack.errors import EXIT_FINDINGS, MltrackError
from mltrack import promotions as promo
from mltrack.model import ModelVersionRecord, RegisteredModelRecord
from mltrack.stores.base import StoreAdapter, StoreWriter
from mltrack.stores.model_access import model_access
from mltrack.textsafe import for_terminal

# The lease: one tag on the registered model, {"owner", "by", "expires"} (epoch seconds).
LOCK_TAG = "mltrack.rollback.lock"
LEASE_S = 300.0  # a holder that died frees the model after this long
# Fischer's mutual exclusion: after writing the lease, wait longer than any writer can take
# between seeing the lease free and writing its own, then read it back; the last writer wins.
SETTLE_S = 1.0
WAIT_S = 60.0  # how long to wait for another rollback's lease before refusing


class _TerminalSafe(MltrackError):
    def __str__(self) -> str:  # messages quote store text (names, aliases, errors)
        return for_terminal(super().__str__())


class RollbackRefused(_TerminalSafe):
    """Nothing was changed: the rollback cannot be done safely (exit 2)."""


class RollbackFailed(_TerminalSafe):
    """The move was made but production did not verify; the move was undone (exit 1)."""

    exit_code = EXIT_FINDINGS


class RollbackDeclined(_TerminalSafe):
    """The operator said no (or could not answer); nothing changed (exit 1)."""

    exit_code = EXIT_FINDINGS


@dataclass(frozen=True)
class VersionFacts:
    version: str
    run_id: str | None
    metric: float | None
    data_version: str | None
    promoted_at: str | None
    stage: str
    run_state: str | None = None  # "active" | "deleted" | "missing"; None: no run recorded


@dataclass(frozen=True)
class RollbackPlan:
    model: str
    alias: str
    metric_name: str
    current: VersionFacts
    target: VersionFacts
    how_known: str  # where the previous version came from
    moves_alias: bool  # the model has the alias: it is production
    moves_stages: bool  # the current version holds stage Production
    seen: tuple[str | None, tuple[str, ...]] = (None, ())  # (alias version, stage Production versions)
    promotions: tuple[dict[str, Any], ...] = ()
    assumed: str | None = None  # how the alias was inferred, when neither --alias nor the policy named it

    @property
    def uses_stages(self) -> bool:
        return self.moves_stages

    @property
    def production_uri(self) -> str:
        return f"models:/{self.model}@{self.alias}" if self.moves_alias else f"models:/{self.model}/Production"

    def moves(self) -> list[str]:
        lines = []
        if self.moves_alias:
            lines.append(f"alias {self.alias!r}: version {self.current.version} -> version {self.target.version}")
        if self.moves_stages:
            lines.append(f"stage: version {self.target.version} -> Production, "
                         f"version {self.current.version} -> Archived")
        lines.append(f"promotion record added on {self.model!r} ({promo.RECORD_TAG_PREFIX}*); "
                     f"{conventions.TAG_PRODUCTION_SINCE}/{conventions.TAG_PRODUCTION_UNTIL} tags updated")
        return lines


@dataclass
class RollbackOutcome:
    plan: RollbackPlan
    verified: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
    forced: list[str] = field(default_factory=list)  # what --force overrode


def plan_rollback(writer: StoreWriter, model: str, *, alias: str = conventions.PRODUCTION_ALIAS,
                  alias_explicit: bool = False, to_version: str | None = None,
                  metric: str = conventions.METRIC, infer_alias: bool = False) -> RollbackPlan:
    """`infer_alias`: nobody named the alias, so find it in the registry the way the checks do
    (`assumptions.infer_production_alias`), keeping `alias` when none of the usual names is held."""
    if not model or not model.strip():
        raise RollbackRefused("the model name is empty: name a registered model")
    registered = writer.registered_model(model)
    if registered is None:
        raise RollbackRefused(f"no registered model named {model!r}")
    versions = {v.version: v for v in registered.versions}
    aliases = dict(registered.aliases)
    assumed = None
    if infer_alias:
        alias, assumed = _inferred_alias(registered, alias)
    staged = sorted((k for k, v in versions.items() if v.current_stage == "Production"), key=_vkey)
    seen = (aliases.get(alias), tuple(staged))
    if alias in aliases:
        current_version, moves_alias = aliases[alias], True
        moves_stages = current_version in staged
        if moves_stages and len(staged) > 1:
            raise RollbackRefused(f"model {model!r}: several versions are in stage Production "
                                  f"({_listing(staged)}); nothing changed", hint="leave one in Production first")
    elif alias_explicit:
        raise RollbackRefused(f"model {model!r} has no alias {alias!r} "
                              f"(its aliases: {_listing(sorted(aliases)) or 'none'}); nothing changed")
    elif len(staged) != 1:
        what = "no version" if not staged else f"several versions ({_listing(staged)})"
        raise RollbackRefused(f"model {model!r} has no {alias!r} alias and {what} in stage Production: "
                              "no single production version to roll back from; nothing changed",
                              hint=f"aliases: {_listing(sorted(aliases))}; pass --alias" if aliases else None)
    else:
        current_version, moves_alias, moves_stages = staged[0], False, True
    records = promo.read_promotions(registered.tags)
    if to_version is not None:
        target_version, how = str(to_version).strip(), "--to"
        if target_version not in versions:
            raise RollbackRefused(f"model {model!r} has no version {target_version} "
                                  f"(versions: {_listing(sorted(versions, key=_vkey))})")
        if target_version == current_version:
            raise RollbackRefused(f"version {target_version} of {model!r} is already {alias!r}")
    else:
        listing = [(key, v.current_stage, v.tags) for key, v in versions.items()]
        found = promo.previous_production(current_version, records, listing, alias)
        if found.alone:
            raise RollbackRefused(f"model {model!r} has only one version (v{current_version}): "
                                  "nothing to roll back to; nothing changed")
        if found.version is None or found.version not in versions:
            why = found.how if found.version is None else f"the records name version {found.version}, which does not exist"
            candidates = f"; candidates: {_listing('v' + c for c in found.candidates)}" if found.candidates else ""
            raise RollbackRefused(
                f"no previous production version of {model!r} can be identified ({why}{candidates}); nothing changed",
                hint=f"choose one: mltrack rollback --tracking-uri \"$MLTRACK_TRACKING_URI\" "
                     f"--model {shlex.quote(model)} --to VERSION",
            )
        target_version, how = found.version, found.how
    return RollbackPlan(
        model=model, alias=alias, metric_name=metric,
        current=_facts(writer, versions[current_version], records, metric),
        target=_facts(writer, versions[target_version], records, metric),
        how_known=how, moves_alias=moves_alias, moves_stages=moves_stages, seen=seen,
        promotions=tuple(records), assumed=assumed,
    )


def _inferred_alias(record: RegisteredModelRecord, fallback: str) -> tuple[str, str]:
    """(the production alias, what was assumed in words), by the checks' own inference."""
    from mltrack.model import StoreSnapshot
    from mltrack.pressure.assumptions import describe, infer_production_alias

    snapshot = StoreSnapshot(uri="", tracker="mlflow", server_version=None, taken_at=0,
                             registered_models=(record,))
    assumption = infer_production_alias(snapshot, [record.name], fallback)
    return str(assumption.value), describe(assumption) + " or --alias"


def verify_loads(adapter: StoreAdapter, model_uri: str, *, load_models: bool = False) -> dict[str, Any]:
    """Download `model_uri` through the read-only adapter and verify it without running it
    (`verified`, `verified_by`); with `load_models`, also load it in a child process (`loaded`).
    Both through the store layer's `ModelAccess`."""
    models = model_access(adapter)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mltrack-rollback-") as scratch:
        try:
            local = models.download_model(model_uri, Path(scratch))
        except Exception as exc:  # noqa: BLE001 - a model that does not download does not load
            return {"model_uri": model_uri, "verified": False, "loaded": False,
                    "error": f"download failed: {_line(exc)}"}
        facts = models.verify_model(local, load_models=load_models)
    return {"model_uri": model_uri, **facts, "seconds": round(time.perf_counter() - started, 3)}


def apply_rollback(writer: StoreWriter, plan: RollbackPlan) -> None:
    """Move the alias and/or the stages. Records are written only once production verified."""
    if plan.moves_alias:
        writer.set_alias(plan.model, plan.alias, plan.target.version)
    if plan.moves_stages:
        writer.set_stage(plan.model, plan.target.version, "Production")
        writer.set_stage(plan.model, plan.current.version, "Archived")


def record_rollback(writer: StoreWriter, plan: RollbackPlan, *, by: str | None = None) -> None:
    """The promotion record (a tag of its own: a concurrent writer's record is never overwritten)
    and the version tags, exactly like the reference runs write them."""
    now = promo.utc_iso()
    writer.set_version_tag(plan.model, plan.current.version, conventions.TAG_PRODUCTION_UNTIL, now)
    writer.set_version_tag(plan.model, plan.target.version, conventions.TAG_PRODUCTION_SINCE, now)
    try:  # the target is production again: an old "until" would contradict the alias
        writer.delete_version_tag(plan.model, plan.target.version, conventions.TAG_PRODUCTION_UNTIL)
    except Exception:  # noqa: BLE001 - absent tag
        pass
    record = promo.make_record(version=plan.target.version, previous=plan.current.version, alias=plan.alias,
                               by=by or _user(), when=now, reason=promo.REASON_ROLLBACK)
    writer.set_model_tag(plan.model, *promo.new_record_tag(record))


def undo_move(writer: StoreWriter, plan: RollbackPlan) -> None:
    if plan.moves_alias:
        writer.set_alias(plan.model, plan.alias, plan.current.version)
    if plan.moves_stages:
        writer.set_stage(plan.model, plan.current.version, "Production")
        writer.set_stage(plan.model, plan.target.version, "Archived")


undo_alias = undo_move  # the name callers used before stages could move alone


def rollback(writer: StoreWriter, adapter: StoreAdapter, plan: RollbackPlan, *, confirm: Callable[[], bool],
             force: bool = False, started: float | None = None, load_models: bool = False,
             on_wait: Callable[[dict[str, Any]], None] | None = None) -> RollbackOutcome:
    """Check the target, ask, then (leased, compare-and-set) move, verify, record.
    `on_wait(holder)` is told once when another rollback holds the model's lease.
    Raises RollbackRefused / RollbackDeclined / RollbackFailed."""
    started = time.perf_counter() if started is None else started
    forced = []
    target = plan.target
    if target.run_state in ("deleted", "missing"):
        problem = (f"the training run {target.run_id} of version {target.version} is "
                   f"{'deleted' if target.run_state == 'deleted' else 'gone from the store'}")
        if not force:
            raise RollbackRefused(f"{problem}; nothing changed",
                                  hint="restore the run (mlflow runs restore), choose another --to, or pass --force")
        forced.append(problem)
    before = verify_loads(adapter, f"models:/{plan.model}/{target.version}", load_models=load_models)
    if not _verified(before):
        problem = (f"version {target.version} of {plan.model!r} does not load: "
                   f"{before.get('error') or before.get('load_note', 'unknown reason')}")
        if not force:
            raise RollbackRefused(f"{problem}; nothing changed", hint="choose another --to, or pass --force")
        forced.append(problem)
    if not confirm():
        raise RollbackDeclined("rollback declined; nothing changed")
    _still_as_planned(writer, plan)  # before writing anything, even the lease
    with _lease(writer, plan, on_wait):
        _still_as_planned(writer, plan)  # the compare of compare-and-set, now that we hold the model
        apply_rollback(writer, plan)
        serving = _serving(writer, plan)
        with warnings.catch_warnings():  # resolving a stage URI warns that stages are deprecated
            warnings.simplefilter("ignore", FutureWarning)
            after = verify_loads(adapter, plan.production_uri, load_models=load_models)
        expected = (target.version if plan.moves_alias else None,
                    (target.version,) if plan.moves_stages else None)
        moved = (serving[0] if plan.moves_alias else None,
                 serving[1] if plan.moves_stages else None) == expected
        if not moved or not (_verified(after) or force):
            undo_move(writer, plan)
            raise RollbackFailed(f"production did not verify after the move (serves {_describe(serving)}, "
                                 f"load: {after.get('error', 'ok')}); moved back to version {plan.current.version}")
        record_rollback(writer, plan)
    return RollbackOutcome(plan, {"alias_resolves_to": target.version, **after},
                           time.perf_counter() - started, forced)


def _serving(writer: StoreWriter, plan: RollbackPlan) -> tuple[str | None, tuple[str, ...]]:
    """What production is now, read fresh: (alias version, versions in stage Production)."""
    registered = writer.registered_model(plan.model)
    if registered is None:
        raise RollbackRefused(f"model {plan.model!r} no longer exists")
    staged = sorted((v.version for v in registered.versions if v.current_stage == "Production"), key=_vkey)
    return registered.aliases.get(plan.alias), tuple(staged)


def _still_as_planned(writer: StoreWriter, plan: RollbackPlan) -> None:
    now = _serving(writer, plan)
    if now != plan.seen:
        raise RollbackRefused(f"production of {plan.model!r} moved since this rollback was planned "
                              f"(was {_describe(plan.seen)}, now {_describe(now)}); nothing changed",
                              hint="run mltrack rollback again to plan from where production is now")


@contextmanager
def _lease(writer: StoreWriter, plan: RollbackPlan,
           on_wait: Callable[[dict[str, Any]], None] | None = None) -> Iterator[None]:
    """Hold the model's rollback lease for the block; refuse (nothing changed) if another
    rollback holds it for longer than WAIT_S."""
    owner = uuid.uuid4().hex
    deadline = time.monotonic() + WAIT_S
    while True:
        holder = _lease_holder(writer, plan.model)
        if holder is None:
            _still_as_planned(writer, plan)  # the winner may have moved production: refuse unwritten
            writer.set_model_tag(plan.model, LOCK_TAG, json.dumps(
                {"owner": owner, "by": _user(), "expires": time.time() + LEASE_S}))
            time.sleep(SETTLE_S)
            holder = _lease_holder(writer, plan.model)
            if holder is not None and holder.get("owner") == owner:
                break
        if holder is not None and on_wait is not None:
            on_wait(holder)
            on_wait = None  # say it once
        if time.monotonic() > deadline:
            raise RollbackRefused(f"another rollback of {plan.model!r} (by {holder.get('by', '?') if holder else '?'}) "
                                  f"holds the lease; nothing changed", hint="try again in a minute")
        time.sleep(0.2 + random.random() * 0.3)  # noqa: S311 - jitter, not cryptography
    try:
        yield
    finally:
        if (_lease_holder(writer, plan.model) or {}).get("owner") == owner:
            writer.delete_model_tag(plan.model, LOCK_TAG)


def _lease_holder(writer: StoreWriter, model: str) -> dict[str, Any] | None:
    """The live lease on `model`, or None (none, unreadable or expired)."""
    raw = writer.model_tags(model).get(LOCK_TAG)
    try:
        holder = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not isinstance(holder, dict) or float(holder.get("expires", 0)) < time.time():
        return None
    return holder


def _verified(facts: dict[str, Any]) -> bool:
    """A model check passed: `verified` (checked without running it) or, where only a load was
    tried, `loaded`."""
    return bool(facts.get("verified") if "verified" in facts else facts.get("loaded"))


def _describe(state: tuple[str | None, tuple[str, ...]]) -> str:
    alias, staged = state
    parts = [f"alias -> v{alias}"] if alias else []
    parts.append(f"stage Production: {_listing(staged) or 'none'}")
    return ", ".join(parts)


def _listing(versions: Any) -> str:
    return ", ".join(str(v) for v in versions)


def _facts(writer: StoreWriter, version: ModelVersionRecord, records: list[dict[str, Any]],
           metric: str) -> VersionFacts:
    tags = dict(version.tags)
    # The reference registration copies the metric and data version onto the version's tags.
    value: str | float | None
    value, data_version = tags.get(metric), tags.get(conventions.VERSION_TAG_DATA_VERSION)
    run_state = None
    if version.run_id:
        run = writer.run(version.run_id)  # a run that is gone is a finding, not a crash
        if run is None:
            run_state = "missing"
        else:
            run_state = "deleted" if run.lifecycle_stage == "deleted" else "active"
            value = value if value is not None else run.metrics.get(metric)
            data_version = data_version or run.params.get(conventions.PARAM_DATA_VERSION)
    try:
        number = float(value) if value not in (None, "") else None
    except ValueError:
        number = None
    return VersionFacts(
        version=version.version, run_id=version.run_id, metric=number, data_version=data_version,
        promoted_at=promo.promoted_at(version.version, records, tags), stage=version.current_stage or "None",
        run_state=run_state,
    )


def _vkey(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (0, version)


def _user() -> str:
    try:
        return os.environ.get("MLTRACK_USER") or getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


def _line(exc: BaseException) -> str:
    from mltrack.uri import redact

    text = str(exc).strip().splitlines()
    return redact(f"{type(exc).__name__}: {text[0] if text else ''}")[:300]
