"""Node positions, computed only for the statements that hold the nodes asked about.

libcst finds positions by regenerating the code of the whole module, which costs more than
parsing it. Findings are few, so this regenerates as little as it can, with libcst's own position
pass (`PositionProvider`'s codegen state), so every position is exactly what
`MetadataWrapper.resolve` gives.

Given the source, a one-line expression (a call, a name, a literal) whose text occurs exactly once
in it is placed by that text alone (its text there is its code: no indentation is involved).
Any other node is looked up in the innermost statement that holds it: the lines where the node's
text occurs are found in the source, Python's own (much faster) parser gives every statement's
lines, and the walk goes down through the blocks of the compound statements whose
lines hold one of those lines (a training script's whole body often sits in one `main()` or
`if __name__ == "__main__":` block: regenerating all of it for one finding costs as much as a
parse). That statement is regenerated alone, starting on its first line with the indentation of
the blocks around it, and accepted only when the regenerated text is exactly the source there.
A node not found that way is looked for in the enclosing statements, and anything unexpected
falls back to the sequential pass over the whole module, one top-level statement at a time,
stopping once the node has its position.
"""

from __future__ import annotations

import ast
import bisect
import re
import warnings
from collections.abc import Callable
from typing import Any

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

_NEWLINE = re.compile(r"\r\n?|\n")  # libcst's own line breaks
_FINAL_NEWLINE = re.compile(r"(?:\r\n?|\n)\Z")

# libcst compound statements and the `ast` nodes they parse to.
_COMPOUND: dict[type, tuple[type, ...]] = {
    cst.If: (ast.If,),
    cst.For: (ast.For, ast.AsyncFor),
    cst.While: (ast.While,),
    cst.Try: (ast.Try,),
    cst.With: (ast.With, ast.AsyncWith),
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
    cst.ClassDef: (ast.ClassDef,),
    cst.Match: (ast.Match,),
}
if hasattr(cst, "TryStar") and hasattr(ast, "TryStar"):
    _COMPOUND[cst.TryStar] = (ast.TryStar,)

# Expressions whose position is exactly their text less their parentheses (`_parenthesize`).
_PLACED_BY_TEXT = frozenset({cst.Call, cst.Name, cst.Attribute, cst.Integer, cst.Float,
                             cst.SimpleString, cst.Subscript})

# (statement, its `ast` nodes, (first line its text may start on, its first token's line, last line))
Span = tuple[int, int, int]
Placed = tuple[cst.BaseStatement, list[ast.stmt], Span]


class LazyPositions:
    def __init__(self, module: cst.Module, source: str | None = None,
                 code: Callable[[cst.CSTNode], str] | None = None,
                 line_of: Callable[[cst.CSTNode], cst.SimpleStatementLine | None] | None = None,
                 ) -> None:
        self._module = module
        self._source = source
        # a node's code: the caller's (cached) `FileContext.code` when given
        self._code = code or module.code_for_node
        # the statement line holding a node (a call), when the caller knows it
        self._line_of = line_of
        self._top: list[Placed] | None = None  # the module's statements, placed
        self._blocks: dict[int, list[tuple[str, list[Placed]]] | None] = {}  # by id(statement)
        self._regenerated: set[int] = set()  # ids of statements regenerated alone
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
            return self._by_text(node) or self._line_by_text(node) or self._find_alone(node)
        except Exception:  # noqa: BLE001 - any surprise: the sequential pass decides
            self._source = None
            return None

    def _by_text(self, node: cst.CSTNode) -> CodeRange | None:
        """A one-line expression whose text occurs once in the source is there: its position is
        that text's, less its parentheses (libcst's position of a parenthesized expression)."""
        if type(node) not in _PLACED_BY_TEXT:
            return None
        module, source = self._module, self._source
        assert source is not None
        code = self._code(node)
        if "\n" in code or "\r" in code:
            return None
        at = source.find(code)
        if at == -1 or source.find(code, at + 1) != -1:
            return None
        start = at + sum(len(module.code_for_node(p)) for p in node.lpar)  # type: ignore[attr-defined]
        end = at + len(code) - sum(len(module.code_for_node(p)) for p in node.rpar)  # type: ignore[attr-defined]
        if "\r" in source:
            if not self._line_offsets:
                self._line_offsets = [0] + [m.end() for m in _NEWLINE.finditer(source)]
            line = bisect.bisect_right(self._line_offsets, at)
            line_start = self._line_offsets[line - 1]
        else:  # "\n" alone breaks lines: count them (no table of every line's offset)
            line = source.count("\n", 0, at) + 1
            line_start = source.rfind("\n", 0, at) + 1
        found = CodeRange((line, start - line_start), (line, end - line_start))
        self._alone[node] = found
        return found

    def _line_by_text(self, node: cst.CSTNode) -> CodeRange | None:
        """A statement line (an import a fix inserts after), or a node of one (a call whose own
        text recurs), placed through the statement: see `_statement_by_text`."""
        statement: cst.SimpleStatementLine | None
        if type(node) is cst.SimpleStatementLine:
            statement = node  # type: ignore[assignment]
        else:
            statement = self._line_of(node) if self._line_of is not None else None
        if statement is None or id(statement) in self._regenerated:
            return None
        positions = self._statement_by_text(statement)
        return None if positions is None else positions.get(node)

    def _statement_by_text(self, statement: cst.SimpleStatementLine):
        """Positions of a statement line's nodes, when its first line's text occurs once in the
        source, after nothing but its indentation: regenerated alone from that line (after its
        leading comment and blank lines, one line each) with that indentation, and accepted
        only when that is exactly the source there, as `_alone_positions` does - without
        parsing the file with `ast` to find the line."""
        source = self._source
        assert source is not None
        code = self._module.code_for_node(statement)  # alone: no indentation on its first line
        leading = len(statement.leading_lines)
        breaks = [m.end() for m in _NEWLINE.finditer(code)][:leading + 1]
        if len(breaks) <= leading:
            return None
        text = code[breaks[leading - 1] if leading else 0:breaks[leading]]
        if not text.strip():
            return None
        at = source.find(text)
        if at == -1 or source.find(text, at + 1) != -1:
            return None
        if source.endswith(text.rstrip("\r\n")):
            return None  # the file's last line, without its line break, may be the statement
        if not self._line_offsets:
            self._line_offsets = [0] + [m.end() for m in _NEWLINE.finditer(source)]
        line = bisect.bisect_right(self._line_offsets, at)
        indent = source[self._line_offsets[line - 1]:at]
        if indent.strip(" \t"):
            return None  # something else before it on its line
        first = line - leading
        positions, regenerated = self._regenerate(statement, first, (indent,) if indent else ())
        if not self._starts_at(regenerated, first):
            return None
        self._regenerated.add(id(statement))
        self._alone.update(positions)
        return positions

    def _find_alone(self, node: cst.CSTNode) -> CodeRange | None:
        source = self._source
        assert source is not None
        if self._top is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(source)
            top = _place(self._module.body, tree.body, 1)
            if top is None:
                self._source = None
                return None
            self._top = top
            self._line_offsets = [0] + [m.end() for m in _NEWLINE.finditer(source)]
        # Only its first line of code (a statement's leading blank and comment lines skipped):
        # regenerated alone, a node's later lines lack the indentation of the block around it.
        text = next((line for line in _NEWLINE.split(self._module.code_for_node(node))
                     if line.strip() and not line.lstrip().startswith("#")), "")
        if not text.strip():
            return None
        lines: set[int] = set()
        start = source.find(text)
        while start != -1:
            lines.add(bisect.bisect_right(self._line_offsets, start))
            start = source.find(text, start + 1)
        for placed in self._top:
            if any(placed[2][0] <= line <= placed[2][2] for line in lines):
                found = self._within(node, placed, (), lines)
                if found is not None:
                    return found
        return None

    def _within(self, node: cst.CSTNode, placed: Placed, indents: tuple[str, ...],
                lines: set[int]) -> CodeRange | None:
        """The node's position, looked for in the innermost statements below `placed` whose
        lines hold one of `lines` first, then in `placed` regenerated whole."""
        statement = placed[0]
        for indent, children in self._blocks_of(placed):
            for child in children:
                _, first_token, last = child[2]
                if any(first_token <= line <= last for line in lines):
                    found = self._within(node, child, (*indents, indent), lines)
                    if found is not None:
                        return found
        if id(statement) in self._regenerated:
            return None  # regenerated already: the node is not in it
        positions = self._alone_positions(placed, indents)
        return None if positions is None else positions.get(node)

    def _blocks_of(self, placed: Placed) -> list[tuple[str, list[Placed]]]:
        """The indented blocks of a compound statement, each with its statements placed."""
        statement, group, (_, first_token, _) = placed
        key = id(statement)
        if key not in self._blocks:
            self._blocks[key] = None
            expected = _COMPOUND.get(type(statement))
            if expected and len(group) == 1 and isinstance(group[0], expected):
                pairs = _block_pairs(statement, group[0])
                if pairs is not None:
                    self._blocks[key] = _placed_blocks(pairs, first_token,
                                                       self._module.default_indent)
        return self._blocks[key] or []

    def _alone_positions(self, placed: Placed, indents: tuple[str, ...]):
        """Positions of one statement's nodes, regenerated alone (inside `indents`) from the
        line where its text (leading blank and comment lines included) starts in the source;
        None when no line in its range starts with exactly that text."""
        statement, _, (first, first_token, _) = placed
        self._regenerated.add(id(statement))
        leading = len(statement.leading_lines)
        decorators = getattr(statement, "decorators", ())
        if decorators:
            leading += len(decorators[0].leading_lines)
        guess = first_token - leading
        positions, code = self._regenerate(statement, guess, indents)
        if self._starts_at(code, guess):
            self._alone.update(positions)
            return positions
        for line in range(first, first_token + 1):  # the guess was wrong: find the line
            if line != guess and self._starts_at(code, line):
                positions, _ = self._regenerate(statement, line, indents)
                self._alone.update(positions)
                return positions
        return None

    def _regenerate(self, statement: cst.CSTNode, line: int, indents: tuple[str, ...]):
        from libcst.metadata.position_provider import PositionProvidingCodegenState

        provider = PositionProvider()
        provider._computed = {}
        state = PositionProvidingCodegenState(
            default_indent=self._module.default_indent,
            default_newline=self._module.default_newline,
            provider=provider,
            indent_tokens=list(indents),
            line=line,
        )
        statement._codegen(state)
        return provider._computed, "".join(state.tokens)

    def _starts_at(self, code: str, line: int) -> bool:
        offsets, source = self._line_offsets, self._source
        assert source is not None
        if not 1 <= line <= len(offsets):
            return False
        at = offsets[line - 1]
        if source.startswith(code, at):
            return True
        # The file's last line has no line break: libcst drops the one its last statement made.
        last_break = _FINAL_NEWLINE.search(code)
        return (last_break is not None and at + last_break.start() == len(source)
                and source.startswith(code[:last_break.start()], at))


def _place(statements, nodes: list[ast.stmt], lower: int) -> list[Placed] | None:
    """Each libcst statement with its `ast` nodes and lines: the first line its text may start
    on (`lower` for the first, else the one after the previous statement's last line), its first
    token's line and its last line. None when the two parsers disagree on the count."""
    placed: list[Placed] = []
    previous_end = lower - 1
    at = 0
    for statement in statements:
        count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        group = nodes[at:at + count]
        at += count
        if len(group) != count or count == 0:
            return None
        first_token = min([group[0].lineno] + [d.lineno for d in
                                               getattr(group[0], "decorator_list", [])])
        end = max(getattr(g, "end_lineno", None) or g.lineno for g in group)
        placed.append((statement, group, (previous_end + 1, first_token, end)))
        previous_end = end
    if at != len(nodes):
        return None
    return placed


def _block_pairs(statement: cst.BaseStatement, node: ast.stmt):
    """(libcst suite, `ast` statements) of each block of a compound statement, in source
    order; None when the two trees disagree."""
    pairs: list[tuple[cst.BaseSuite, list[ast.stmt]]] = [(statement.body, node.body)]  # type: ignore[attr-defined]
    if isinstance(statement, cst.If):
        orelse = statement.orelse
        if isinstance(orelse, cst.If):  # elif
            if len(node.orelse) != 1 or not isinstance(node.orelse[0], ast.If):  # type: ignore[attr-defined]
                return None
            rest = _block_pairs(orelse, node.orelse[0])  # type: ignore[attr-defined]
            return None if rest is None else pairs + rest
    elif isinstance(statement, (cst.Try, getattr(cst, "TryStar", cst.Try))):
        handlers = statement.handlers
        if len(handlers) != len(node.handlers):  # type: ignore[attr-defined]
            return None
        pairs += [(h.body, a.body) for h, a in zip(handlers, node.handlers)]  # type: ignore[attr-defined]
        if statement.orelse is not None:
            pairs.append((statement.orelse.body, node.orelse))  # type: ignore[attr-defined]
        elif node.orelse:  # type: ignore[attr-defined]
            return None
        if statement.finalbody is not None:
            pairs.append((statement.finalbody.body, node.finalbody))  # type: ignore[attr-defined]
        elif node.finalbody:  # type: ignore[attr-defined]
            return None
        return pairs
    elif isinstance(statement, cst.Match):
        if len(statement.cases) != len(node.cases):  # type: ignore[attr-defined]
            return None
        return [(c.body, a.body) for c, a in zip(statement.cases, node.cases)]  # type: ignore[attr-defined]
    elif not isinstance(statement, (cst.For, cst.While)):
        return pairs  # with, def, class: one block
    orelse = statement.orelse  # if / for / while: an optional else block
    if orelse is not None:
        pairs.append((orelse.body, node.orelse))  # type: ignore[attr-defined]
    elif node.orelse:  # type: ignore[attr-defined]
        return None
    return pairs


def _placed_blocks(pairs, first_token: int, default_indent: str):
    """Each indented block's indentation and its statements placed (a one-line suite such as
    `if x: y` holds no statement lines of its own and is left out)."""
    blocks: list[tuple[str, list[Placed]]] = []
    lower = first_token + 1  # the line after the header's first: the header may be longer
    for suite, nodes in pairs:
        if isinstance(suite, cst.IndentedBlock):
            placed = _place(suite.body, nodes, lower)
            if placed is None:
                return None
            indent = default_indent if suite.indent is None else suite.indent
            blocks.append((indent, placed))
        if nodes:
            lower = max(getattr(n, "end_lineno", None) or n.lineno for n in nodes) + 1
    return blocks
