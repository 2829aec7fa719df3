"""The ten pressure checks, in order (MLP01-MLP10), and name/group resolution."""

from __future__ import annotations

from collections.abc import Sequence

from mltrack.errors import UsageError
from mltrack.pressure.base import Check
from mltrack.pressure.checks import (
    artifact_cleanup, data_change, hparam_search, long_term_repro, multi_user, onboarding,
    prediction_audit, production_model, recovery, rollback,
)

CHECKS: tuple[Check, ...] = (
    recovery.CHECK, production_model.CHECK, multi_user.CHECK, data_change.CHECK, rollback.CHECK,
    prediction_audit.CHECK, hparam_search.CHECK, long_term_repro.CHECK, artifact_cleanup.CHECK,
    onboarding.CHECK,
)
BY_NAME = {c.name: c for c in CHECKS}
BY_CODE = {c.code: c for c in CHECKS}
# "all", and each group a check declares on itself (`Check(groups=...)`), in registry order
GROUPS: dict[str, tuple[str, ...]] = {"all": tuple(BY_NAME)} | {
    group: tuple(c.name for c in CHECKS if group in c.groups)
    for group in dict.fromkeys(g for c in CHECKS for g in c.groups)
}


def get(name_or_code: str) -> Check:
    check = BY_NAME.get(name_or_code) or BY_CODE.get(name_or_code.upper())
    if check is None:
        raise UsageError(f"unknown check {name_or_code!r}", hint="choose from " + ", ".join(BY_NAME))
    return check


def select(names: Sequence[str] | str | None = None) -> tuple[Check, ...]:
    """Checks for names, codes or groups (`all`, `monthly`; comma-separated works), in registry order."""
    if names is None:
        return CHECKS
    if isinstance(names, str):
        names = [names]
    wanted: set[str] = set()
    for item in names:
        for part in (p.strip() for p in item.split(",")):
            if not part:
                continue
            wanted.update(GROUPS[part] if part in GROUPS else (get(part).name,))
    return tuple(c for c in CHECKS if c.name in wanted)
