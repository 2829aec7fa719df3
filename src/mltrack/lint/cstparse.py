"""Parse a file for analysis: libcst's own parser, without re-checking each node it builds.

Every libcst node checks its fields when it is constructed (`CSTNode.__post_init__` calls
`_validate`): whitespace must be whitespace, a name an identifier, parentheses balanced. That keeps
a tree built by hand well formed. A tree libcst's parser builds from source is well formed by
construction, and the checks cost about a tenth of a parse: 7.75 G against 8.66 G instructions
(callgrind) on the generated 379-module project (`benchmarks/bench_lint_repos.py` prints both
parses side by side in CPU seconds). libcst says as much beside the call (libcst 1.9.0,
libcst/_nodes/base.py:116: "PERF: It might make more sense to move validation work into the
visitor, which would allow us to avoid validating the tree when parsing a file.").

So the analysis parses with the checks switched off for the duration of the parse. What is parsed
and how it fails are unchanged: the grammar, not the checks, rejects code that is not Python
(`f(**k, *a)`, `del f()`, Python 2's `print 'x'` are `ParserSyntaxError`s either way), and the
tree is the same `cst.Module`, equal node for node and rendering the same code.
`tests/lint/test_cstparse.py` holds both parses equal on the project's code, its lint fixtures, a
slice of the standard library and a list of broken files; across the standard library, its
tests and the real-world lint corpus's trees (14,613 files) the two never differ
(`benchmarks/cstparse_equivalence.py FOLDER...`).

Where a tree is checked for being right rather than read - a fixed file before it is written
(`filelint`) - `libcst.parse_module` with its checks is used, not this.
"""

from __future__ import annotations

import threading

import libcst as cst
from libcst._nodes.base import CSTNode

__all__ = ["parse_module"]

_checked_init = CSTNode.__post_init__
_lock = threading.Lock()  # the switch is process-wide: one unchecked parse at a time


def _unchecked(self: CSTNode) -> None:
    return None


def parse_module(source: str) -> cst.Module:
    """`libcst.parse_module(source)` without the per-node checks; raises what it raises."""
    with _lock:
        CSTNode.__post_init__ = _unchecked  # type: ignore[method-assign]
        try:
            return cst.parse_module(source)
        finally:
            CSTNode.__post_init__ = _checked_init  # type: ignore[method-assign]
