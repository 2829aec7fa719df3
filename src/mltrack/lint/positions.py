"""Node positions, computed only as far into the file as the nodes asked about.

libcst finds positions by regenerating the code of the whole module, which costs more than
parsing it. Findings are few and usually sit in the first part of a file that matters (a helper,
`main()`), so this runs the same position pass one top-level statement at a time and stops as soon
as the node asked about has its position. The pass is libcst's own (`PositionProvider`'s codegen
state) in libcst's order, so every position is exactly what `MetadataWrapper.resolve` gives.

Given the source, it first tries to skip ahead: the statements whose text contains the node's text
are found with Python's own (much faster) parser, each is regenerated alone from its first line,
and that line is accepted only when the regenerated text is exactly the source there. Anything
unexpected falls back to the sequential pass.
"""

from __future__ import annotations

import ast
import re
import warnings
from typing import Any

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

_NEWLINE = re.compile(r"\r\n?|\n")  # libcst's own line breaks


class LazyPositions:
    def __init__(self, module: cst.Module, source: str | None = None) -> None:
        self._module = module
        self._source = source
        # per top-level statement: (earliest start line, its first token's line, its last line)
        self._starts: list[tuple[int, int, int]] | None = None
        self._line_offsets: list[int] = []
        self._alone: dict[cst.CSTNode, CodeRange] = {}
        self._computed: dict[cst.CSTNode, CodeRange] = {}
        self._statements = iter(module.body)
        self._done = False
        try:
            from libcst.metadata.position_provider import PositionProvidingCodegenState

            provider = PositionProvider()
            provider._computed = self._computed
            self._state: Any = PositionProvidingCodegenState(
                default_indent=module.default_indent,
                default_newline=module.default_newline,
                provider=provider,
            )
            # Module._codegen, opened: the module's start, then its header.
            self._state.before_codegen(module)
            for line in module.header:
                line._codegen(self._state)
        except (ImportError, AttributeError, TypeError):  # a libcst that works differently
            self._computed = dict(
                MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))
            self._done = True

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        computed = self._computed
        if node not in computed and not self._done and self._source is not None:
            found = self._skip_ahead(node)
            if found is not None:
                return found
        while node not in computed and not self._done:
            statement = next(self._statements, None)
            if statement is None:
                self._finish()
            else:
                statement._codegen(self._state)
        return computed[node]

    def _finish(self) -> None:
        """The rest of Module._codegen_impl and Module._codegen, as libcst runs them."""
        module, state = self._module, self._state
        for line in module.footer:
            line._codegen(state)
        if module.has_trailing_newline:
            if len(state.tokens) == 0:
                state.add_token(state.default_newline)
        else:
            state.pop_trailing_newline()
        state.after_codegen(module)
        self._done = True

    # -- skipping ahead ----------------------------------------------------------------------
    def _skip_ahead(self, node: cst.CSTNode) -> CodeRange | None:
        if node in self._alone:
            return self._alone[node]
        try:
            return self._find_alone(node)
        except Exception:  # noqa: BLE001 - any surprise: the sequential pass decides
            self._source = None
            return None

    def _find_alone(self, node: cst.CSTNode) -> CodeRange | None:
        source = self._source
        assert source is not None
        if self._starts is None:
            self._starts = self._statement_lines(source)
            if self._starts is None:
                self._source = None
                return None
            self._line_offsets = [0] + [m.end() for m in _NEWLINE.finditer(source)]
        # Only its first line: regenerated alone, a node's later lines lack the indentation of
        # the block around it.
        text = _NEWLINE.split(self._module.code_for_node(node), 1)[0]
        if not text.strip():
            return None
        lines = set()
        start = source.find(text)
        while start != -1:
            lines.add(_line_of(self._line_offsets, start))
            start = source.find(text, start + 1)
        body = self._module.body
        for index, (first, first_token, last) in enumerate(self._starts):
            if not any(first <= line <= last for line in lines):
                continue
            positions = self._alone_positions(body[index], first, first_token)
            if positions is None:
                return None
            if node in positions:
                return positions[node]
        return None

    def _alone_positions(self, statement: cst.CSTNode, first: int, last: int):
        """Positions of one top-level statement's nodes, regenerated alone from the line where
        its text (leading blank and comment lines included) starts in the source."""
        from libcst.metadata.position_provider import PositionProvidingCodegenState

        code = self._module.code_for_node(statement)
        offsets = self._line_offsets
        for line in range(first, last + 1):
            at = offsets[line - 1]
            if self._source[at:at + len(code)] != code:  # type: ignore[index]
                continue
            provider = PositionProvider()
            provider._computed = {}
            state = PositionProvidingCodegenState(
                default_indent=self._module.default_indent,
                default_newline=self._module.default_newline,
                provider=provider,
                line=line,
            )
            statement._codegen(state)
            self._alone.update(provider._computed)
            return provider._computed
        return None

    def _statement_lines(self, source: str) -> list[tuple[int, int, int]] | None:
        """For each top-level libcst statement: the first line its text may start on (the one
        after the previous statement's last token), its first token's line, its last line."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
        nodes = list(tree.body)
        spans: list[tuple[int, int, int]] = []
        previous_end = 0
        for statement in self._module.body:
            if isinstance(statement, cst.SimpleStatementLine):
                count = len(statement.body)
            else:
                count = 1
            group, nodes = nodes[:count], nodes[count:]
            if len(group) != count:
                return None
            first_token = min([group[0].lineno] + [d.lineno for d in
                                                   getattr(group[0], "decorator_list", [])])
            end = max(getattr(g, "end_lineno", None) or g.lineno for g in group)
            spans.append((previous_end + 1, first_token, end))
            previous_end = end
        if nodes:
            return None
        return spans


def _line_of(offsets: list[int], position: int) -> int:
    """1-based line of a character offset, given each line's starting offset."""
    import bisect

    return bisect.bisect_right(offsets, position)
