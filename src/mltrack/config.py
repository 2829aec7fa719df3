"""Find and read `[tool.mltrack]` from pyproject.toml (or an explicit file).

This module only locates and parses the table. Each part validates its own section:
`mltrack.pressure.policy` the top-level policy keys, `mltrack.lint.config` the `lint` sub-table.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mltrack.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


@dataclass(frozen=True)
class ToolTable:
    data: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None  # the file it came from; None when no configuration was found

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"[tool.mltrack.{name}] in {self.source} must be a table")
        return value


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest pyproject.toml at or above `start` (default: the working directory)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_tool_table(path: Path | str | None = None, start: Path | None = None) -> ToolTable:
    """Read `[tool.mltrack]`. An explicit `path` must exist; it may be a pyproject.toml (the
    `[tool.mltrack]` table is used) or a standalone mltrack TOML file (its top level is used)."""
    file: Path | None
    if path is not None:
        file = Path(path)
        if file.is_dir():
            raise ConfigError(f"config file {file} is a directory",
                              hint="pass the TOML file itself, e.g. its pyproject.toml")
        if not file.is_file():
            raise ConfigError(f"config file {file} does not exist")
    else:
        file = find_pyproject(start)
        if file is None:
            return ToolTable()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {file}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file} is not valid TOML: {exc}") from None
    if file.name == "pyproject.toml" or "tool" in data:
        table = data.get("tool", {}).get("mltrack", {})
    else:
        table = data
    if not isinstance(table, dict):
        raise ConfigError(f"[tool.mltrack] in {file} must be a table")
    return ToolTable(table, file)
