"""The analysis's parse (`cstparse.parse_module`, libcst's parser without per-node checks) gives
exactly what `libcst.parse_module` gives: the same tree, the same code, the same failures; and
the checks are back on for every node built afterwards."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import libcst as cst
import pytest

from mltrack.lint import cstparse

ROOT = Path(__file__).resolve().parents[2]
STDLIB = Path(sys.modules["threading"].__file__).parent


def _own_and_stdlib_files() -> list[Path]:
    own = sorted((ROOT / "src" / "mltrack" / "lint").rglob("*.py"))
    fixtures = sorted((ROOT / "fixtures" / "lint").rglob("*.py"))
    stdlib = sorted(STDLIB.glob("*.py"))[::8]  # a fixed eighth of the standard library's top level
    return own + fixtures + stdlib


def _outcome(parse, source: str):
    try:
        return parse(source), None
    except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
        return None, type(exc)


def test_same_tree_and_code_as_libcst_on_real_files():
    files = _own_and_stdlib_files()
    assert len(files) > 120
    compared = 0
    for path in files:
        source = path.read_text(encoding="utf-8", errors="replace")
        checked, checked_error = _outcome(cst.parse_module, source)
        unchecked, unchecked_error = _outcome(cstparse.parse_module, source)
        assert checked_error == unchecked_error, path
        if checked is not None:
            assert unchecked.deep_equals(checked), path
            assert unchecked.code == checked.code, path
            compared += 1
    assert compared > 120


@pytest.mark.parametrize("source", [
    "f(**k, *a)\n", "f(a=1, b)\n", "def f(a=1, b): pass\n", "del f()\n", "f() = 1\n",
    "print 'x'\n", "x = 1 +\n", "import a.b as\n", "f'{x!z}'\n", "a[1:2:3:4]\n",
    "def f(a, /, b, /): pass\n", "class A(x for x in y): pass\n", "\x00x = 1\n", "if x:\npass\n",
])
def test_broken_files_fail_the_same_way(source):
    _, checked_error = _outcome(cst.parse_module, source)
    _, unchecked_error = _outcome(cstparse.parse_module, source)
    assert checked_error is not None
    assert unchecked_error == checked_error


def test_checks_are_back_on_after_a_parse_and_after_a_failure():
    cstparse.parse_module("x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not an identifier")
    with pytest.raises(cst.ParserSyntaxError):
        cstparse.parse_module("x = (\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not an identifier")


def test_parses_from_several_threads_agree():
    source = (ROOT / "src" / "mltrack" / "lint" / "engine.py").read_text()
    expected = cst.parse_module(source)
    results: list[bool] = []

    def parse_many():
        for _ in range(5):
            results.append(cstparse.parse_module(source).deep_equals(expected))

    threads = [threading.Thread(target=parse_many) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 15
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not an identifier")
