"""Files parsed for the project index, handed on to the rules so each file is parsed once.

Building the index parses (and collects the facts of) every project module the linted files
import; linting then parses most of those same files again. When the files are linted in this
process (one job), the engine opens `keeping()` around the index and the lint: the index keeps
each linted file's tree and facts here, keyed by its exact text, and the rules `take` them (once)
instead of parsing again. Worker processes never see these (trees are not worth pickling), and
nothing outlives the run.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_kept: dict[str, tuple[Any, str, Any]] = {}  # source text -> (cst.Module, module name, Facts)
_guarded: set[str] = set()  # wanted texts `guard.check` passed while the index was built
_wanted: set[str] | None = None  # texts of the files this process lints next; None = keep none


@contextmanager
def keeping(texts: set[str]) -> Iterator[None]:
    """Keep parses of these texts until the block ends. The cyclic garbage collector is paused
    meanwhile: the kept trees are millions of acyclic objects it would re-scan on every
    collection (reference counting frees them). One collection of the youngest generation runs
    at the end: everything allocated meanwhile is there, while a full collection would also
    re-scan every long-lived object of the process (a few percent of a whole-tree run)."""
    global _wanted
    collecting = gc.isenabled() and bool(texts)
    if collecting:
        gc.disable()
    _wanted = texts
    try:
        yield
    finally:
        _wanted = None
        _kept.clear()
        _guarded.clear()
        if collecting:
            gc.enable()
            gc.collect(0)


def keep(source: str, module: Any, name: str, facts: Any) -> None:
    if _wanted is not None and source in _wanted:
        _kept[source] = (module, name, facts)


def passed_guard(source: str) -> None:
    """The index ran `guard.check` on this text and it passed: linting it need not run it again."""
    if _wanted is not None and source in _wanted:
        _guarded.add(source)


def guard_passed(source: str) -> bool:
    return source in _guarded


def take(source: str) -> tuple[Any, str, Any] | None:
    """The kept (module, module name, facts) of this text, at most once; None when not kept."""
    return _kept.pop(source, None) if _kept else None
