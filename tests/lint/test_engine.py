"""The lint engine on real files in a temporary project: discovery, project index, cache,
parallel workers, crash isolation, fixes. The rules are the real ones (missing-seed is the
workhorse: a script that trains with torch and never seeds)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from mltrack.errors import UsageError
from mltrack.lint import engine
from mltrack.lint.config import LintConfig, lint_config_from_table
from mltrack.lint.engine import lint_paths

UNSEEDED = textwrap.dedent(
    """\
    import torch
    from torch import nn

    model = nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(10):
        loss = model(torch.randn(4, 3)).sum()
        loss.backward()
        opt.step()
    """
)
SEEDED = UNSEEDED.replace("from torch import nn\n", "from torch import nn\ntorch.manual_seed(0)\n")


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def codes(run) -> list[tuple[str, str]]:
    return sorted((f.location.path, f.code) for f in run.findings)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def config_for(root: Path, **table) -> LintConfig:
    return lint_config_from_table(table, root=root)


def test_finds_unseeded_training_and_counts_files_and_lines(project: Path) -> None:
    write(project, {"train.py": UNSEEDED, "seeded.py": SEEDED, "README.txt": "not python"})
    run = lint_paths(["."], config_for(project, select=["MLT001"]), cache=False)
    assert codes(run) == [("train.py", "MLT001")]
    assert run.files_checked == 2
    assert run.lines == UNSEEDED.count("\n") + SEEDED.count("\n")
    assert set(run.timings) >= {"discover", "index", "lint", "total"}


def test_discovery_honours_default_and_configured_excludes(project: Path) -> None:
    write(project, {
        "src/train.py": UNSEEDED,
        ".venv/lib/site.py": UNSEEDED,
        "build/gen.py": UNSEEDED,
        "legacy/old.py": UNSEEDED,
        "notebooks/scratch/try.py": UNSEEDED,
    })
    config = config_for(project, select=["MLT001"], exclude=["legacy", "notebooks/scratch/**"])
    run = lint_paths(["."], config, cache=False)
    assert [r.path for r in run.results] == ["src/train.py"]
    # A file named explicitly: default excludes do not apply, the user's excludes do
    # (pre-commit passes files one by one).
    assert [r.path for r in lint_paths(["build/gen.py"], config, cache=False).results] == ["build/gen.py"]
    assert lint_paths(["legacy/old.py"], config, cache=False).results == []


def test_missing_path_is_a_usage_error(project: Path) -> None:
    with pytest.raises(UsageError, match="no-such-dir"):
        lint_paths(["no-such-dir"], config_for(project), cache=False)


def test_helper_in_another_module_seeds_the_file_that_calls_it(project: Path) -> None:
    """Pre-commit passes only train.py; utils.py still counts because the engine indexes the
    project's modules that train.py imports."""
    helper = "import random\nimport numpy as np\nimport torch\n\n\ndef set_seed(seed):\n" \
             "    random.seed(seed)\n    np.random.seed(seed)\n    torch.manual_seed(seed)\n"
    train = UNSEEDED.replace("from torch import nn\n", "from torch import nn\nfrom utils import set_seed\n")
    train += "\nif __name__ == '__main__':\n    set_seed(1)\n"
    write(project, {"utils.py": helper, "train.py": train})
    config = config_for(project, select=["MLT001"])
    assert codes(lint_paths(["train.py"], config, cache=False)) == []
    # The helper stops seeding: the index changes and train.py is flagged again.
    write(project, {"utils.py": "def set_seed(seed):\n    return seed\n"})
    assert ("train.py", "MLT001") in codes(lint_paths(["train.py"], config, cache=False))


def test_warm_cache_reuses_results_and_notices_changes(project: Path) -> None:
    write(project, {"a.py": UNSEEDED, "b.py": SEEDED, "utils.py": "def helper():\n    return 1\n"})
    config = config_for(project, select=["MLT001"])
    cold = lint_paths(["."], config)
    assert cold.cache_hits == 0
    assert (project / ".mltrack_cache" / "lint").is_dir()
    warm = lint_paths(["."], config)
    assert warm.cache_hits == 3
    assert codes(warm) == codes(cold) == [("a.py", "MLT001")]
    assert all(r.cached for r in warm.results)
    write(project, {"b.py": UNSEEDED})
    changed = lint_paths(["."], config)
    assert changed.cache_hits == 2
    assert codes(changed) == [("a.py", "MLT001"), ("b.py", "MLT001")]
    # Another configuration is another key.
    assert lint_paths(["."], config_for(project, select=["MLT003"])).cache_hits == 0


def test_editing_an_imported_module_relints_its_importers(project: Path) -> None:
    write(project, {"utils.py": "def set_seed(s):\n    pass\n",
                    "train.py": UNSEEDED.replace("import torch\n", "import torch\nimport utils\n")})
    config = config_for(project, select=["MLT001"])
    lint_paths(["train.py"], config)
    assert lint_paths(["train.py"], config).cache_hits == 1
    write(project, {"utils.py": "import torch\n\n\ndef set_seed(s):\n    torch.manual_seed(s)\n"})
    assert lint_paths(["train.py"], config).cache_hits == 0


def test_no_cache_reads_and_writes_nothing(project: Path) -> None:
    write(project, {"a.py": UNSEEDED})
    run = lint_paths(["."], config_for(project), cache=False)
    assert run.cache_hits == 0
    assert not (project / ".mltrack_cache").exists()


def test_parallel_run_matches_serial(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {f"pkg/m{i}.py": UNSEEDED if i % 3 == 0 else SEEDED for i in range(12)}
    write(project, files)
    config = config_for(project)
    serial = lint_paths(["."], config, jobs=1, cache=False)
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
    parallel = lint_paths(["."], config, jobs=2, cache=False)
    assert parallel.jobs == 2 and serial.jobs == 1
    assert parallel.findings == serial.findings
    assert [r.path for r in parallel.results] == [r.path for r in serial.results]


def test_a_crash_on_one_file_is_an_error_for_that_file_only(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project, {"boom.py": "import torch  # BOOM\n", "train.py": UNSEEDED})
    real = engine.lint_bytes

    def exploding(data: bytes, path: str, **kwargs):
        if b"BOOM" in data:
            raise RuntimeError("kaboom")
        return real(data, path, **kwargs)

    monkeypatch.setattr(engine, "lint_bytes", exploding)
    run = lint_paths(["."], config_for(project, select=["MLT001"]), jobs=1)
    assert codes(run) == [("boom.py", "MLT000"), ("train.py", "MLT000")][:1] + [("train.py", "MLT001")]
    assert "kaboom" in run.results[0].findings[0].message
    # Crashes are never cached: the next run tries again.
    assert lint_paths(["."], config_for(project, select=["MLT001"]), jobs=1).cache_hits == 1


def test_a_worker_process_that_dies_takes_down_only_its_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The native parser can abort the process (stack overflow); the run must survive it."""
    write(project, {f"m{i}.py": SEEDED for i in range(4)})
    write(project, {"killer.py": "import torch  # DIE\n"})
    real = engine.lint_bytes

    def dying(data: bytes, path: str, **kwargs):
        if b"DIE" in data:
            os._exit(3)
        return real(data, path, **kwargs)

    monkeypatch.setattr(engine, "lint_bytes", dying)  # inherited by forked workers
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
    run = lint_paths(["."], config_for(project, select=["MLT001"]), jobs=2, cache=False)
    assert codes(run) == [("killer.py", "MLT000")]
    assert run.files_checked == 5
    assert "died" in run.results[0].findings[0].message


def test_fix_writes_safe_fixes_and_is_idempotent(project: Path) -> None:
    write(project, {"train.py": UNSEEDED})
    config = config_for(project, select=["MLT001"])
    preview = lint_paths(["train.py"], config, diff=True)
    assert preview.changed and (project / "train.py").read_text() == UNSEEDED  # --diff writes nothing
    fixed = lint_paths(["train.py"], config, fix=True)
    assert fixed.fixes_applied >= 1 and codes(fixed) == []
    text = (project / "train.py").read_text()
    assert "manual_seed" in text
    again = lint_paths(["train.py"], config, fix=True)
    assert again.changed == [] and (project / "train.py").read_text() == text


def test_fix_keeps_crlf_line_endings(project: Path) -> None:
    (project / "train.py").write_bytes(UNSEEDED.replace("\n", "\r\n").encode())
    lint_paths(["train.py"], config_for(project, select=["MLT001"]), fix=True)
    data = (project / "train.py").read_bytes()
    assert b"manual_seed" in data
    assert data.count(b"\n") == data.count(b"\r\n")


def test_select_ignore_and_per_file_ignores(project: Path) -> None:
    write(project, {"train.py": UNSEEDED, "tests/test_x.py": UNSEEDED})
    run = lint_paths(["."], config_for(project, ignore=["missing-seed"]), cache=False)
    assert "MLT001" not in {c for _, c in codes(run)}
    run = lint_paths(
        ["."], config_for(project, select=["MLT001"], **{"per-file-ignores": {"tests/**": ["MLT001"]}}),
        cache=False,
    )
    assert codes(run) == [("train.py", "MLT001")]


def test_syntax_errors_are_reported_even_when_not_selected(project: Path) -> None:
    write(project, {"broken.py": "import torch\ndef f(:\n"})
    run = lint_paths(["."], config_for(project, select=["MLT001"]), cache=False)
    assert codes(run) == [("broken.py", "MLT014")]
    assert lint_paths(["."], config_for(project, ignore=["MLT014"]), cache=False).findings == []
