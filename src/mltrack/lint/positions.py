"""Node positions, computed only as far into the file as the nodes asked about.

libcst finds positions by regenerating the code of the whole module, which costs more than
parsing it. Findings are few and usually sit in the first part of a file that matters (a helper,
`main()`), so this runs the same position pass one top-level statement at a time and stops as soon
as the node asked about has its position. The pass is libcst's own (`PositionProvider`'s codegen
state) in libcst's order, so every position is exactly what `MetadataWrapper.resolve` gives.
"""

from __future__ import annotations

from typing import Any

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider


class LazyPositions:
    def __init__(self, module: cst.Module) -> None:
        self._module = module
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
