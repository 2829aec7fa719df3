"""One-job whole-project runs parse each file once: the rules reuse the project index's trees."""

from __future__ import annotations

import gc
from pathlib import Path

import libcst

from mltrack.lint import parsed
from mltrack.lint.config import LintConfig
from mltrack.lint.engine import lint_paths

HELPER = '''import random

import numpy as np
import torch


def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def save(model):
    torch.save(model.state_dict(), "model.pt")
'''

TRAIN = '''import torch

from utils import save, set_seed


def main():
    set_seed(0)
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.ones(2)).sum().backward()
        optimizer.step()
    save(model)


if __name__ == "__main__":
    main()
'''


def _project(tmp_path: Path) -> Path:
    (tmp_path / "utils.py").write_text(HELPER)
    (tmp_path / "train.py").write_text(TRAIN)
    return tmp_path


def _counting_parses(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = libcst.parse_module

    def counting(source, *args, **kwargs):
        seen.append(source)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(libcst, "parse_module", counting)
    return seen


def _codes(run) -> list[tuple[str, str, int]]:
    return sorted((Path(f.location.path).name, f.code, f.location.line) for f in run.findings)


def test_one_job_parses_each_file_once_and_finds_the_same(tmp_path, monkeypatch):
    root = _project(tmp_path)
    config = LintConfig(root=str(root))
    many = lint_paths([root], config, jobs=2, cache=False)  # small: linted in process, no reuse
    seen = _counting_parses(monkeypatch)
    one = lint_paths([root], config, jobs=1, cache=False)
    assert sorted(seen) == sorted([HELPER, TRAIN])  # utils.py: index and rules share one parse
    assert _codes(one) == _codes(many)
    assert any(code == "MLT007" for name, code, _ in _codes(one) if name == "train.py")


def test_nothing_is_kept_after_the_run_and_the_collector_is_back_on(tmp_path):
    root = _project(tmp_path)
    lint_paths([root], LintConfig(root=str(root)), jobs=1, cache=False)
    assert parsed._kept == {} and parsed._wanted is None and parsed._guarded == set()
    assert gc.isenabled()


def test_one_job_guards_each_file_once_and_still_skips_a_file_too_deep(tmp_path, monkeypatch):
    """The index guards a module before parsing it; linting that same text does not guard it
    again, and a module the guard refuses is still reported when it is linted."""
    from mltrack.lint import guard

    root = _project(tmp_path)
    deep = "import torch\nx = " + "[" * 60 + "1" + "]" * 60 + "\n"
    (root / "deep.py").write_text(deep)
    (root / "train.py").write_text("import deep\n" + TRAIN)
    monkeypatch.setattr(guard, "MAX_DEPTH", 40)
    checked: list[str] = []
    real = guard.check

    def counting(source):
        checked.append(source)
        return real(source)

    monkeypatch.setattr(guard, "check", counting)
    run = lint_paths([root], LintConfig(root=str(root)), jobs=1, cache=False)
    # deep.py: refused by the index, so checked again (and reported) when linted
    assert sorted(checked) == sorted([HELPER, deep, deep, "import deep\n" + TRAIN])
    assert any(f.code == "MLT101" and f.location.path.endswith("deep.py") for f in run.findings)
