"""Promotion records: read the production history, work out what came before, write a record.

MLflow keeps no alias history and no stage history, so mltrack writes every promotion down
(`mltrack.conventions`): `mltrack.production_since` / `mltrack.production_until` tags on each
version, and records of {version, alias, promoted_at, previous, by} on the registered model.
A rollback's record also says `"reason": "rollback"`, so a second rollback goes further back
instead of forth to the version just rolled back from.

Records live in two places, read together and merged in time order:
- `mltrack.promotions`: the legacy JSON list, oldest first (the seeder and the W&B mapping);
- `mltrack.promotion.<utc-stamp>.<random>`: one record per tag. Every writer adds its own key,
  so two rollbacks at the same instant cannot overwrite each other's record (a read-modify-
  write of one JSON list can), and no tag grows past MLflow's value size limit.

The previous production version is known only from evidence: these records, or failing them
one newest `production_until` tag. "The newest Archived stage" is not evidence: a version can
be archived straight from Staging, so on a registry without records the answer is "unknown",
with the candidates listed for a human to choose (`mltrack rollback --to`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from mltrack import conventions

REASON_ROLLBACK = "rollback"
RECORD_TAG_PREFIX = "mltrack.promotion."  # + "<%Y%m%dT%H%M%S.%fZ>.<8 hex>": one record per tag


@dataclass(frozen=True)
class Previous:
    """The version production would roll back to, how we know, and (when unknown) who it could be."""

    version: str | None
    how: str
    candidates: tuple[str, ...] = ()
    alone: bool = False  # the model has no version but the current one: nothing to roll back to


def utc_iso(epoch_ms: int | None = None) -> str:
    when = datetime.now(timezone.utc) if epoch_ms is None else datetime.fromtimestamp(epoch_ms / 1000, timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def read_promotions(model_tags: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every promotion record on the registered model, oldest first: the legacy list and the
    one-record tags merged by time (a record without a readable time keeps its list place)."""
    ordered: list[tuple[datetime, int, str, dict[str, Any]]] = []
    for index, record in enumerate(_legacy_list(model_tags.get(conventions.TAG_PROMOTIONS))):
        ordered.append((_when(record.get("promoted_at")), 0, f"{index:09d}", record))
    for key, raw in model_tags.items():
        if not key.startswith(RECORD_TAG_PREFIX):
            continue
        one = _one_record(raw)
        if one is not None:
            stamp = key[len(RECORD_TAG_PREFIX):].rsplit(".", 1)[0]
            ordered.append((_when(one.get("promoted_at"), key_stamp=stamp), 1, key, one))
    ordered.sort(key=lambda item: item[:3])
    return [record for *_, record in ordered]


def new_record_tag(record: Mapping[str, Any]) -> tuple[str, str]:
    """(tag key, JSON value) of a new record: a key nobody else can be writing at the same time."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{RECORD_TAG_PREFIX}{stamp}.{secrets.token_hex(4)}", json.dumps(dict(record))


def make_record(*, version: str, previous: str | None, alias: str, by: str, when: str,
                reason: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"version": version, "alias": alias, "promoted_at": when,
                              "previous": previous, "by": by}
    if reason:
        record["reason"] = reason
    return record


def production_history(promotions: Sequence[Mapping[str, Any]],
                       alias: str = conventions.PRODUCTION_ALIAS) -> tuple[list[str], set[str]]:
    """Replay the records: (the production versions as a stack, oldest first and the current on
    top; the versions rolled back from and not promoted again since).

    A promotion pushes its version. A rollback pops back to the version it restores (pushing it
    when the records never saw it in production), so the next rollback goes further back.
    """
    stack: list[str] = []
    rolled_back_from: set[str] = set()
    for record in promotions:
        if record.get("alias", alias) != alias:
            continue
        version = str(record.get("version"))
        previous = record.get("previous")
        previous = None if previous in (None, "") else str(previous)
        if not stack and previous not in (None, version):
            stack.append(previous)  # records that start mid-history still name what came before
        if record.get("reason") == REASON_ROLLBACK:
            if previous is not None:
                rolled_back_from.add(previous)
                if stack and stack[-1] == previous:
                    stack.pop()
            if version in stack:
                del stack[len(stack) - stack[::-1].index(version):]
            else:
                stack.append(version)
        else:
            rolled_back_from.discard(version)
            if not stack or stack[-1] != version:
                stack.append(version)
    return stack, rolled_back_from


def previous_production(
    current: str,
    promotions: Sequence[Mapping[str, Any]],
    versions: Sequence[tuple[str, str, Mapping[str, str]]],
    alias: str = conventions.PRODUCTION_ALIAS,
) -> Previous:
    """The version that was in production before `current`, only from evidence.

    `versions` are (version, current_stage, tags). Evidence, in order: the promotion records
    (replayed by `production_history`), else one newest `production_until` version tag. Anything
    else is "unknown", with the candidates (`_candidates`) for a human to choose from.
    """
    if versions and all(v == current for v, _, _ in versions):
        return Previous(None, f"version {current} is the model's only version: nothing to roll back to",
                        alone=True)
    stack, rolled_back_from = production_history(promotions, alias)
    if stack:
        if stack[-1] != current:
            return Previous(None, f"the promotion records end at version {stack[-1]}, but production is "
                                  f"version {current}: it moved without a record",
                            _candidates(current, versions, rolled_back_from, first=stack[-1]))
        below = [v for v in stack[:-1] if v != current and v not in rolled_back_from]
        if below:
            return Previous(below[-1], "promotion records")
        return Previous(None, f"the promotion records know nothing before version {current}",
                        _candidates(current, versions, rolled_back_from))
    retired = sorted(((_when(tags.get(conventions.TAG_PRODUCTION_UNTIL)), v) for v, _, tags in versions
                      if v != current and tags.get(conventions.TAG_PRODUCTION_UNTIL)), reverse=True)
    if retired and (len(retired) == 1 or retired[0][0] != retired[1][0]):
        return Previous(retired[0][1], "production_until tag")
    candidates = _candidates(current, versions, rolled_back_from)
    if retired:
        return Previous(None, "several versions left production at the same time", candidates)
    return Previous(None, "no promotion records, and MLflow keeps no alias or stage history", candidates)


def previous_version(
    current: str,
    promotions: Sequence[Mapping[str, Any]],
    versions: Sequence[tuple[str, str, Mapping[str, str]]],
    alias: str = conventions.PRODUCTION_ALIAS,
) -> tuple[str | None, str]:
    """`previous_production` as (version or None, how we know or why not)."""
    found = previous_production(current, promotions, versions, alias)
    if found.version is None and found.candidates:
        return None, f"{found.how}; candidates: {', '.join('v' + c for c in found.candidates)}"
    return found.version, found.how


def promoted_at(version: str, promotions: Sequence[Mapping[str, Any]], tags: Mapping[str, str]) -> str | None:
    """When `version` last became production: its tag, else its newest promotion record."""
    if tags.get(conventions.TAG_PRODUCTION_SINCE):
        return tags[conventions.TAG_PRODUCTION_SINCE]
    stamps = [r.get("promoted_at") for r in promotions if str(r.get("version")) == version]
    return stamps[-1] if stamps else None


def _candidates(current: str, versions: Sequence[tuple[str, str, Mapping[str, str]]],
                excluded: set[str], first: str | None = None) -> tuple[str, ...]:
    """Who the previous version could be, newest first: the versions a stage says left or still
    hold production (Archived, a leftover Production beside an alias), else all others."""
    others = [(v, stage) for v, stage, _ in versions if v != current and v not in excluded]
    staged = [v for v, stage in others if (stage or "").lower() in ("archived", "production")]
    found = sorted(staged or [v for v, _ in others], key=_version_key, reverse=True)
    if first is not None and first != current:
        found = [first, *[v for v in found if v != first]]
    return tuple(found)


def _legacy_list(raw: str | None) -> list[dict[str, Any]]:
    if not raw:
        return []
    try:
        records = json.loads(raw)
    except (TypeError, ValueError):
        return []
    return [r for r in records if isinstance(r, dict) and "version" in r] if isinstance(records, list) else []


def _one_record(raw: str | None) -> dict[str, Any] | None:
    try:
        record = json.loads(raw or "")
    except (TypeError, ValueError):
        return None
    return record if isinstance(record, dict) and "version" in record else None


def _when(text: Any, key_stamp: str | None = None) -> datetime:
    """A record's time (UTC); the tag key's microsecond stamp first, as it orders same-second records."""
    if key_stamp:
        try:
            return datetime.strptime(key_stamp.rstrip("Z"), "%Y%m%dT%H%M%S.%f").replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    try:
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (0, version)
