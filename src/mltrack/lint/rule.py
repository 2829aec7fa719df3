"""The rule base: one subclass per rule, one module per rule under `mltrack.lint.rules`.

A rule keeps its documentation (module/class docstring with the ruff sections What it does /
Why is this bad? / Example / Use instead / Options), its `VALID`/`INVALID` examples and its logic
together; the examples are its tests (tests/lint/test_rules_examples.py) and "fixable" is proven by
an `Invalid(..., fixed=...)` example, never just claimed.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from mltrack.model import Finding, Fix, Location

if TYPE_CHECKING:
    import libcst as cst

    from mltrack.lint.context import FileContext


@dataclass(frozen=True)
class Invalid:
    """Code that must trigger the rule.

    `fixed` is the expected source after applying the rule's fixes (proves the fix);
    `line` pins the 1-based line of the (first) finding; `message` must appear in its message;
    `files` are other modules of the same project (name -> source) the example relies on.
    """

    code: str
    fixed: str | None = None
    line: int | None = None
    message: str | None = None
    files: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Valid:
    """Code that must not trigger the rule, optionally with sibling project modules."""

    code: str
    files: tuple[tuple[str, str], ...] = ()


class Rule:
    """Base class of every lint rule."""

    code: ClassVar[str]  # "MLT001"
    name: ClassVar[str]  # "missing-seed"
    summary: ClassVar[str]  # one line
    fixable: ClassVar[bool] = False
    VALID: ClassVar[Sequence[str | Valid]] = ()
    INVALID: ClassVar[Sequence[str | Invalid]] = ()

    @classmethod
    def doc(cls) -> str:
        """Markdown documentation: the class docstring (or its module's), ruff sections."""
        text = cls.__doc__ or inspect.getmodule(cls).__doc__ or cls.summary  # type: ignore[union-attr]
        return f"# {cls.name} ({cls.code})\n\n{inspect.cleandoc(text)}\n"

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        raise NotImplementedError

    # -- helpers for subclasses ------------------------------------------------------------
    def finding(
        self,
        ctx: FileContext,
        node: cst.CSTNode | None,
        message: str,
        fix: Fix | None = None,
    ) -> Finding:
        """A finding at `node` (None: the top of the file)."""
        if node is None:
            location = Location(ctx.path, 1, 1, 1, 1)
        else:
            location = ctx.location(node)
        return Finding(self.code, self.name, message, location, fix)
