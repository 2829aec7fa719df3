"""Output formats render the same data: text, JSON, SARIF 2.1.0 (GitHub code scanning's
essentials), GitHub Actions annotations."""

from __future__ import annotations

import json

import pytest

from mltrack.lint.engine import LintRun
from mltrack.lint.filelint import FileResult
from mltrack.lint.formats import render, statistics
from mltrack.lint.formats.github import annotation, escape_data
from mltrack.model import Edit, Finding, Fix, Location

SEED = Finding(
    "MLT001", "missing-seed", "this file trains with randomness from torch but never seeds it",
    Location("src/train.py", 4, 9, 4, 24),
    Fix("Seed every generator the file uses", (Edit(3, 0, 3, 0, "torch.manual_seed(0)\n"),)),
)
HPARAM = Finding("MLT004", "unlogged-hyperparameters", "`lr` is never logged, 100%: a,b",
                 Location("nb.ipynb", 2, 5, 2, 8, cell=2))
UNUSED = Finding("MLT100", "unused-suppression", "unused `noqa` directive for MLT001",
                 Location("src/train.py", 9, 10, 9, 11), severity="warning")


def a_run(*findings: Finding) -> LintRun:
    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        by_path.setdefault(f.location.path, []).append(f)
    return LintRun([FileResult(p, tuple(fs), 10) for p, fs in by_path.items()], jobs=1)


def test_text_lines_and_summary() -> None:
    out = render(a_run(SEED, UNUSED, HPARAM), "text")
    lines = out.splitlines()
    assert lines[0] == ("src/train.py:4:9: MLT001 [missing-seed] [*] this file trains with "
                        "randomness from torch but never seeds it")
    assert lines[2].startswith("nb.ipynb:cell 3:2:5: MLT004 [unlogged-hyperparameters] ")
    assert lines[-1] == "Found 2 findings and 1 warning in 2 files (1 fixable with `--fix`)."
    assert render(a_run(), "text") == "All checks passed (0 files checked).\n"


def test_statistics_count_by_rule() -> None:
    rows = statistics([SEED, SEED, HPARAM])
    assert rows == [
        {"code": "MLT001", "name": "missing-seed", "count": 2, "fixable": 2},
        {"code": "MLT004", "name": "unlogged-hyperparameters", "count": 1, "fixable": 0},
    ]
    text = render(a_run(SEED, HPARAM), "text", statistics=True)
    assert "    1  MLT001  [*] missing-seed" in text
    assert json.loads(render(a_run(SEED), "json", statistics=True))[0]["count"] == 1


def test_json_objects_have_the_contract_keys() -> None:
    data = json.loads(render(a_run(SEED, HPARAM), "json"))
    for item in data:
        assert {"path", "line", "column", "end_line", "end_column", "code", "name", "message", "fix"} <= set(item)
    assert data[0]["fix"] == {
        "title": "Seed every generator the file uses",
        "applicability": "safe",
        "edits": [{"line": 3, "column": 1, "end_line": 3, "end_column": 1,
                   "content": "torch.manual_seed(0)\n"}],
    }
    assert data[1]["fix"] is None and data[1]["cell"] == 3


def test_sarif_has_what_github_code_scanning_requires() -> None:
    log = json.loads(render(a_run(SEED, HPARAM, UNUSED), "sarif"))
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "mltrack-lint" and driver["version"]
    ids = [rule["id"] for rule in driver["rules"]]
    assert len(ids) == len(set(ids)) and "MLT001" in ids
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["defaultConfiguration"]["level"] in ("error", "warning")
    assert len(run["results"]) == 3
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note", "none")
        assert result["message"]["text"]
        [location] = result["locations"]
        physical = location["physicalLocation"]
        assert not physical["artifactLocation"]["uri"].startswith("/")
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        region = physical["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert region["endLine"] >= region["startLine"]
    assert run["results"][0]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 4, "startColumn": 9, "endLine": 4, "endColumn": 24}
    assert "%SRCROOT%" in run["originalUriBaseIds"]


def test_github_annotations_escape_data_and_properties() -> None:
    from mltrack.lint.formats import finding_record

    line = annotation(finding_record(HPARAM))
    assert line.startswith("::error file=nb.ipynb,line=2,col=5,endLine=2,endColumn=8,"
                           "title=MLT004 unlogged-hyperparameters::")
    assert line.endswith("cell 3, line 2: `lr` is never logged, 100%25: a,b")
    assert escape_data("a\nb\r%") == "a%0Ab%0D%25"
    assert render(a_run(UNUSED), "github").startswith("::warning ")


def test_unknown_format_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render(a_run(), "xml")
