"""The lint engine: discover files, build the project index, lint in parallel with a cache.

The engine yields data (`LintRun`); it never prints and never picks an exit code - the CLI does.
A crash on one file (even a worker process dying in the native parser) becomes an
`internal-error` finding for that file; the rest of the run goes on.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from mltrack.lint import parsed
from mltrack.lint.cache import ResultCache, result_key
from mltrack.lint.config import LintConfig, load_lint_config
from mltrack.lint.discover import discover, display_path, walk
from mltrack.lint.builtin_codes import INTERNAL_ERROR, SYNTAX_ERROR
from mltrack.lint.filelint import FileResult, lint_bytes
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

    results: dict[Path, FileResult] = {}
    sources: dict[Path, bytes] = {}
    for file in files:
        try:
            sources[file] = file.read_bytes()
        except OSError as exc:
            shown = display_path(file)
            results[file] = FileResult(shown, (SYNTAX_ERROR.finding(
                f"cannot read this file: {exc.strerror or exc}", Location(shown, 1, 1, 1, 1)),))

    store = ResultCache(root, enabled=cache and not (fix or diff))
    workers = jobs or default_jobs()
    # One job: the rules reuse the trees the index parsed (each file parsed once).
    reuse = {data.decode("utf-8", errors="replace") for file, data in sources.items()
             if file.suffix == ".py"} if workers == 1 else set()
    with parsed.keeping(reuse):
        return _index_and_lint(paths, files, sources, results, root, config, store, workers,
                               fix, diff, timings, started)


def _index_and_lint(paths, files, sources, results, root, config, store, workers, fix, diff,
                    timings, started) -> LintRun:
    from mltrack.lint.analyze import RULES

    mark = time.perf_counter()
    project, fingerprints = _index(paths, files, sources, root, config, store)
    timings["index"] = time.perf_counter() - mark

    all_codes = [rule.code for rule in RULES]
    config_digest = hashlib.sha256(repr(config).encode()).hexdigest()
    todo: list[tuple[Path, str, frozenset[str], str]] = []
    for file, data in sources.items():
        shown = display_path(file)
        enabled = config.enabled_codes(all_codes, file)
        key = result_key(data, shown, config_digest, fingerprints.get(file, ""))
        hit = store.get(key)
        if hit is not None:
            results[file] = FileResult(shown, tuple(hit["findings"]), hit["lines"], cached=True)
        else:
            todo.append((file, shown, frozenset(enabled), key))

    mark = time.perf_counter()
    pending_bytes = sum(len(sources[t[0]]) for t in todo)
    if workers > 1 and len(todo) > 1 and pending_bytes >= PARALLEL_MIN_BYTES:
        fresh = _lint_parallel(todo, sources, config, project, fix or diff, workers)
    else:
        workers = 1
        fresh = {t[0]: _lint_one(t[0], t[1], sources[t[0]], t[2], config, project, fix or diff)
                 for t in todo}
    timings["lint"] = time.perf_counter() - mark

    for file, shown, _, key in todo:
        result = fresh[file]
        results[file] = result
        if not any(f.code == INTERNAL_ERROR.code for f in result.findings):
            store.put(key, {"findings": result.findings, "lines": result.lines})
    if fix and not diff:
        for result_file, result in fresh.items():
            if result.fixed is not None:
                result_file.write_bytes(result.fixed.encode(result.encoding))

    ordered = [results[f] for f in files if f in results]
    timings["total"] = time.perf_counter() - started
    return LintRun(ordered, workers, timings, store.hits)


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
    return build_index(files, project_files, sources, root, store)


def _is_below(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


# -- per-file work, in this process or in workers -------------------------------------------

_WORKER_STATE: dict = {}


def _lint_one(path: Path, shown: str, data: bytes, enabled, config, project, fix) -> FileResult:
    started = time.perf_counter()
    try:
        result = lint_bytes(data, shown, config=config, enabled=enabled, project=project, fix=fix)
    except Exception as exc:  # noqa: BLE001 - one file's crash must not end the run
        result = FileResult(shown, (_internal(shown, f"{type(exc).__name__}: {exc}"),))
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


def _chunks(todo, sources, parts: int):
    """Largest files first, each to the currently lightest chunk (balanced work per task)."""
    chunks: list[list] = [[] for _ in range(parts)]
    weights = [0] * parts
    for path, shown, enabled, _ in sorted(todo, key=lambda t: -len(sources[t[0]])):
        lightest = weights.index(min(weights))
        chunks[lightest].append((path, shown, sources[path], enabled))
        weights[lightest] += len(sources[path]) + 2000  # per-file overhead
    return [c for c in chunks if c]


def _lint_parallel(todo, sources, config, project, fix: bool, workers: int) -> dict[Path, FileResult]:
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
