"""A check's evidence as a frozen dataclass: gather builds it, the runner records `to_dict()`
(JSON, as before), and judge reads it back with `from_dict`, so a key renamed on one side fails
loudly instead of reading nothing.

Recordings made before a key existed still load: a field with a default is optional, and its
default is what judge read for a missing key (`evidence.get(key, default)`). A field whose
default is None is left out of `to_dict()` while it is None, as gather never wrote it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any, TypeVar

T = TypeVar("T", bound="TypedEvidence")


class TypedEvidence:
    """Base for a check's evidence dataclass (declare it `@dataclass(frozen=True)`)."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: value for f in fields(self)  # type: ignore[arg-type]
                if (value := getattr(self, f.name)) is not None or f.default is not None}

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
        """The evidence `data` holds; a key that is no field (a renamed one) or a missing
        required field raises TypeError naming it."""
        known = fields(cls)  # type: ignore[arg-type]
        names = [f.name for f in known]
        unknown = [k for k in data if k not in names]
        if unknown:
            raise TypeError(f"{cls.__name__} has no field {', '.join(map(repr, unknown))} "
                            f"(fields: {', '.join(names)})")
        missing = [f.name for f in known if f.name not in data
                   and f.default is MISSING and f.default_factory is MISSING]
        if missing:
            raise TypeError(f"{cls.__name__} lacks required field {', '.join(map(repr, missing))}")
        return cls(**data)
