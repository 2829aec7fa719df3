"""The lint corpus (fixtures/lint/): realistic training scripts, helper modules and notebooks,
each with its expected findings in a sidecar `<file>.expected` (`LINE:COL CODE`, or
`cellN:LINE:COL CODE` for notebooks; an empty file means "clean"). Each sub-folder is linted as
its own project through the real engine, so helpers in other modules count.

Exact comparison first; then per-rule precision and recall (matched on file, cell, line and
code), printed and held to precision >= 0.95 and recall >= 0.90.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mltrack.lint.registry import RULES
from mltrack.lint.config import LintConfig
from mltrack.lint.engine import lint_paths

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "lint"
RULE_CODES = {rule.code for rule in RULES}
Key = tuple[str, int | None, int, int, str]  # file, cell, line, column, code


def _expected() -> set[Key]:
    found: set[Key] = set()
    for sidecar in sorted(CORPUS.rglob("*.expected")):
        source = sidecar.with_suffix("")
        rel = source.relative_to(CORPUS).as_posix()
        for row in sidecar.read_text().splitlines():
            row = row.split("#", 1)[0].strip()
            if not row:
                continue
            position, code = row.split()
            parts = position.split(":")
            cell = int(parts.pop(0)[4:]) if parts[0].startswith("cell") else None
            found.add((rel, cell, int(parts[0]), int(parts[1]), code))
    return found


def _lint(paths: list[Path], root: Path) -> set[Key]:
    found: set[Key] = set()
    run = lint_paths(paths, LintConfig(root=str(root)), jobs=1, cache=False)
    for finding in run.findings:
        assert finding.code != "MLT000", finding  # no internal error on any corpus file
        if finding.code not in RULE_CODES:
            continue  # engine notices (unused suppression, skipped file) are not rules
        location = finding.location
        rel = Path(location.path).resolve().relative_to(CORPUS).as_posix()
        found.add((rel, location.cell, location.line, location.column, finding.code))
    return found


@pytest.fixture(scope="module")
def actual() -> set[Key]:
    found: set[Key] = set()
    for group in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        found |= _lint([group], group)
    return found


def test_the_project_root_does_not_change_findings(actual: set[Key]) -> None:
    """`import utils` in helpers_project/train.py finds helpers_project/utils.py whether the
    project root is that folder or the corpus above it (a script's folder is on sys.path)."""
    assert _lint([CORPUS], CORPUS) == actual


def test_corpus_is_large_and_every_file_has_expectations() -> None:
    sources = [p for p in CORPUS.rglob("*") if p.suffix in (".py", ".ipynb")]
    assert len(sources) >= 40
    missing = [p for p in sources if not Path(f"{p}.expected").exists()]
    assert not missing, f"no sidecar for {missing}"
    assert any(p.suffix == ".ipynb" for p in sources)
    exercised = {key[-1] for key in _expected()}
    assert exercised == RULE_CODES, f"rules without a corpus case: {RULE_CODES - exercised}"


def test_corpus_matches_expected_exactly(actual: set[Key]) -> None:
    expected = _expected()
    unexpected = sorted(actual - expected, key=str)
    missed = sorted(expected - actual, key=str)
    assert not unexpected and not missed, f"unexpected: {unexpected}\nmissed: {missed}"


def test_corpus_precision_and_recall_per_rule(actual: set[Key], capsys) -> None:
    def loose(keys: set[Key]) -> set[tuple]:
        return {(k[0], k[1], k[2], k[4]) for k in keys}

    expected, got = loose(_expected()), loose(actual)
    true_pos = Counter(k[-1] for k in expected & got)
    want, have = Counter(k[-1] for k in expected), Counter(k[-1] for k in got)
    rows, failures = [], []
    for code in sorted(RULE_CODES):
        precision = true_pos[code] / have[code] if have[code] else 1.0
        recall = true_pos[code] / want[code] if want[code] else 1.0
        rows.append(f"{code}  expected={want[code]:3d}  found={have[code]:3d}  "
                    f"precision={precision:.2f}  recall={recall:.2f}")
        if precision < 0.95 or recall < 0.90:
            failures.append(code)
    with capsys.disabled():
        print("\nlint corpus, per rule:\n" + "\n".join(rows))
    assert not failures, failures
