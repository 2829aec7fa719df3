"""The pressure suite's policy: what to check and against which thresholds.

Read from `[tool.mltrack]` (pyproject.toml) or an explicit TOML file. `explicit` records which
keys the user set: the names a store is judged by (experiments, metric and goal, registered
models, production alias) that the user did not set are inferred from the store itself
(`mltrack.pressure.assumptions`), and only explicit names are validated against the store. An
unknown key is a `ConfigError` naming it: a typo must not silently turn a check off. The `lint`
sub-table belongs to the linter and is ignored here.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mltrack import conventions
from mltrack.config import load_tool_table
from mltrack.errors import ConfigError

# Sub-tables owned by other parts of mltrack; the policy does not validate them.
FOREIGN_TABLES = frozenset({"lint", "audit", "report", "wandb"})


@dataclass(frozen=True)
class Policy:
    experiments: tuple[str, ...] = (conventions.REFERENCE_EXPERIMENT,)
    inference_experiments: tuple[str, ...] = (conventions.INFERENCE_EXPERIMENT,)
    metric: str = conventions.METRIC
    metric_goal: str = conventions.METRIC_GOAL  # "max" | "min"
    required_fields: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(conventions.REQUIRED_FIELDS)
    )
    inference_fields: tuple[str, ...] = conventions.INFERENCE_FIELDS
    # long-term-repro: what an old run also needs to be rebuilt years later
    environment_fields: tuple[str, ...] = (conventions.PARAM_PYTHON_VERSION, conventions.PARAM_TORCH_VERSION)
    registered_models: tuple[str, ...] = (conventions.REGISTERED_MODEL,)
    production_alias: str = conventions.PRODUCTION_ALIAS
    old_run_days: int = 30
    stale_run_days: int = 180
    keep_top: int = 10
    min_users: int = 3
    min_search_runs: int = 10
    rerun_command: str | None = None  # e.g. "python train.py"; params are passed as --key value
    rerun_tolerance: float = 0.0
    timeout_s: float = 120.0  # per check: gathering evidence may not take longer
    read_deadline_s: float = 180.0  # the whole snapshot read (open, every page, every retry)
    answer_target_s: float = 30.0  # production-model: time to download + load
    drill_target_s: float = 300.0  # rollback drill end to end
    cleanup_list_limit: int = 500  # runs whose artifacts are listed through the API, at most
    ui_url: str | None = None  # where onboarding tells people to look (default: the URI if http)
    load_models: bool = False  # also unpickle models, in a child process (runs the store's code)
    stuck_run_hours: float = 24.0  # onboarding: a run RUNNING longer than this is stuck (its process died)
    # The keys the user set: every key read from [tool.mltrack] (policy_from_mapping), plus any
    # key given to the constructor with a value other than its default. `Policy()` sets none,
    # so every inferable key is inferred from the store.
    explicit: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "required_fields", MappingProxyType(dict(self.required_fields)))
        changed = {f.name for f in dataclasses.fields(self)
                   if f.name != "explicit" and getattr(self, f.name) != _default(f)}
        object.__setattr__(self, "explicit", frozenset(self.explicit) | changed)

    def is_set(self, key: str) -> bool:
        """Did the user set `key` (in [tool.mltrack], or by giving it to the constructor)?"""
        return key in self.explicit

    @property
    def higher_is_better(self) -> bool:
        return self.metric_goal == "max"

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # asdict cannot copy a mappingproxy
        data.update({k: list(v) for k, v in data.items() if isinstance(v, tuple)})
        data["required_fields"] = {k: list(v) for k, v in self.required_fields.items()}
        data["explicit"] = sorted(self.explicit)
        return data


def _default(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def with_inferred(policy: Policy, values: Mapping[str, Any]) -> Policy:
    """`policy` with `values` filled in from the store: they do not count as set by the user."""
    resolved = dataclasses.replace(policy, **values)
    object.__setattr__(resolved, "explicit", policy.explicit)
    return resolved


_TUPLE_KEYS = {"experiments", "inference_experiments", "registered_models", "inference_fields",
               "environment_fields"}
_INT_KEYS = {"old_run_days", "stale_run_days", "keep_top", "min_users", "min_search_runs",
             "cleanup_list_limit"}
_FLOAT_KEYS = {"rerun_tolerance", "timeout_s", "answer_target_s", "drill_target_s", "read_deadline_s",
               "stuck_run_hours"}
# Durations: zero or less would time out at once and then blame the store.
_POSITIVE_KEYS = {"timeout_s", "answer_target_s", "drill_target_s", "read_deadline_s"}
_STR_KEYS = {"metric", "metric_goal", "production_alias", "rerun_command", "ui_url"}
_BOOL_KEYS = {"load_models"}
KNOWN_KEYS = _TUPLE_KEYS | _INT_KEYS | _FLOAT_KEYS | _STR_KEYS | _BOOL_KEYS | {"required_fields"}


def load_policy(path: str | Path | None = None, start: Path | None = None) -> Policy:
    """The policy from `[tool.mltrack]` (nearest pyproject.toml, or `path`), defaults elsewhere."""
    table = load_tool_table(path, start)
    return policy_from_mapping(table.data, source=str(table.source) if table.source else None)


def policy_from_mapping(data: Mapping[str, Any], source: str | None = None) -> Policy:
    where = f" in {source}" if source else ""
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in FOREIGN_TABLES and isinstance(value, dict):
            continue
        if key not in KNOWN_KEYS:
            raise ConfigError(
                f"unknown key {key!r} in [tool.mltrack]{where}",
                hint="known keys: " + ", ".join(sorted(KNOWN_KEYS)),
            )
        values[key] = _coerce(key, value, where)
    if values.get("metric_goal", "max") not in ("max", "min"):
        raise ConfigError(f"metric_goal{where} must be 'max' or 'min', not {values['metric_goal']!r}")
    return Policy(**values, explicit=frozenset(values))


def _coerce(key: str, value: Any, where: str) -> Any:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"[tool.mltrack] {key}{where} must be {expected}, not {value!r}")

    if key in _TUPLE_KEYS:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        return tuple(value)
    if key in _INT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad("a non-negative integer")
        return value
    if key in _FLOAT_KEYS:
        # TOML has nan and inf: neither is a usable threshold or number of seconds.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad("a finite number")
        if key in _POSITIVE_KEYS and value <= 0:
            raise bad("a positive number of seconds")
        if value < 0:
            raise bad("a non-negative number")
        return float(value)
    if key in _BOOL_KEYS:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if key in _STR_KEYS:
        if not isinstance(value, str):
            raise bad("a string")
        return value
    return _required_fields(value, bad)


def _required_fields(value: Any, bad) -> dict[str, tuple[str, ...]]:
    """A list of field names (synonyms from the conventions) or a table name -> [synonyms]."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return {name: tuple(conventions.REQUIRED_FIELDS.get(name, (name,))) for name in value}
    if isinstance(value, dict):
        fields: dict[str, tuple[str, ...]] = {}
        for name, synonyms in value.items():
            if isinstance(synonyms, str):
                synonyms = [synonyms]
            if not isinstance(synonyms, list) or not all(isinstance(s, str) for s in synonyms):
                raise bad("a list of names or a table of name = [synonyms]")
            fields[name] = tuple(dict.fromkeys([name, *synonyms]))
        return fields
    raise bad("a list of names or a table of name = [synonyms]")
