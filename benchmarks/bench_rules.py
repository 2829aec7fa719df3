"""What the rules cost on top of parsing: `analyze_source` versus a bare `libcst.parse_module`.

Runs over installed library sources (torch, mlflow, pandas), interleaving the two per file and
measuring CPU time so that other processes on a shared machine do not skew the ratio. Also
reports the share of each stage (parse, facts walk, rules, positions) for the files that are
analysed. Usage: python benchmarks/bench_rules.py [MAX_FILES]   (default 400)
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

import libcst as cst

from mltrack.lint.analyze import analyze_source
from mltrack.lint.registry import RULES
from mltrack.lint.context import FileContext


def _sources(limit: int) -> list[tuple[str, str]]:
    import mlflow
    import pandas
    import torch

    files: list[tuple[str, str]] = []
    roots = [Path(m.__file__).parent for m in (torch, mlflow, pandas)]
    per_root = max(1, limit // len(roots))
    for root in roots:
        taken = 0
        for path in sorted(root.rglob("*.py")):
            if taken >= per_root:
                break
            try:
                files.append((str(path), path.read_text(encoding="utf-8")))
                taken += 1
            except (OSError, UnicodeDecodeError):
                continue
    return files


def main(limit: int) -> None:
    files = _sources(limit)
    lines = sum(text.count("\n") for _, text in files)
    parse = parse_no_gc = analyze = 0.0
    stages = {"parse": 0.0, "facts": 0.0, "rules": 0.0}
    analysed = 0
    for path, text in files:
        start = time.process_time()
        try:
            module = cst.parse_module(text)
        except Exception:
            module = None
        parse += time.process_time() - start
        gc.disable()  # analyze_source runs with the cyclic GC off: compare with a parse that does too
        start = time.process_time()
        try:
            cst.parse_module(text)
        except Exception:
            pass
        parse_no_gc += time.process_time() - start
        gc.enable()
        start = time.process_time()
        analyze_source(text, path)
        analyze += time.process_time() - start
        if module is None:
            continue
        start = time.process_time()
        ctx = FileContext.build(text, path, module)
        if ctx is None:
            continue
        ctx.file_effects  # noqa: B018 - forces the walk and the effects
        stages["facts"] += time.process_time() - start
        start = time.process_time()
        for rule in RULES:
            list(rule().check(ctx))
        stages["rules"] += time.process_time() - start
        analysed += 1
    print(f"files: {len(files)} ({analysed} import an ML/tracking library), lines: {lines}")
    print(f"bare libcst.parse_module: {parse:.2f} s CPU = {lines / parse:,.0f} lines/s")
    print(f"analyze_source (parse + facts + 14 rules): {analyze:.2f} s CPU = {lines / analyze:,.0f} lines/s")
    print(f"bare parse with the cyclic GC off: {parse_no_gc:.2f} s CPU = {lines / parse_no_gc:,.0f} lines/s")
    print(f"ratio analyze/parse: {analyze / parse:.2f}  (target <= 1.5); "
          f"versus the GC-off parse: {analyze / parse_no_gc:.2f}")
    print(f"on analysed files: facts+effects {stages['facts']:.2f} s, rules {stages['rules']:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
