"""A cheap guard in front of libcst for pathological files.

libcst's native parser takes time quadratic in expression depth (a 4,000-term `a + a + ...`
chain: 11 s) and crashes the whole process with a stack overflow somewhere past ~10,000 levels.
CPython's own parser is fast and bounded, so files that *look* risky (large, very long lines,
deep brackets) are first checked with `ast`: too deep for CPython is a syntax error like Python
reports it; deeper than `MAX_DEPTH` is skipped with a warning. Ordinary files pay a few cheap
string scans.
"""

from __future__ import annotations

import ast
import re
from itertools import accumulate, count
from operator import sub

MAX_DEPTH = 1000  # AST depth; libcst needs ~0.5 s here and grows quadratically
_RISKY_BYTES = 64 * 1024
_RISKY_LINE = 1000
_RISKY_BRACKETS = 50
_NOT_BRACKET = re.compile(r"[^()\[\]{}]+")
_STEPS = str.maketrans("([{)]}", "\x02\x02\x02\x00\x00\x00")


def looks_risky(source: str) -> bool:
    if len(source) > _RISKY_BYTES:
        return True
    if max(map(len, source.splitlines()), default=0) > _RISKY_LINE:
        return True
    brackets = _NOT_BRACKET.sub("", source)  # brackets in strings count too: an over-estimate
    # The depth after each bracket, without a Python step per bracket: 2 per opener and 0 per
    # closer, summed, less the brackets seen. Where it never drops below zero, it is the depth
    # the loop below computes (which ignores surplus closers); a greater depth is never smaller.
    depths = list(map(sub, accumulate(brackets.translate(_STEPS).encode("latin-1")), count(1)))
    if not depths:
        return False
    if max(depths) > _RISKY_BRACKETS:
        return True
    if min(depths) >= 0:
        return False  # exact: no surplus closer
    depth = deepest = 0
    for char in brackets:
        depth = depth + 1 if char in "([{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest > _RISKY_BRACKETS


def ast_depth(tree: ast.AST) -> int:
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def check(source: str) -> tuple[str, str, int, int] | None:
    """None when libcst may parse `source`; else (kind, message, line, column) with kind
    "syntax-error" (CPython rejects it too) or "too-deep" (valid, but beyond MAX_DEPTH)."""
    if not looks_risky(source):
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        if "too many nested" in str(exc.msg) or "too complex" in str(exc.msg):
            return "syntax-error", f"cannot parse this file: {exc.msg}", exc.lineno or 1, (exc.offset or 1)
        return None  # an ordinary syntax error: libcst reports it with its own position
    except (RecursionError, MemoryError):
        return "too-deep", "skipped: expressions nested too deeply to lint", 1, 1
    depth = ast_depth(tree)
    if depth > MAX_DEPTH:
        return "too-deep", f"skipped: expressions nested {depth} levels deep (limit {MAX_DEPTH})", 1, 1
    return None
