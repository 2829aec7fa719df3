"""The lint engine: discover files, build the project index, lint in parallel with a cache.

The engine yields data (`LintRun`); it never prints and never picks an exit code - the CLI does.
A crash on one file (even a worker process dying in the native parser) becomes an
`internal-error` finding for that file; the rest of the run goes on.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from mltrack.lint import parsed
from mltrack.lint.cache import ResultCache, result_key
from mltrack.lint.config import LintConfig, load_lint_config
from mltrack.lint.discover import discover, display_path, walk
from mltrack.lint.builtin_codes import INTERNAL_ERROR, SYNTAX_ERROR
from mltrack.lint.filelint import FileResult, lint_bytes
from mltrack.lint.registry import RULES
from mltrack.model import Finding, Location

# Below this much uncached source, worker start-up costs more than it saves.
PARALLEL_MIN_BYTES = 256 * 1024


@dataclass
class LintRun:
    results: list[FileResult]
    jobs: int
    timings: dict[str, float] = field(default_factory=dict)  # seconds: discover, index, lint, total
    cache_hits: int = 0

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.results for f in r.findings]

    @property
    def files_checked(self) -> int:
        return len(self.results)

    @property
    def lines(self) -> int:
        return sum(r.lines for r in self.results)

    @property
    def fixes_applied(self) -> int:
        return sum(r.fixes_applied for r in self.results)

    @property
    def changed(self) -> list[FileResult]:
        """Files whose fixes changed them (written with `fix=True`, shown with `--diff`)."""
        return [r for r in self.results if r.fixed is not None]


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def lint_paths(
    paths: Sequence[str | Path],
    config: LintConfig | None = None,
    *,
    jobs: int | None = None,
    cache: bool = True,
    fix: bool = False,
    diff: bool = False,
) -> LintRun:
    """Lint files and directories. `fix` writes safe fixes; `diff` computes them without writing."""
    started = time.perf_counter()
    config = config or load_lint_config()
    root = Path(config.root) if config.root else Path.cwd()
    files = discover(paths, config)
    timings = {"discover": time.perf_counter() - started}

    sources, unreadable = _read(files)
    store = ResultCache(root, enabled=cache and not (fix or diff))
    workers = jobs or default_jobs()
    # One job: the rules reuse the trees the index parsed (each file parsed once).
    with parsed.keeping(_python_texts(sources) if workers == 1 else set()):
        mark = time.perf_counter()
        project, fingerprints = _index(paths, files, sources, root, config, store)
        timings["index"] = time.perf_counter() - mark

        cached, todo = _look_up(sources, config, fingerprints, store)
        mark = time.perf_counter()
        fresh, workers = _lint_pending(todo, sources, config, project, fix or diff, workers)
        timings["lint"] = time.perf_counter() - mark

    _remember(todo, fresh, store)
    if fix and not diff:
        _write_fixes(fresh)
    results = {**unreadable, **cached, **fresh}
    ordered = [results[f] for f in files if f in results]
    timings["total"] = time.perf_counter() - started
    return LintRun(ordered, workers, timings, store.hits)


class Pending(NamedTuple):
    """A file the cache had no result for."""

    path: Path
    shown: str  # as displayed
    enabled: frozenset[str]  # the codes the configuration enables for this file
    key: str  # its result-cache key


def _read(files: Sequence[Path]) -> tuple[dict[Path, bytes], dict[Path, FileResult]]:
    """Each file's bytes; a file that cannot be read is a finding, not a crash."""
    sources: dict[Path, bytes] = {}
    unreadable: dict[Path, FileResult] = {}
    for file in files:
        try:
            sources[file] = file.read_bytes()
        except OSError as exc:
            shown = display_path(file)
            unreadable[file] = FileResult(shown, (SYNTAX_ERROR.finding(
                f"cannot read this file: {exc.strerror or exc}", Location(shown, 1, 1, 1, 1)),))
    return sources, unreadable


def _python_texts(sources: Mapping[Path, bytes]) -> set[str]:
    return {data.decode("utf-8", errors="replace") for file, data in sources.items()
            if file.suffix == ".py"}


def _look_up(sources: Mapping[Path, bytes], config: LintConfig, fingerprints: Mapping[Path, str],
             store: ResultCache) -> tuple[dict[Path, FileResult], list[Pending]]:
    """The cached result of each file whose key is in the cache, and the files left to lint."""
    all_codes = [rule.code for rule in RULES]
    config_digest = hashlib.sha256(repr(config).encode()).hexdigest()
    cached: dict[Path, FileResult] = {}
    todo: list[Pending] = []
    for file, data in sources.items():
        shown = display_path(file)
        enabled = config.enabled_codes(all_codes, file)
        # Without the cache nothing reads the key: hashing every file's bytes would be waste.
        key = result_key(data, shown, config_digest, fingerprints.get(file, "")) if store.enabled else ""
        hit = store.get(key)
        if hit is not None:
            cached[file] = FileResult(shown, tuple(hit["findings"]), hit["lines"], cached=True)
        else:
            todo.append(Pending(file, shown, frozenset(enabled), key))
    return cached, todo


def _lint_pending(todo: list[Pending], sources: Mapping[Path, bytes], config: LintConfig,
                  project, fix: bool, workers: int) -> tuple[dict[Path, FileResult], int]:
    """Lint the files the cache did not answer; the results and the number of jobs used."""
    pending_bytes = sum(len(sources[t.path]) for t in todo)
    if workers > 1 and len(todo) > 1 and pending_bytes >= PARALLEL_MIN_BYTES:
        return _lint_parallel(todo, sources, config, project, fix, workers), workers
    return {t.path: _lint_one(t.path, t.shown, sources[t.path], t.enabled, config, project, fix)
            for t in todo}, 1


def _remember(todo: list[Pending], fresh: Mapping[Path, FileResult], store: ResultCache) -> None:
    """Cache the fresh results, except a crash: the next run tries that file again."""
    for pending in todo:
        result = fresh[pending.path]
        if not any(f.code == INTERNAL_ERROR.code for f in result.findings):
            store.put(pending.key, {"findings": result.findings, "lines": result.lines})


def _write_fixes(fresh: Mapping[Path, FileResult]) -> None:
    for path, result in fresh.items():
        if result.fixed is not None:
            path.write_bytes(result.fixed.encode(result.encoding))


def _index(paths, files, sources, root: Path, config: LintConfig, store: ResultCache):
    """The project index and each file's dependency fingerprint. The project is every module
    under the root (so a helper in utils.py counts even when pre-commit passes only train.py);
    files outside the root only see each other."""
    from mltrack.lint.index import build_index

    if not any(f.suffix in (".py", ".ipynb") for f in files):
        return None, {}
    covers_root = any(_is_below(root, Path(p)) for p in paths)
    inside_root = any(_is_below(f, root) for f in files)
    project_files = files if covers_root or not inside_root else walk(root, config, (".py",))
    return build_index(files, project_files, sources, root, store, fingerprints=store.enabled)


def _is_below(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


# -- per-file work, in this process or in workers -------------------------------------------

_WORKER_STATE: dict = {}


def _lint_one(path: Path, shown: str, data: bytes, enabled, config, project, fix) -> FileResult:
    """Lint one file. The error boundary of the run: a bug of the linter anywhere in this file's
    work (decoding, the analysis, a rule, fixes, suppressions) is one internal-error finding
    for this file, and the run goes on."""
    started = time.perf_counter()
    try:
        result = lint_bytes(data, shown, config=config, enabled=enabled, project=project, fix=fix)
    except Exception as exc:  # noqa: BLE001 - one file's crash must not end the run
        where = "".join(f", {note}" for note in getattr(exc, "__notes__", ()))  # e.g. the rule
        result = FileResult(shown, (_internal(shown, f"{type(exc).__name__}: {exc}{where}"),))
    result.seconds = time.perf_counter() - started
    return result


def _internal(shown: str, detail: str) -> Finding:
    return INTERNAL_ERROR.finding(f"mltrack-lint crashed on this file: {detail}",
                                  Location(shown, 1, 1, 1, 1))


def _init_worker(config: LintConfig, project) -> None:
    _WORKER_STATE["config"] = config
    _WORKER_STATE["project"] = project


def _lint_chunk(chunk: list[tuple[Path, str, bytes, frozenset[str]]], fix: bool):
    config, project = _WORKER_STATE["config"], _WORKER_STATE["project"]
    return [(path, _lint_one(path, shown, data, enabled, config, project, fix))
            for path, shown, data, enabled in chunk]


def _chunks(todo: list[Pending], sources, parts: int):
    """Largest files first, each to the currently lightest chunk (balanced work per task)."""
    chunks: list[list] = [[] for _ in range(parts)]
    weights = [0] * parts
    for path, shown, enabled, _ in sorted(todo, key=lambda t: -len(sources[t.path])):
        lightest = weights.index(min(weights))
        chunks[lightest].append((path, shown, sources[path], enabled))
        weights[lightest] += len(sources[path]) + 2000  # per-file overhead
    return [c for c in chunks if c]


def _lint_parallel(todo: list[Pending], sources, config, project, fix: bool, workers: int) -> dict[Path, FileResult]:
    results: dict[Path, FileResult] = {}
    chunks = _chunks(todo, sources, min(len(todo), workers * 4))
    try:
        with ProcessPoolExecutor(workers, initializer=_init_worker,
                                 initargs=(config, project)) as pool:
            futures = [pool.submit(_lint_chunk, chunk, fix) for chunk in chunks]
            for future in as_completed(futures):
                results.update(future.result())
    except BrokenProcessPool:
        # A worker died (e.g. the native parser overflowed its stack): isolate each remaining
        # file in a pool of its own so only the culprit gets the error.
        for chunk in chunks:
            for path, shown, data, enabled in chunk:
                if path not in results:
                    results[path] = _isolated(path, shown, data, enabled, config, project, fix)
    return results


def _isolated(path, shown, data, enabled, config, project, fix) -> FileResult:
    try:
        with ProcessPoolExecutor(1, initializer=_init_worker, initargs=(config, project)) as pool:
            return pool.submit(_lint_chunk, [(path, shown, data, enabled)], fix).result()[0][1]
    except BrokenProcessPool:
        return FileResult(shown, (_internal(shown, "the linter process died on this file"),))
