"""Content-hash cache of per-file lint results, in `.mltrack_cache/lint/` at the project root.

A result is reused only when everything that could change it is the same: the file's bytes and
path, the configuration, the linter's own code (its version and the stamp of its source files,
so editing a rule during development invalidates the cache) and the summaries of the project
modules the file imports (a helper changed in utils.py re-lints train.py). One small JSON file
per entry, written atomically, so parallel runs never corrupt it; a damaged entry is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from mltrack.model import Edit, Finding, Fix, Location

CACHE_DIRNAME = ".mltrack_cache"
_FORMAT = 1


@lru_cache(maxsize=1)
def linter_stamp() -> str:
    """The mltrack version plus the size and mtime of every module of `mltrack.lint`."""
    import mltrack
    from mltrack import lint

    parts = [mltrack.__version__, str(_FORMAT)]
    base = Path(lint.__file__).parent
    for file in sorted(base.rglob("*.py")):
        stat = file.stat()
        parts.append(f"{file.relative_to(base)}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def result_key(content: bytes, path: str, config_digest: str, dependencies: str) -> str:
    digest = hashlib.sha256()
    for part in (linter_stamp(), config_digest, path, dependencies):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(content)
    return digest.hexdigest()


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    loc = finding.location
    fix = None
    if finding.fix is not None:
        fix = {
            "title": finding.fix.title,
            "safe": finding.fix.safe,
            "edits": [
                [e.line, e.column, e.end_line, e.end_column, e.replacement] for e in finding.fix.edits
            ],
        }
    return {
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "severity": finding.severity,
        "loc": [loc.path, loc.line, loc.column, loc.end_line, loc.end_column, loc.cell],
        "fix": fix,
    }


def finding_from_dict(data: Mapping[str, Any]) -> Finding:
    fix = None
    if data.get("fix") is not None:
        raw = data["fix"]
        fix = Fix(raw["title"], tuple(Edit(*edit) for edit in raw["edits"]), raw["safe"])
    return Finding(
        data["code"], data["name"], data["message"], Location(*data["loc"]), fix, data["severity"]
    )


class ResultCache:
    """Per-file results keyed by `result_key`; `enabled=False` turns every call into a no-op."""

    def __init__(self, root: Path | str, *, enabled: bool = True) -> None:
        self.directory = Path(root) / CACHE_DIRNAME / "lint"
        self.enabled = enabled
        self.hits = 0
        self.misses = 0

    def _file(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key[2:]}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        if not self.enabled:
            return None
        try:
            data = json.loads(self._file(key).read_text(encoding="utf-8"))
            data["findings"] = [finding_from_dict(f) for f in data["findings"]]
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        self.hits += 1
        return data

    def put(self, key: str, value: Mapping[str, Any]) -> None:
        if not self.enabled:
            return
        target = self._file(key)
        payload = dict(value)
        payload["findings"] = [finding_to_dict(f) for f in value.get("findings", ())]
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _ensure_gitignore(self.directory.parent)
            handle, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(payload, out, separators=(",", ":"))
            os.replace(tmp, target)
        except OSError:
            pass  # a read-only tree just means no cache

    # -- summaries of project modules (picklable objects, keyed by content hash) ----------
    def get_object(self, key: str) -> Any | None:
        if not self.enabled:
            return None
        import pickle

        try:
            return pickle.loads(self._file("s" + key).read_bytes())
        except Exception:  # noqa: BLE001 - any damaged entry is simply a miss
            return None

    def put_object(self, key: str, value: Any) -> None:
        if not self.enabled:
            return
        import pickle

        target = self._file("s" + key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                pickle.dump(value, out)
            os.replace(tmp, target)
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            pass


def _ensure_gitignore(cache_root: Path) -> None:
    marker = cache_root / ".gitignore"
    if not marker.exists():
        try:
            marker.write_text("# created by mltrack-lint\n*\n", encoding="utf-8")
        except OSError:
            pass
