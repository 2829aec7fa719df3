"""`[tool.mltrack.lint]` in pyproject.toml -> `LintConfig`.

```toml
[tool.mltrack.lint]
select = ["MLT001", "unlogged-hyperparameters"]   # default: every rule
ignore = ["MLT010"]
exclude = ["notebooks/scratch/**", "legacy"]       # added to the default excludes
tracker = "mlflow"                                 # mlflow | wandb | tensorboard
required-hyperparameters = ["lr", "batch_size"]

[tool.mltrack.lint.per-file-ignores]
"tests/**" = ["missing-seed"]
```

Rules are named by code or name; both are stored as codes. Unknown keys and unknown rules are
configuration errors (exit 2) so a typo never silently switches a rule off.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from mltrack.errors import ConfigError
from mltrack.lint.builtin_codes import BUILTIN_CODES

TRACKERS = ("mlflow", "wandb", "tensorboard")

# Directories nobody wants linted; like ruff's defaults. Matched against any path component.
DEFAULT_EXCLUDES = (
    ".bzr", ".direnv", ".eggs", ".git", ".hg", ".ipynb_checkpoints", ".mypy_cache", ".nox",
    ".pytest_cache", ".ruff_cache", ".mltrack_cache", ".svn", ".tox", ".venv", "__pycache__",
    "__pypackages__", "_build", "build", "dist", "node_modules", "site-packages", "venv",
)

# Codes the engine reports itself. They are on unless ignored (a `select` of rules keeps them).
ENGINE_CODES = {c.code: c.name for c in BUILTIN_CODES if c.ignorable}

_KEYS = {
    "select", "ignore", "exclude", "per-file-ignores", "tracker", "required-hyperparameters",
}


@functools.lru_cache(maxsize=64)
def _selected_codes(config: LintConfig, all_codes: tuple[str, ...]) -> frozenset[str]:
    """select minus ignore, plus the engine's codes: the same for every file of a run (the
    engine asks once per file, so this is computed once per configuration)."""
    codes = set(all_codes) if config.select is None else set(config.select)
    codes |= set(ENGINE_CODES)
    codes -= set(config.ignore)
    return frozenset(codes)


@dataclass(frozen=True)
class LintConfig:
    select: tuple[str, ...] | None = None  # rule codes; None = every rule
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (glob, codes)
    exclude: tuple[str, ...] = ()  # globs, relative to `root`, added to DEFAULT_EXCLUDES
    tracker: str | None = None  # "mlflow" | "wandb" | "tensorboard" | None (any)
    required_hyperparameters: tuple[str, ...] = ()
    root: str | None = None  # the directory globs are relative to (pyproject's folder or cwd)
    source: str | None = None  # the file this came from, for messages
    default_excludes: bool = True  # False when linting installed packages (robustness runs)

    # -- rule selection ------------------------------------------------------------------
    def enabled_codes(self, all_codes: Iterable[str], path: str | Path | None = None) -> frozenset[str]:
        """Rule codes on for `path` (or for every file): select minus ignore minus per-file
        ignores, plus the engine's own codes unless ignored."""
        all_codes = tuple(all_codes)
        try:
            codes = _selected_codes(self, all_codes)
        except TypeError:  # a hand-built config holding lists: not hashable, so not cached
            codes = _selected_codes.__wrapped__(self, all_codes)
        if path is not None and self.per_file_ignores:  # no patterns: skip resolving the path
            codes -= self.ignored_for(path)
        return codes

    def ignored_for(self, path: str | Path) -> frozenset[str]:
        """Codes switched off for `path` by per-file-ignores."""
        rel = self.relative(path)
        found: set[str] = set()
        for pattern, codes in self.per_file_ignores:
            if _matches(rel, pattern):
                found.update(codes)
        return frozenset(found)

    # -- excludes -----------------------------------------------------------------------
    def is_excluded(self, path: str | Path, *, discovered: bool = True) -> bool:
        """User excludes apply to every path (pre-commit passes files one by one); the default
        excludes only to files found by walking a directory."""
        return self.is_excluded_rel(self.relative(path), discovered=discovered)

    def is_excluded_rel(self, rel: str, *, discovered: bool = True) -> bool:
        """`is_excluded` for a path already made relative to the root (POSIX)."""
        if any(_matches(rel, pattern) for pattern in self.exclude):
            return True
        if discovered and self.default_excludes:
            parts = set(PurePosixPath(rel).parts)
            return any(name in parts for name in DEFAULT_EXCLUDES)
        return False

    def relative(self, path: str | Path) -> str:
        """`path` relative to the root, POSIX style (absolute when outside the root)."""
        resolved = Path(path).resolve()
        root = Path(self.root).resolve() if self.root else Path.cwd().resolve()
        try:
            return resolved.relative_to(root).as_posix()
        except ValueError:
            return resolved.as_posix()

    def with_overrides(
        self, select: Sequence[str] | None = None, ignore: Sequence[str] = ()
    ) -> LintConfig:
        """Command-line `--select` replaces the configured selection; `--ignore` adds to it."""
        new_select = self.select if not select else tuple(resolve_rules(select, "--select"))
        new_ignore = self.ignore + tuple(resolve_rules(ignore, "--ignore"))
        return replace(self, select=new_select, ignore=new_ignore)


def _matches(rel: str, pattern: str) -> bool:
    """gitignore-ish: `dir` matches the folder anywhere, `a/b/**` everything below a/b."""
    pattern = pattern.strip().rstrip("/")
    if pattern.startswith("./"):
        pattern = pattern[2:]
    if fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(rel, pattern + "/*"):
        return True
    if "/" not in pattern:
        return any(fnmatch.fnmatchcase(part, pattern) for part in PurePosixPath(rel).parts)
    if pattern.startswith("**/"):
        return _matches(rel, pattern[3:]) or any(
            _matches("/".join(PurePosixPath(rel).parts[i:]), pattern[3:])
            for i in range(1, len(PurePosixPath(rel).parts))
        )
    return False


def resolve_rules(keys: Iterable[str], where: str) -> list[str]:
    """Codes or names (or a code prefix such as `MLT00`) -> rule codes; unknown -> ConfigError."""
    from mltrack.lint.registry import RULES, rule_by_code_or_name

    codes: list[str] = []
    for raw in keys:
        for key in str(raw).replace(",", " ").split():
            rule = rule_by_code_or_name(key)
            if rule is not None:
                codes.append(rule.code)
                continue
            engine_code = next((c for c, n in ENGINE_CODES.items() if key.upper() == c or key == n), None)
            if engine_code is not None:
                codes.append(engine_code)
                continue
            by_prefix = [r.code for r in RULES if r.code.startswith(key.upper())]
            if key.upper().startswith("MLT") and by_prefix:
                codes.extend(by_prefix)
                continue
            raise ConfigError(
                f"unknown rule {key!r} in {where}", "see `mltrack rules` for codes and names"
            )
    return codes


def _string_list(value: Any, key: str, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"[tool.mltrack.lint] {key} in {source} must be a list of strings")
    return tuple(value)


def lint_config_from_table(
    table: Mapping[str, Any], *, root: Path | None = None, source: str = "configuration"
) -> LintConfig:
    """Validate a `[tool.mltrack.lint]` table (keys may use - or _)."""
    data = {str(k).replace("_", "-"): v for k, v in table.items()}
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(
            f"unknown key(s) in [tool.mltrack.lint] of {source}: {', '.join(unknown)}",
            f"valid keys: {', '.join(sorted(_KEYS))}",
        )
    where = f"[tool.mltrack.lint] of {source}"
    select = None
    if "select" in data:
        select = tuple(resolve_rules(_string_list(data["select"], "select", source), where))
    ignore = tuple(resolve_rules(_string_list(data.get("ignore", []), "ignore", source), where))
    per_file = data.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(f"per-file-ignores in {where} must be a table of glob = [rules]")
    per_file_ignores = tuple(
        (glob, tuple(resolve_rules(_string_list(rules, f"per-file-ignores.{glob}", source), where)))
        for glob, rules in per_file.items()
    )
    tracker = data.get("tracker")
    if tracker is not None and tracker not in TRACKERS:
        raise ConfigError(
            f"tracker = {tracker!r} in {where} is not one of {', '.join(TRACKERS)}"
        )
    return LintConfig(
        select=select,
        ignore=ignore,
        per_file_ignores=per_file_ignores,
        exclude=_string_list(data.get("exclude", []), "exclude", source),
        tracker=tracker,
        required_hyperparameters=_string_list(
            data.get("required-hyperparameters", []), "required-hyperparameters", source
        ),
        root=str(root) if root is not None else None,
        source=source,
    )


def load_lint_config(path: Path | str | None = None, start: Path | None = None) -> LintConfig:
    """The lint configuration of the project at `start` (default: cwd), or from `path`."""
    from mltrack.config import load_tool_table

    tool = load_tool_table(path, start)
    if tool.source is None:
        root = (start or Path.cwd()).resolve()
        if root.is_file():
            root = root.parent
        return LintConfig(root=str(root))
    return lint_config_from_table(
        tool.section("lint"), root=tool.source.resolve().parent, source=str(tool.source)
    )


__all__ = [
    "DEFAULT_EXCLUDES",
    "ENGINE_CODES",
    "LintConfig",
    "TRACKERS",
    "lint_config_from_table",
    "load_lint_config",
    "resolve_rules",
]
