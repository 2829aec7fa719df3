"""FileContext: everything a rule may ask about one parsed file (stub, being filled in)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import libcst as cst

from mltrack.model import Location

if TYPE_CHECKING:
    from mltrack.lint.project import ProjectIndex


@dataclass
class FileContext:
    source: str
    path: str
    module: cst.Module
    project: ProjectIndex | None = None
    config: Any = None

    @classmethod
    def build(cls, source: str, path: str, module: cst.Module, *, project=None, config=None):
        return None

    def location(self, node: cst.CSTNode) -> Location:
        return Location(self.path, 1, 1, 1, 1)
