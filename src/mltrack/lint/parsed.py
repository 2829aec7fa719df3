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
_wanted: set[str] | None = None  # texts of the files this process lints next; None = keep none


@contextmanager
def keeping(texts: set[str]) -> Iterator[None]:
    """Keep parses of these texts until the block ends. The cyclic garbage collector is paused
    meanwhile: the kept trees are millions of acyclic objects it would re-scan on every
    collection (reference counting frees them; one collection runs at the end)."""
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
        if collecting:
            gc.enable()
            gc.collect()


def keep(source: str, module: Any, name: str, facts: Any) -> None:
    if _wanted is not None and source in _wanted:
        _kept[source] = (module, name, facts)


def take(source: str) -> tuple[Any, str, Any] | None:
    """The kept (module, module name, facts) of this text, at most once; None when not kept."""
    return _kept.pop(source, None) if _kept else None
