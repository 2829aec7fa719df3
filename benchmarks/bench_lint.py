"""mltrack-lint throughput, side by side with its floor and with other linters.

    python benchmarks/bench_lint.py [--files N] [--repo-files N] [--skip-others]

On N real files (spread evenly over the installed torch, mlflow and pandas sources) it measures,
in one run:
  1. the floor: bare `libcst.parse_module` of every file, one process;
  2. mltrack-lint in-process, one job, no cache (all rules) -> ratio to the floor (target <= 1.5);
  3. whole processes on the same files: `mltrack-lint --no-cache -j1`, `fixit lint`, `pylint`;
  4. scaling: `lint_paths` with 1, 2, ... all cores;
  5. cache: a cold run that fills a fresh cache, then a warm re-run (target warm <= 10% of cold);
  6. pre-commit: a repository of `--repo-files` modules with a warm cache, one file changed,
     `mltrack-lint CHANGED_FILE` as a fresh process (target < 1 s).
Figures are printed as `name: value`; lines/s count physical lines.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def corpus(count: int) -> list[Path]:
    files: list[Path] = []
    for name in ("torch", "mlflow", "pandas"):
        folder = package_dir(name)
        if folder is not None:
            files.extend(sorted(p for p in folder.rglob("*.py") if "tests" not in p.parts))
    step = max(1, len(files) // max(count, 1))
    return files[::step][:count]


def lines_of(files: list[Path]) -> int:
    return sum(p.read_bytes().count(b"\n") for p in files)


def timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def bare_parse(files: list[Path]) -> None:
    import libcst

    for path in files:
        try:
            libcst.parse_module(path.read_bytes())
        except Exception:  # noqa: BLE001 - the floor only measures parsing
            pass


def run_process(args: list[str], cwd: Path, limit: float | None = None) -> float:
    """Wall time of a whole process; `inf` when it ran past `limit` seconds (then killed)."""
    start = time.perf_counter()
    try:
        subprocess.run(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False, timeout=limit)
    except subprocess.TimeoutExpired:
        return float("inf")
    return time.perf_counter() - start


def throughput(seconds: float, lines: int, limit: float) -> str:
    if seconds == float("inf"):
        return f"> {limit:.0f} s (stopped), < {lines / limit:,.0f} lines/s"
    return f"{seconds:.2f} s, {lines / seconds:,.0f} lines/s"


def report(name: str, value: str) -> None:
    print(f"{name}: {value}", flush=True)


def make_repo(root: Path, count: int) -> Path:
    """A training project: `count` modules, a few helpers imported by the rest."""
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[tool.mltrack.lint]\n")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "utils.py").write_text(
        "import random\nimport numpy as np\nimport torch\n\n\ndef set_seed(seed):\n"
        "    random.seed(seed)\n    np.random.seed(seed)\n    torch.manual_seed(seed)\n")
    body = (
        "import torch\nfrom torch import nn\nfrom pkg.utils import set_seed\n\n\n"
        "def train(lr=0.01, epochs=3):\n    set_seed(0)\n    model = nn.Linear(8, 1)\n"
        "    opt = torch.optim.SGD(model.parameters(), lr=lr)\n    for _ in range(epochs):\n"
        "        loss = model(torch.randn(4, 8)).pow(2).mean()\n        opt.zero_grad()\n"
        "        loss.backward()\n        opt.step()\n    return model\n"
    )
    for i in range(count - 2):
        (root / "pkg" / f"job_{i:04d}.py").write_text(f"# job {i}\n" + body * 3)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=150, help="files of real code to lint")
    parser.add_argument("--repo-files", type=int, default=1000, help="size of the pre-commit repository")
    parser.add_argument("--skip-others", action="store_true", help="do not run fixit and pylint "
                        "(each is stopped after 20x mltrack-lint's time, at least 60 s)")
    args = parser.parse_args()

    from mltrack.lint.config import LintConfig
    from mltrack.lint.engine import default_jobs, lint_paths

    files = corpus(args.files)
    lines = lines_of(files)
    report("corpus", f"{len(files)} files, {lines} lines (torch, mlflow, pandas sources)")
    work = Path(tempfile.mkdtemp(prefix="bench-lint-"))
    try:
        config = LintConfig(root=str(work), default_excludes=False)
        lint_paths(files[:3], config, cache=False, jobs=1)  # import everything once

        floor = timed(lambda: bare_parse(files))
        single = timed(lambda: lint_paths(files, config, cache=False, jobs=1))
        report("bare libcst.parse_module, 1 process", f"{floor:.2f} s, {lines / floor:,.0f} lines/s")
        report("mltrack-lint in-process, -j1, no cache", f"{single:.2f} s, {lines / single:,.0f} lines/s")
        report("ratio mltrack-lint / bare parse (target <= 1.5)", f"{single / floor:.2f}")

        listing = work / "files.txt"
        listing.write_text("\n".join(str(f) for f in files))
        whole = run_process([str(BIN / "mltrack-lint"), "--no-cache", "-j1", "--exit-zero", *map(str, files)], work)
        report("mltrack-lint whole process, -j1", f"{whole:.2f} s, {lines / whole:,.0f} lines/s")
        if not args.skip_others:
            limit = max(60.0, 20 * whole)
            if (BIN / "fixit").exists():
                fixit = run_process([str(BIN / "fixit"), "lint", *map(str, files)], work, limit)
                report("fixit lint (whole process)", throughput(fixit, lines, limit))
            if (BIN / "pylint").exists():
                pylint = run_process([str(BIN / "pylint"), "--jobs=1", "--exit-zero", *map(str, files)],
                                     work, limit)
                report("pylint (whole process)", throughput(pylint, lines, limit))

        cores = default_jobs()
        for jobs in sorted({1, 2, cores}):
            seconds = timed(lambda j=jobs: lint_paths(files, config, cache=False, jobs=j))
            report(f"scaling --jobs {jobs}", f"{seconds:.2f} s, {lines / seconds:,.0f} lines/s "
                   f"(x{single / seconds:.2f} vs -j1)")

        cold = timed(lambda: lint_paths(files, config, cache=True))
        warm = timed(lambda: lint_paths(files, config, cache=True))
        report("cache cold (fills .mltrack_cache)", f"{cold:.2f} s")
        report("cache warm (target <= 10% of cold)", f"{warm:.3f} s = {100 * warm / cold:.1f}% of cold")

        repo = make_repo(work / "repo", args.repo_files)
        subprocess.run([str(BIN / "mltrack-lint"), "--exit-zero", "."], cwd=repo,
                       stdout=subprocess.DEVNULL, check=True)
        changed = repo / "pkg" / "job_0007.py"
        changed.write_text(changed.read_text() + "\nEXTRA = 1\n")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        pre_commit = run_process([str(BIN / "mltrack-lint"), str(changed.relative_to(repo))], repo)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        report(f"pre-commit: one changed file in a {args.repo_files}-file repo (target < 1 s)",
               f"{pre_commit:.2f} s wall, {cpu:.2f} s CPU (load average {os.getloadavg()[0]:.1f})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    main()
