"""Import aliases: which dotted name a local name stands for.

`import numpy as np` binds `np` -> `numpy`; `from torch import manual_seed` binds
`manual_seed` -> `torch.manual_seed`; `from .utils import set_seed` in module `pkg.train` binds
`set_seed` -> `pkg.utils.set_seed`. Imports anywhere in the file count (a cheap, flow-insensitive
approximation that matches how training scripts are written).
"""

from __future__ import annotations

import libcst as cst


def _dotted(expr: cst.BaseExpression) -> str:
    # exact types: libcst's node classes are ABCs (a slow `isinstance`) with no subclasses
    if type(expr) is cst.Attribute:
        return f"{_dotted(expr.value)}.{expr.attr.value}"  # type: ignore[attr-defined]
    if type(expr) is cst.Name:
        return expr.value  # type: ignore[attr-defined]
    return ""


class ImportMap:
    def __init__(self, module_name: str = "") -> None:
        self.module_name = module_name  # dotted name of the file itself, for relative imports
        self.aliases: dict[str, str] = {}
        self.modules: set[str] = set()  # every module named by an import statement

    def add(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = _dotted(alias.name)
                self.modules.add(full)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.aliases[alias.asname.name.value] = full
                else:
                    root = full.split(".", 1)[0]
                    self.aliases.setdefault(root, root)
            return
        base = _dotted(node.module) if node.module is not None else ""
        if node.relative:
            package = self.module_name.split(".")[: -len(node.relative)] if self.module_name else []
            base = ".".join([*package, base] if base else package)
        if base:
            self.modules.add(base)
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = _dotted(alias.name)
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.aliases[local] = f"{base}.{name}" if base else name
            if base:
                self.modules.add(f"{base}.{name}")

    def resolve(self, raw: str) -> str | None:
        """`np.random.seed` -> `numpy.random.seed`; None when the root is not imported."""
        root, _, rest = raw.partition(".")
        target = self.aliases.get(root)
        if target is None:
            return None
        return f"{target}.{rest}" if rest else target

    def local_name_for(self, module: str) -> str | None:
        """A local name bound to exactly `module` (`np` for numpy), for fixes that add calls."""
        for local, target in self.aliases.items():
            if target == module:
                return local
        return None

    def imports_any(self, roots: frozenset[str]) -> bool:
        return any(m.split(".", 1)[0] in roots for m in self.modules)
