"""Promotion records: read the production history, work out what came before, write a record.

MLflow keeps no alias history, so the reference runs and rollback write every promotion down
(`mltrack.conventions`): `mltrack.production_since` / `mltrack.production_until` tags on each
version and, on the registered model, `mltrack.promotions`, a JSON list oldest first of
{version, alias, promoted_at, previous, by}. A rollback's record also says `"reason": "rollback"`
(an additive key), so a second rollback goes further back instead of forth to the broken version.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from mltrack import conventions

REASON_ROLLBACK = "rollback"


def utc_iso(epoch_ms: int | None = None) -> str:
    when = datetime.now(timezone.utc) if epoch_ms is None else datetime.fromtimestamp(epoch_ms / 1000, timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def read_promotions(model_tags: Mapping[str, str]) -> list[dict[str, Any]]:
    """The promotion list from the registered model's tags; [] when absent or unreadable."""
    raw = model_tags.get(conventions.TAG_PROMOTIONS)
    if not raw:
        return []
    try:
        records = json.loads(raw)
    except (TypeError, ValueError):
        return []
    return [r for r in records if isinstance(r, dict) and "version" in r] if isinstance(records, list) else []


def previous_version(
    current: str,
    promotions: Sequence[Mapping[str, Any]],
    versions: Sequence[tuple[str, str, Mapping[str, str]]],
    alias: str = conventions.PRODUCTION_ALIAS,
) -> tuple[str | None, str]:
    """The version that was in production before `current`, and how we know.

    `versions` are (version, current_stage, tags). Order of evidence: the record that first
    promoted `current` (not a rollback to it), the last record's `previous`, the version whose
    `production_until` is newest, then the newest Archived stage.
    """
    records = [r for r in promotions if r.get("alias", alias) == alias]
    for record in reversed(records):
        if str(record.get("version")) == current and record.get("reason") != REASON_ROLLBACK:
            if record.get("previous") not in (None, "", current):
                return str(record["previous"]), "promotion record"
            break
    if records and records[-1].get("previous") not in (None, "", current):
        return str(records[-1]["previous"]), "last promotion record"
    retired = [(tags.get(conventions.TAG_PRODUCTION_UNTIL, ""), v) for v, _, tags in versions
               if v != current and tags.get(conventions.TAG_PRODUCTION_UNTIL)]
    if retired:
        return max(retired)[1], "production_until tag"
    archived = [v for v, stage, _ in versions if v != current and stage == "Archived"]
    if archived:
        return max(archived, key=_version_key), "Archived stage"
    return None, "no promotion records, production_until tags or Archived versions"


def promoted_at(version: str, promotions: Sequence[Mapping[str, Any]], tags: Mapping[str, str]) -> str | None:
    """When `version` last became production: its tag, else its newest promotion record."""
    if tags.get(conventions.TAG_PRODUCTION_SINCE):
        return tags[conventions.TAG_PRODUCTION_SINCE]
    stamps = [r.get("promoted_at") for r in promotions if str(r.get("version")) == version]
    return stamps[-1] if stamps else None


def append_record(
    promotions: Sequence[Mapping[str, Any]], *, version: str, previous: str | None, alias: str,
    by: str, when: str, reason: str | None = None,
) -> str:
    """The new value of the `mltrack.promotions` tag."""
    record: dict[str, Any] = {"version": version, "alias": alias, "promoted_at": when,
                              "previous": previous, "by": by}
    if reason:
        record["reason"] = reason
    return json.dumps([*promotions, record])


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (0, version)
