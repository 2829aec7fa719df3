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
    # nested blocks of every kind, with leading comments and blank lines
    "def main(\n    a,\n    b=f(1),\n):\n\n    # first\n    x = g(a)\n    try:\n        h(x)\n"
    "    # handler\n    except (ValueError, KeyError) as e:\n        i(e)\n    else:\n"
    "        # else body\n        j()\n    finally:\n        k()\n    while x:\n        x -= 1\n"
    "    else:\n        l()\n    for y in z(x):\n        if y: m(y); n(y)\n        elif y > 2:\n"
    "            o(y)\n        elif y > 3:\n            p(y)\n        else:\n            if y:\n"
    "                q(y)\n    else:\n        r()\n\n\nif __name__ == '__main__':\n    main(1)\n",
    "class A:\n    # comment before a decorator\n\n    @staticmethod\n    # between\n    @cache(\n"
    "        1)\n    async def m():\n        async with s() as t:\n            async for u in t:\n"
    "                await v(u)\n    class B:\n        x = w(1)\n",
    "match command:\n    case [x, y]:\n        a(x)\n    case {'k': v}:\n        # c\n        b(v)\n"
    "    case _:\n        pass\n",
    "try:\n    a()\nexcept* ValueError:\n    b()\n",
    "if x:\n\tif y:\n\t\tz()\n\telse:\n\t\tw()\nelse:\n  v()\n  # odd\n   # odder\n  u()\n",
    "def f():\r\n    with open(p) as h:\r\n        g(h)\r\n    return 1",  # CRLF, no final break
    "for i in x:\n    for j in y:\n        z(i, j)  # trailing\n    # footer of inner block\n"
    "# dedented footer\n    w()\n",
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
        nodes = [n for n in _all_nodes(module) if n in expected]  # libcst skips a few in `match`
        for node in reversed(nodes) if reverse else nodes:
            assert lazy[node] == expected[node], (source[:40], type(node).__name__)


def test_a_node_from_another_tree_is_not_found():
    lazy = LazyPositions(cst.parse_module("x = 1\n"), "x = 1\n")
    with pytest.raises(KeyError):
        lazy[cst.parse_module("y = 2\n").body[0]]


def test_a_nested_node_regenerates_only_its_own_statement():
    """A training script's body is often one big `main()`: a node deep inside it is placed
    without the sequential pass and without regenerating the rest of `main()`."""
    body = "".join(f"    x{i} = step({i})\n" for i in range(200))
    source = (f"import torch\n\n\ndef main():\n{body}    for e in range(3):\n"
              "        torch.save(model, 'm.pt')\n\n\nmain()\n")
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    main = module.body[1]
    save = main.body.body[-1].body.body[0].body[0].value
    lazy = LazyPositions(module, source)
    assert lazy[save] == expected[save]
    assert not lazy._computed  # the sequential pass never ran
    other = main.body.body[100]
    assert other not in lazy._alone  # nor was the rest of main() regenerated
    assert lazy[other] == expected[other]


def test_the_last_statement_of_a_file_without_a_final_line_break_is_placed_alone():
    source = "import torch\n\ndef main():\n    x = 1\n    torch.save(x, 'm.pt')"
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    save = module.body[1].body.body[-1].body[0].value
    lazy = LazyPositions(module, source)
    assert lazy[save] == expected[save]
    assert not lazy._computed


def test_a_one_line_expression_found_once_in_the_text_needs_no_parse_nor_codegen():
    source = ("import torch\n\n\ndef main():\n    if True:\n        x = ( torch.save(m, 'a.pt') )\n"
              "        torch.load('b.pt'); torch.load('b.pt')\n")
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    block = module.body[1].body.body[0].body.body
    save = block[0].body[0].value  # parenthesized: its position leaves the parentheses out
    lazy = LazyPositions(module, source)
    assert lazy[save] == expected[save]
    assert lazy._top is None and not lazy._computed  # found by its text alone
    twice = block[1].body[1].value  # the same text twice: placed by its statement instead
    assert lazy[twice] == expected[twice]
    assert lazy._top is not None
