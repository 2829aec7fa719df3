"""The linter never crashes: real Python from the standard library and site-packages,
generated programs (hypothesmith), and problem files (empty, binary, non-UTF-8, CRLF, huge,
pathologically deep). Each problem file becomes one clear finding or none - never an
internal-error (MLT000), a traceback or a dead run.

The full run over every installed file is `@pytest.mark.slow` (`pytest -m slow`); the default
suite lints a fixed, evenly spread sample of the standard library.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from mltrack.lint.config import LintConfig
from mltrack.lint.engine import lint_paths
from mltrack.lint.filelint import MAX_BYTES

STDLIB = Path(sysconfig.get_paths()["stdlib"])
PURELIB = Path(sysconfig.get_paths()["purelib"])


def installed_config(root: Path) -> LintConfig:
    """Lint installed code as it is: no default excludes (site-packages is one)."""
    return LintConfig(root=str(root), default_excludes=False)


def assert_no_crash(run) -> None:
    crashes = [f for f in run.findings if f.code == "MLT000"]
    assert not crashes, "\n".join(f"{f.location.path}: {f.message}" for f in crashes[:20])


def stdlib_sample(count: int) -> list[Path]:
    files = sorted(p for p in STDLIB.rglob("*.py") if "site-packages" not in p.parts)
    step = max(1, len(files) // count)
    return files[::step][:count]


def test_sample_of_the_standard_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    files = stdlib_sample(40)
    run = lint_paths(files, installed_config(tmp_path), cache=False, jobs=1)
    assert run.files_checked == len(files) and run.lines > 3000
    assert_no_crash(run)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_every_file_of_the_stdlib_and_site_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = lint_paths([STDLIB, PURELIB], installed_config(tmp_path), cache=False)
    print(f"{run.files_checked} files, {run.lines} lines in {run.timings['total']:.0f} s")
    assert run.files_checked > 1000
    assert_no_crash(run)


def problem_files(root: Path) -> dict[str, bytes]:
    return {
        "empty.py": b"",
        "only_comment.py": b"# nothing here",
        "binary.py": b"\x7fELF\x00\x01\x02" + bytes(range(256)),
        "latin1_no_cookie.py": "x = 'caf\u00e9'\n".encode("latin-1"),
        "latin1_cookie.py": "# -*- coding: latin-1 -*-\nx = 'caf\u00e9'\n".encode("latin-1"),
        "bom.py": b"\xef\xbb\xbfimport torch\nx = 1\n",
        "crlf.py": b"import torch\r\nfor i in range(3):\r\n    x = torch.randn(2)\r\n",
        "mixed_newlines.py": b"import torch\r\nx = 1\ny = 2\r",
        "tabs.py": b"if True:\n\tx = 1\n        y = 2\n",
        "syntax.py": b"import torch\ndef f(:\n",
        "py2.py": b"print 'hello'\nexec 'x = 1'\n",
        "null_in_middle.py": b"x = 1\n" * 3000 + b"\x00",
        "deep_parens.py": b"x = " + b"(" * 5000 + b"1" + b")" * 5000 + b"\n",
        "long_chain.py": b"x = " + b" + ".join([b"a"] * 20000) + b"\n",
        "long_line.py": b"x = [" + b"1, " * 20000 + b"]\n",
        "many_lines.py": b"import torch\n" + b"x = torch.randn(3)\n" * 4000,
        "huge.py": b"x = 1\n" * (MAX_BYTES // 6 + 10),
        "notebook_not_json.ipynb": b"\x89PNG\r\n",
        "notebook_bad_utf8.ipynb": b'{"cells": ["\xff"]}',
    }


def test_problem_files_each_give_one_clear_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name, data in problem_files(tmp_path).items():
        (tmp_path / name).write_bytes(data)
    run = lint_paths(["."], installed_config(tmp_path), cache=False, jobs=1)
    assert_no_crash(run)
    by_file = {r.path: r.findings for r in run.results}
    assert set(by_file) == set(problem_files(tmp_path))
    for name in ("binary.py", "latin1_no_cookie.py", "syntax.py", "py2.py", "null_in_middle.py",
                 "deep_parens.py", "notebook_not_json.ipynb", "notebook_bad_utf8.ipynb"):
        [finding] = by_file[name]
        assert finding.code == "MLT014", (name, finding)
        assert finding.message.startswith(("cannot", "skipped")), finding.message
    for name in ("huge.py", "long_chain.py"):
        [finding] = by_file[name]
        assert (finding.code, finding.severity) == ("MLT101", "warning"), (name, finding)
    for name in ("empty.py", "only_comment.py", "latin1_cookie.py", "bom.py", "long_line.py"):
        assert by_file[name] == (), (name, by_file[name])
    [latin] = by_file["latin1_no_cookie.py"]
    assert (latin.location.line, latin.location.column) == (1, 9)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(source=__import__("hypothesmith").from_grammar())
def test_generated_programs(source: str) -> None:
    from mltrack.lint.filelint import lint_bytes

    prefix = "import torch\nimport mlflow\n"  # make every rule look at it
    result = lint_bytes((prefix + source).encode("utf-8", "surrogatepass"), "gen.py",
                        config=LintConfig(), enabled=frozenset({f"MLT{i:03d}" for i in range(1, 15)}))
    assert not [f for f in result.findings if f.code == "MLT000"], result.findings
