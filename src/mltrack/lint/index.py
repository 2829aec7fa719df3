"""The one builder of the project index the rules consult (`build_index`).

Cheap for pre-commit (one changed file in a large repository) and for warm re-runs: it
summarises only the project modules the linted files import (found by a cheap text scan,
followed transitively; `project.summarize_module` per module) and caches each summary by content
hash. It also gives each linted file a dependency fingerprint for the result cache: the digests
of every project module it reaches through its imports. The engine calls it once per run; the
tests' project helpers (tests/lint/conftest.py) call it too, so cross-module rule examples
exercise the production path.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mltrack.lint.cache import ResultCache, linter_stamp
from mltrack.lint.project import ProjectIndex, module_name

_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(?P<base>\.*[\w.]*)[ \t]+import[ \t]+(?P<names>\([^)]*\)|[^\n#;]*)"
    r"|import[ \t]+(?P<modules>[^\n#;]+))",
    re.MULTILINE,
)


def imported_modules(source: str, own: str) -> set[str]:
    """Dotted names a module may import (over-approximate: `from a import b` yields a and a.b)."""
    found: set[str] = set()
    package = own.split(".")[:-1]
    for match in _IMPORT.finditer(source):
        if match.group("modules"):
            for part in match.group("modules").split(","):
                name = part.split(" as ")[0].strip()
                if name:
                    found.add(name)
            continue
        base = match.group("base") or ""
        dots = len(base) - len(base.lstrip("."))
        if dots:
            anchor = package[: len(package) - (dots - 1)] if dots - 1 <= len(package) else []
            base = ".".join([*anchor, base.lstrip(".")]).strip(".")
        names = match.group("names").strip("()")
        if base:
            found.add(base)
        for part in names.replace("\n", " ").split(","):
            name = part.split(" as ")[0].strip()
            if name and name != "*" and name.isidentifier():
                found.add(f"{base}.{name}" if base else name)
    return found


@dataclass
class ProjectModules:
    """Every module of the project by dotted name, and by each dotted suffix for scripts run
    from their own folder (`import utils` finds `scripts/utils.py`)."""

    by_name: dict[str, Path]
    by_suffix: dict[str, list[str]]

    @classmethod
    def build(cls, files: Sequence[Path], root: Path) -> ProjectModules:
        by_name: dict[str, Path] = {}
        by_suffix: dict[str, list[str]] = {}
        root_text = os.path.abspath(root) + os.sep
        for file in files:
            if file.suffix != ".py":
                continue
            name = fast_module_name(file, root_text) or module_name(file, root)
            if not name or name in by_name:
                continue
            by_name[name] = file
            parts = name.split(".")
            for start in range(1, len(parts)):
                by_suffix.setdefault(".".join(parts[start:]), []).append(name)
        return cls(by_name, by_suffix)

    def resolve(self, dotted: str) -> list[str]:
        if dotted in self.by_name:
            return [dotted]
        return self.by_suffix.get(dotted, [])


def fast_module_name(path: Path, root_text: str) -> str | None:
    """`project.module_name` without resolving symlinks (a thousand `resolve()` calls cost a
    pre-commit run 0.1-0.3 s); None when the path is not plainly below the root."""
    absolute = os.path.abspath(path)
    if not absolute.startswith(root_text):
        return None
    parts = os.path.splitext(absolute[len(root_text):])[0].split(os.sep)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def build_index(
    linted: Sequence[Path],
    project_files: Sequence[Path],
    sources: Mapping[Path, bytes],
    root: Path,
    cache: ResultCache,
    *,
    fingerprints: bool = True,
) -> tuple[ProjectIndex, dict[Path, str]]:
    """The index (summaries of the modules the linted files reach) and each linted file's
    dependency fingerprint. `sources` holds the bytes of the linted files already read.
    `fingerprints=False` (a run without the result cache, their only consumer) returns none:
    hashing every reached module and walking each file's transitive imports cost a tree of
    hundreds of inter-importing modules about a tenth of a bare parse."""
    modules = ProjectModules.build([*project_files, *linted], root)
    texts: dict[Path, str] = {}

    def text_of(path: Path) -> str:
        if path not in texts:
            data = sources.get(path)
            if data is None:
                try:
                    data = path.read_bytes()
                except OSError:
                    data = b""
            texts[path] = data.decode("utf-8", errors="replace")
        return texts[path]

    # Edges: module -> project modules it imports.
    edges: dict[str, set[str]] = {}
    root_text = os.path.abspath(root) + os.sep
    names = {p: fast_module_name(p, root_text) or module_name(p, root) for p in linted}
    pending = [names[p] for p in linted if p.suffix in (".py", ".ipynb")]
    own_path = {names[p]: p for p in linted}
    while pending:
        name = pending.pop()
        if name in edges:
            continue
        path = modules.by_name.get(name) or own_path.get(name)
        if path is None:
            edges[name] = set()
            continue
        prefixes: set[str] = set()
        for dotted in imported_modules(text_of(path), name):
            parts = dotted.split(".")
            for end in range(len(parts), 0, -1):  # a.b.c imports a and a.b too
                prefixes.add(".".join(parts[:end]))
        targets: set[str] = set()
        for prefix in prefixes:  # each once: most modules import the same packages
            targets.update(modules.resolve(prefix))
        targets.discard(name)
        edges[name] = targets
        pending.extend(targets - edges.keys())

    reached = {dep for deps in edges.values() for dep in deps}
    hashing = cache.enabled or fingerprints  # the content hash is the summary cache's key too
    summaries = {}
    digests: dict[str, str] = {}
    for name in sorted(reached):
        path = modules.by_name[name]
        source = text_of(path)
        summary, key = None, ""
        if hashing:
            key = hashlib.sha256(f"{linter_stamp()}\0{name}\0{source}".encode()).hexdigest()
            digests[name] = key[:16]
            summary = cache.get_object(key)
        if summary is None:
            summary = _summarize(source, name)
            if summary is not None and hashing:
                cache.put_object(key, summary)
        if summary is not None:
            summaries[name] = summary

    real = _RealPaths()
    paths = {real(p): n for n, p in modules.by_name.items() if n in reached}
    resolved = {path: real(path) for path in own_path.values()}
    for name, path in own_path.items():
        paths.setdefault(resolved[path], name)
    given = {os.path.abspath(path): paths[resolved[path]] for path in own_path.values()
             if ".." not in str(path)}
    index = ProjectIndex(str(root), summaries, paths, given)

    if not fingerprints:
        return index, {}
    found: dict[Path, str] = {}
    for path in linted:
        closure = _closure(names[path], edges)
        payload = "\n".join(f"{dep}={digests.get(dep, '')}" for dep in sorted(closure))
        found[path] = hashlib.sha256(payload.encode()).hexdigest()[:16]
    return index, found


class _RealPaths:
    """`str(path.resolve())` of many files of a few folders: each folder is resolved once and
    a file that is not itself a symlink is its resolved folder plus its name (`resolve` walks
    and stats every component of every path: a tenth of the index's own time on a 379-module
    tree). A path with `..` (a symlink before it changes what it means) or naming a symlink is
    resolved whole."""

    def __init__(self) -> None:
        self.folders: dict[str, str] = {}
        self.files: dict[Path, str] = {}

    def __call__(self, path: Path) -> str:
        known = self.files.get(path)
        if known is None:
            known = self.files[path] = self._resolve(path)
        return known

    def _resolve(self, path: Path) -> str:
        text = os.path.abspath(path)  # no ".." below: only joins the (real) cwd, drops "." parts
        if ".." in path.parts or os.path.islink(text):
            return str(path.resolve())
        folder, name = os.path.split(text)
        real = self.folders.get(folder)
        if real is None:
            real = self.folders[folder] = str(Path(folder).resolve())
        return str(Path(real, name))


def _closure(start: str, edges: Mapping[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(edges.get(start, ()))
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(edges.get(name, ()))
    return seen


def _summarize(source: str, name: str):
    from mltrack.lint import guard

    if guard.check(source) is not None:  # runs in the main process: never feed libcst a bomb
        return None
    from mltrack.lint import parsed

    parsed.passed_guard(source)  # linting this file next need not check it again
    from mltrack.lint.project import summarize_module

    try:
        return summarize_module(source, name)
    except Exception:  # noqa: BLE001 - a module we cannot summarise just contributes no facts
        return None
