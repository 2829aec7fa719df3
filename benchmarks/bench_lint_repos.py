"""Whole-repository mltrack-lint against a bare parse of the same files, one job, no cache.

    python benchmarks/bench_lint_repos.py [TREE ...] [--generate N] [--repeat R] [--profile OUT]

Each TREE (default: every repository the corpus scorer extracted into ~/.cache/mltrack-corpus,
when present, plus the generated project with `--generate`) is linted whole, in process, with `lint_paths([tree], jobs=1, cache=False)` - what
`mltrack-lint --no-cache -j1 .` does after start-up - and, in the same run, every file the linter
discovered is given to a bare `libcst.parse_module` (a notebook: its code cells' program). The ratio of the two is the figure the
linter is held to (target <= 1.3). `--generate N` adds a synthetic project of N modules that
import each other's helpers (seeding, logging, saving, data reading), so the cross-module index
is exercised without any downloaded code. Each of `--repeat` rounds times one bare parse and
one lint of a tree back to back (so a change of the machine's load hits both sides); the best of
each side is kept and every round's own ratio printed, the spread to report. Times are CPU
seconds of the benchmark process, so other work on the machine does not count in them.
`--profile OUT` writes a cProfile of one lint run over all trees to OUT. `--instructions` counts
the instructions of one lint and one bare parse of each tree under valgrind instead: a figure a
loaded machine does not move (slow: minutes a tree).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

CORPUS_CACHE = Path(os.environ.get("MLTRACK_CORPUS_CACHE", Path.home() / ".cache" / "mltrack-corpus"))


# --------------------------------------------------------------------------- synthetic project

_HELPER = '''"""Helpers of package {pkg}, module {mod}."""
import os
import random

import numpy as np
import torch
{imports}

LEARNING_RATE = 0.{n:03d}


def seed_everything_{n}(seed=0):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def log_metrics_{n}(run, step, **values):
    for key, value in values.items():
        run.log_metric(key, value, step=step)


def save_checkpoint_{n}(state, is_best, filename="checkpoint_{n}.pth.tar"):
    torch.save(state, filename)
    if is_best:
        torch.save(state, os.path.join("out", "best_{n}.pth"))


def read_table_{n}(path="data/train_{n}.csv"):
    import pandas as pd
    return pd.read_csv(path)


class Meter{n}:
    def __init__(self, name):
        self.name = name
        self.total = 0.0
        self.count = 0

    def update(self, value, count=1):
        self.total += value * count
        self.count += count

    @property
    def average(self):
        return self.total / max(self.count, 1)

    def __str__(self):
        return f"{{self.name}} {{self.average:.4f}}"


def train_step_{n}(model, batch, optimizer, loss_fn):
    optimizer.zero_grad()
    inputs, targets = batch
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    optimizer.step()
    return loss.item()
{calls}
'''

_SCRIPT = '''"""Entry point {n}."""
import argparse

import mlflow
import torch
{imports}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
{body}
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    with mlflow.start_run() as run:
        for epoch in range(args.epochs):
            loss = 0.0
            print(f"epoch {{epoch}} loss {{loss}}")
        torch.save(model.state_dict(), "model.pt")


if __name__ == "__main__":
    main()
'''


def generate_project(folder: Path, modules: int) -> Path:
    """`modules` helper modules in nested packages, each importing a few earlier ones and calling
    their helpers, plus one training script per ten modules that imports several of them."""
    packages = max(1, modules // 25)
    names: list[tuple[str, str]] = []  # (package path, module name)
    for n in range(modules):
        pkg = f"proj/pkg{n % packages}/sub{(n // packages) % 3}"
        names.append((pkg, f"helpers_{n}"))
    for n, (pkg, mod) in enumerate(names):
        target = folder / pkg
        target.mkdir(parents=True, exist_ok=True)
        for parent in [target, *target.relative_to(folder).parents]:
            if str(parent) != ".":
                (folder / parent / "__init__.py").touch()
        deps = [d for d in (n - 1, n - 7, n - 31, n // 2) if 0 <= d < n]
        imports = "\n".join(
            f"from {names[d][0].replace('/', '.')}.{names[d][1]} import seed_everything_{d}, "
            f"Meter{d}" for d in deps)
        calls = "".join(
            f"\n\ndef use_{d}_from_{n}():\n    seed_everything_{d}(1)\n    return Meter{d}('x')\n"
            for d in deps)
        (target / f"{mod}.py").write_text(
            _HELPER.format(pkg=pkg, mod=mod, n=n, imports=imports, calls=calls))
    scripts = folder / "scripts"
    scripts.mkdir(exist_ok=True)
    for s in range(0, modules, 10):
        used = [d for d in (s, s + 3, s + 9) if d < modules]
        imports = "\n".join(f"from {names[d][0].replace('/', '.')}.{names[d][1]} import "
                            f"seed_everything_{d}, log_metrics_{d}, save_checkpoint_{d}, "
                            f"read_table_{d}" for d in used)
        body = "\n".join(f"    seed_everything_{d}(0)\n    frame_{d} = read_table_{d}()"
                         for d in used)
        (scripts / f"train_{s}.py").write_text(_SCRIPT.format(n=s, imports=imports, body=body))
    return folder


# --------------------------------------------------------------------------- measuring

def lint_tree(tree: Path):
    from mltrack.lint.config import LintConfig
    from mltrack.lint.engine import lint_paths

    return lint_paths([tree], LintConfig(root=str(tree)), jobs=1, cache=False)


def tree_files(tree: Path) -> list[Path]:
    from mltrack.lint.config import LintConfig
    from mltrack.lint.discover import discover

    return [p for p in discover([tree], LintConfig(root=str(tree))) if p.suffix in (".py", ".ipynb")]


def bare_parse(files: list[Path], parse=None) -> None:
    """The floor: one `libcst.parse_module` per file (of a notebook: of its code cells joined,
    which is the program the linter parses). `parse` swaps in another parser (the linter's own,
    `cstparse.parse_module`, to show how much of the lint is parsing)."""
    import libcst

    from mltrack.lint.notebook import read_notebook

    parse = parse or libcst.parse_module
    for path in files:
        try:
            data = path.read_bytes()
            if path.suffix == ".ipynb":
                data = read_notebook(data.decode("utf-8")).source
            parse(data)
        except Exception:  # noqa: BLE001 - the floor only measures parsing
            pass


def cpu_seconds(func) -> float:
    """CPU seconds of this process (the machine may be shared: wall time would count others)."""
    start = time.process_time()
    func()
    return time.process_time() - start


def paired(repeat: int, parse, lint) -> tuple[float, float, list[float]]:
    """The best parse and lint times of `repeat` rounds, each round timing one parse of the tree
    and one lint right after it, and each round's ratio. On a loaded machine CPU time itself
    swings by a third from minute to minute (contention for caches and cores): timing all the
    parses, then all the lints, measured the load as much as the linter."""
    parses, lints = [], []
    for _ in range(repeat):
        parses.append(cpu_seconds(parse))
        lints.append(cpu_seconds(lint))
    return min(parses), min(lints), [li / pa for pa, li in zip(parses, lints)]


def measure(trees: list[Path], repeat: int) -> None:
    import mltrack.lint.analyze  # noqa: F401 - imports out of the timings
    from mltrack.lint.cstparse import parse_module as unchecked

    def own_parse(files: list[Path]) -> None:  # str, as the linter hands its parser
        bare_parse(files, lambda data: unchecked(data.decode("utf-8", "replace")
                                                 if isinstance(data, bytes) else data))

    lint_tree(trees[0])  # warm imports and lazy tables once
    total_lint = total_parse = total_own = 0.0
    total_files = total_lines = 0
    for tree in trees:
        files = tree_files(tree)
        lines = sum(p.read_bytes().count(b"\n") for p in files if p.suffix == ".py")
        parse, lint, rounds = paired(repeat, lambda: bare_parse(files), lambda: lint_tree(tree))
        own = min(cpu_seconds(lambda: own_parse(files)) for _ in range(repeat))
        total_lint += lint
        total_parse += parse
        total_own += own
        total_files += len(files)
        total_lines += lines
        spread = ", ".join(f"{r:.2f}" for r in sorted(rounds))
        spread += f"; median {statistics.median(rounds):.2f}"
        print(f"{tree.name}: files {len(files)}, .py lines {lines}, parse {parse:.3f} s, "
              f"lint {lint:.3f} s, ratio {lint / parse:.2f} (rounds: {spread}); the linter's own "
              f"parse (no node checks) {own:.3f} s, its work beyond parsing {lint - own:.3f} s",
              flush=True)
    print(f"all trees: files {total_files}, .py lines {total_lines}, parse {total_parse:.3f} s, "
          f"lint {total_lint:.3f} s")
    print(f"ratio_lint_to_parse: {total_lint / total_parse:.2f} (target <= 1.3)")
    print(f"the linter's own parse (cstparse, no per-node checks): {total_own / total_parse:.2f} "
          f"of a bare parse; its work beyond parsing: {(total_lint - total_own) / total_parse:.2f} "
          f"of a bare parse")


# --------------------------------------------------------------------------- instructions

def run_once(mode: str, tree: Path) -> None:
    """One process's work for `--instructions`: warm up on one small file (imports, lazy
    tables), then one bare parse or one lint of the tree, or nothing (the baseline)."""
    import mltrack.lint.analyze  # noqa: F401

    files = tree_files(tree)
    with tempfile.TemporaryDirectory(prefix="mltrack-bench-warm-") as warm:
        small = next((p for p in files if p.suffix == ".py" and p.stat().st_size > 200), files[0])
        (Path(warm) / "warm.py").write_bytes(small.read_bytes())
        lint_tree(Path(warm))
        bare_parse([Path(warm) / "warm.py"])
    if mode == "parse":
        bare_parse(files)
    elif mode == "lint":
        lint_tree(tree)


def instructions(trees: list[Path]) -> int:
    """Instructions executed (valgrind's callgrind) by a lint and by a bare parse of each tree,
    beyond the same process doing neither: the same on a busy machine as on an idle one, where
    CPU seconds swing by a third. Slow (the program runs ~50x slower under valgrind)."""
    import re
    import shutil
    import subprocess

    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("--instructions needs valgrind on PATH", file=sys.stderr)
        return 2

    def counted(mode: str, tree: Path) -> int:
        done = subprocess.run(
            [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
             __file__, "--run-once", mode, str(tree)], capture_output=True, text=True, check=True)
        return int(re.search(r"Collected : (\d+)", done.stderr).group(1))  # type: ignore[union-attr]

    for tree in trees:
        base = counted("none", tree)
        parse, lint = counted("parse", tree) - base, counted("lint", tree) - base
        print(f"{tree.name}: instructions parse {parse / 1e9:.2f} G, lint {lint / 1e9:.2f} G, "
              f"ratio {lint / parse:.3f}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="*", type=Path)
    parser.add_argument("--generate", type=int, default=0, metavar="N",
                        help="add a generated project of N inter-importing modules")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the lint runs here")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions under valgrind instead of timing (slow)")
    parser.add_argument("--run-once", nargs=2, metavar=("MODE", "TREE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_once:
        run_once(args.run_once[0], Path(args.run_once[1]))
        return 0

    trees = list(args.trees)
    if not trees and CORPUS_CACHE.is_dir():
        # not hidden folders: a lint run with `--config` there leaves its .mltrack_cache
        trees = sorted(p for p in CORPUS_CACHE.iterdir() if p.is_dir() and not p.name.startswith("."))
    with tempfile.TemporaryDirectory(prefix="mltrack-bench-repo-") as scratch:
        if args.generate:
            trees.append(generate_project(Path(scratch) / "generated", args.generate))
        if not trees:
            print("no trees: pass paths, run benchmarks/lint_corpus.py first, or use --generate N",
                  file=sys.stderr)
            return 2
        if args.profile:
            import cProfile

            lint_tree(trees[0])
            profiler = cProfile.Profile()
            profiler.enable()
            for tree in trees:
                lint_tree(tree)
            profiler.disable()
            profiler.dump_stats(args.profile)
            print(f"profile: {args.profile}")
            return 0
        if args.instructions:
            return instructions(trees)
        measure(trees, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
