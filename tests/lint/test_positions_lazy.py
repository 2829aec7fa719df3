"""LazyPositions gives exactly libcst's positions, whatever node is asked first."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from mltrack.lint.positions import LazyPositions

SOURCES = [
    "# header comment\n\nimport torch\n\n\ndef f(x):\n    return torch.save(x, 'a.pt')  # c\n"
    "    # body footer\n\n# module footer\n",
    "x = 1; y = f(x)\nif x:\n    pass\nelse:\n    g(  # open\n        y)",  # no trailing newline
    "",
    "\n\n# only comments\n",
    "def f():\n    x = 1\n    # indented footer\n\n  # odd comment\nx = 1\ny = 2\nx = 1\n",
    "a = 1 \\\n  + 2\nif a:\n    b()\nelif a > 1:\n    b()\n# end\r\nb()\r",
    "@decorator(1)\nclass A(Base):\n    def m(self):\n        '''doc'''\n        return [i for i in range(3)]\r\n",
]


def _all_nodes(module: cst.Module) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []

    class Every(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            found.append(node)
            return True

    module.visit(Every())
    return found


def _sources() -> list[str]:
    here = Path(__file__).resolve().parents[2] / "src" / "mltrack" / "lint"
    return SOURCES + [p.read_text() for p in sorted(here.glob("*.py"))[:3]]


@pytest.mark.parametrize("with_source", [False, True])  # with it: skip to the statement first
@pytest.mark.parametrize("reverse", [False, True])
def test_every_node_has_libcsts_position(reverse, with_source):
    for source in _sources():
        module = cst.parse_module(source)
        expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        lazy = LazyPositions(module, source if with_source else None)
        nodes = _all_nodes(module)
        for node in reversed(nodes) if reverse else nodes:
            assert lazy[node] == expected[node], (source[:40], type(node).__name__)


def test_a_node_from_another_tree_is_not_found():
    lazy = LazyPositions(cst.parse_module("x = 1\n"), "x = 1\n")
    with pytest.raises(KeyError):
        lazy[cst.parse_module("y = 2\n").body[0]]
