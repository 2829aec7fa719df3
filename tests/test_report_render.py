"""report.json -> markdown / JUnit / HTML, with no store at all: golden files, the JUnit schema
CI systems read, schema validation, the trend between audits and the progress output.

Inputs are recorded audits (`tests/golden/audit-*.json`, written by `mltrack audit` on a seeded
store; `audit-statuses.json` is the failing one with three results edited so every status and
some markup-breaking characters occur). Regenerate the golden outputs after an intended change
with `MLTRACK_UPDATE_GOLDEN=1 pytest tests/test_report_render.py`.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import xmlschema

from mltrack.report.audit_html import render_audit_html
from mltrack.report.junit import render_junit
from mltrack.report.markdown import render_markdown
from mltrack.report.progress import ProgressPrinter
from mltrack.report.schema import ReportError, load, validate_report
from mltrack.report.trend import HISTORY, compute_trend
from mltrack.report.writer import render_directory, write_audit

GOLDEN = Path(__file__).parent / "golden"
INPUTS = ("audit-pass", "audit-fail-trend", "audit-statuses")
JUNIT_XSD = xmlschema.XMLSchema(str(GOLDEN / "junit-10.xsd"))


def _recorded(name: str) -> dict:
    return load(GOLDEN / f"{name}.json")


def _golden(path: Path, text: str) -> None:
    if os.environ.get("MLTRACK_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"missing golden file {path.name}; run with MLTRACK_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} changed; review and regenerate"


@pytest.mark.parametrize("name", INPUTS)
def test_markdown_matches_golden(name: str) -> None:
    _golden(GOLDEN / f"{name}.md", render_markdown(_recorded(name)))


@pytest.mark.parametrize("name", INPUTS)
def test_junit_matches_golden_and_validates(name: str) -> None:
    text = render_junit(_recorded(name))
    _golden(GOLDEN / f"{name}.junit.xml", text)
    JUNIT_XSD.validate(text)


def test_junit_maps_every_status() -> None:
    root = ET.fromstring(render_junit(_recorded("audit-statuses")))
    suite = root.find("testsuite")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert len(cases) == 10 and suite.get("tests") == "10"
    assert cases["rollback"].find("failure").get("type") == "MLP05"
    assert "previous production version cannot be identified" in cases["rollback"].find("failure").text
    assert cases["prediction-audit"].find("error") is not None
    assert cases["hparam-search"].find("skipped") is not None
    assert cases["multi-user"].find("system-out").text.startswith("WARNING:")
    assert list(cases["recovery"]) == []  # a pass is an empty test case
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("1", "1", "1")


def test_schema_rejects_what_the_validator_does() -> None:
    bad = JUNIT_XSD.is_valid('<testsuites><testsuite name="x"><testcase/></testsuite></testsuites>')
    assert not bad  # the XSD is not vacuous: tests= and name= are required


def test_html_renders_from_json_only_and_escapes() -> None:
    page = render_audit_html(_recorded("audit-statuses"))
    assert page.startswith("<!DOCTYPE html>")
    assert '&lt;model&gt; &amp; &quot;quotes&quot;' in page and "<model>" not in page
    assert 'id="check-rollback"' in page and "http://" not in page.replace("http://www.w3.org", "")


def test_render_directory_from_a_recorded_file_without_a_store(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text((GOLDEN / "audit-fail-trend.json").read_text())
    written = render_directory(tmp_path)
    assert sorted(p.name for p in written) == ["junit.xml", "report.html", "report.md"]
    assert "Newly failing: `rollback`" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("results"), "lacks 'results'"),
    (lambda d: d.update(schema_version=99), "schema_version 99"),
    (lambda d: d["results"][0].update(status="great"), "is not one of"),
    (lambda d: d.update(summary=[]), "summary must be dict"),
])
def test_validate_report_names_the_problem(mutate, message: str) -> None:
    data = _recorded("audit-pass")
    mutate(data)
    with pytest.raises(ReportError, match=message):
        validate_report(data)


def test_unreadable_report_is_a_clean_error(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text("{not json")
    with pytest.raises(ReportError, match="not valid JSON") as info:
        render_directory(tmp_path)
    assert info.value.exit_code == 2


def test_trend_names_new_failures_fixes_and_number_moves() -> None:
    before, after = _recorded("audit-pass"), _recorded("audit-statuses")
    after["summary"]["runs"] = before["summary"]["runs"] + 7
    trend = compute_trend(before, after, "history/x.json")
    assert trend["newly_failing"] == ["rollback", "prediction-audit"]
    assert trend["fixed"] == [] and trend["still_failing"] == []
    assert trend["numbers"]["runs"]["delta"] == 7
    back = compute_trend(after, before, "history/y.json")
    assert back["fixed"] == ["rollback", "prediction-audit"] and back["newly_failing"] == []


def test_write_audit_keeps_every_earlier_report(tmp_path: Path) -> None:
    first = _recorded("audit-pass")
    written = write_audit(first, tmp_path)
    assert written["trend"] is None
    second = _recorded("audit-statuses")
    second["created_at"] = first["created_at"]  # same second: must not overwrite the first
    written = write_audit(second, tmp_path)
    history = sorted(p.name for p in (tmp_path / HISTORY).iterdir())
    assert len(history) == 2 and history[0] != history[1]
    assert written["trend"]["newly_failing"] == ["rollback", "prediction-audit"]
    assert json.loads((tmp_path / "report.json").read_text())["trend"]["previous"].startswith("history/")
    assert json.loads((tmp_path / HISTORY / history[0]).read_text())["summary"]["fail"] == 0


def test_progress_is_a_bar_on_a_terminal_and_lines_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    plain = ProgressPrinter(stream, interactive=False)
    plain(1, 10, "check recovery: pass")
    plain(1, 10, "check recovery: pass")  # repeated steps print once
    assert stream.getvalue() == "mltrack: [1/10] check recovery: pass\n"
    bar_stream = io.StringIO()
    bar = ProgressPrinter(bar_stream, interactive=True)
    bar(5, 10, "check rollback: pass")
    bar.finish()
    assert bar_stream.getvalue().startswith("\r[" + "#" * 14 + "-" * 14 + "] 5/10")
    monkeypatch.setenv("CI", "true")

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert ProgressPrinter(Tty()).interactive is False  # CI=true wins over a tty
