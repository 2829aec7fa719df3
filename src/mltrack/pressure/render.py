"""A check result as terminal text: verdict line, evidence, fix. Rendered from the data only.

Each piece of store text (message, evidence keys and values, fix) is made safe on its own with
`textsafe.for_terminal` before the lines are joined: an escape sequence in a run name reaches
no terminal raw, and a newline in one cannot forge a line of its own."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mltrack.model import CheckResult
from mltrack.textsafe import for_terminal
from mltrack.uri import redact

MAX_LIST = 8
MAX_LINE = 160


def format_result(result: CheckResult) -> str:
    lines = [for_terminal(f"{result.code} {result.name}: {result.status.value.upper()} - {result.message}")]
    if result.evidence:
        lines.append("evidence:")
        lines += _render(result.evidence, indent=2)
    if result.fix:
        lines.append(for_terminal(f"fix: {result.fix}"))
    return redact("\n".join(lines))


def _render(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if _is_scalar(item) or _short(item):
                out.append(_clip(f"{pad}{for_terminal(key)}: {_scalar(item)}"))
            else:
                out.append(f"{pad}{for_terminal(key)}:")
                out += _render(item, indent + 2)
    elif isinstance(value, (list, tuple)):
        for item in value[:MAX_LIST]:
            if _is_scalar(item) or _short(item):
                out.append(_clip(f"{pad}- {_scalar(item)}"))
            else:
                nested = _render(item, indent + 2)
                out.append(f"{pad}- {nested[0].strip()}")
                out += nested[1:]
        if len(value) > MAX_LIST:
            out.append(f"{pad}... and {len(value) - MAX_LIST} more")
    else:
        out.append(_clip(f"{pad}{_scalar(value)}"))
    return out


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _short(value: Any) -> bool:
    return isinstance(value, (list, tuple, Mapping)) and len(json.dumps(value, default=str)) <= 80


def _scalar(value: Any) -> str:
    if isinstance(value, (list, tuple, Mapping)):
        return json.dumps(value, default=str)  # ensure_ascii: controls arrive as \u001b
    return "-" if value is None else for_terminal(value)


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."
