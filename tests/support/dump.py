"""Prove a store was not written: dump it before and after, compare.

A dump holds the sqlite database's bytes hash and its SQL text (`iterdump`, read through a
read-only connection so dumping writes nothing either) and every file under the artifact roots
with its sha256. Reuse it in any suite that promises to leave a store unchanged:

    before = dump_store(db_path, artifacts_dir)
    ...  # read the store
    assert_unchanged(before, dump_store(db_path, artifacts_dir))
"""

from __future__ import annotations

import difflib
import hashlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote


@dataclass(frozen=True)
class StoreDump:
    db_sha256: str | None  # None: no database file
    db_sql: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)  # "root-index/relative path" -> sha256


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dump_sqlite(db_path: Path) -> tuple[str, ...]:
    """The database as SQL statements, in a stable order."""
    db = sqlite3.connect(f"file:{quote(str(db_path), safe='/')}?mode=ro", uri=True)
    try:
        return tuple(db.iterdump())
    finally:
        db.close()


def dump_tree(root: Path) -> dict[str, str]:
    """Every file (and empty directory) under `root`: relative path -> sha256 ("dir" for dirs)."""
    if not root.exists():
        return {}
    listing = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        listing[rel] = _sha256(path) if path.is_file() else "dir"
    return listing


def dump_store(db_path: Path | None, *artifact_roots: Path) -> StoreDump:
    files = {}
    for index, root in enumerate(artifact_roots):
        files.update({f"{index}/{rel}": digest for rel, digest in dump_tree(root).items()})
    if db_path is None or not db_path.exists():
        return StoreDump(None, (), files)
    return StoreDump(_sha256(db_path), dump_sqlite(db_path), files)


def assert_unchanged(before: StoreDump, after: StoreDump) -> None:
    """Fail with a readable diff when anything differs."""
    problems = []
    if before.db_sql != after.db_sql:
        diff = difflib.unified_diff(before.db_sql, after.db_sql, "before", "after", lineterm="", n=0)
        problems.append("database contents changed:\n" + "\n".join(list(diff)[:40]))
    if before.db_sha256 != after.db_sha256:
        problems.append(f"database bytes changed: {before.db_sha256} -> {after.db_sha256}")
    if before.files != after.files:
        added = sorted(set(after.files) - set(before.files))
        removed = sorted(set(before.files) - set(after.files))
        changed = sorted(k for k in set(before.files) & set(after.files)
                         if before.files[k] != after.files[k])
        problems.append(f"artifact files changed: added={added[:10]} removed={removed[:10]} "
                        f"modified={changed[:10]}")
    assert not problems, "\n".join(problems)
