"""Store text cannot attack the outputs (issue 9, item 5).

Anyone who can log a run chooses experiment names, run names, users, params and tags. The
hostile strings below go through every output, and each output is checked with a real parser
or renderer: junit.xml with an XML parser and the JUnit XSD, report.md with markdown-it (raw
HTML enabled, as GitHub and most viewers render it), the HTML pages with html.parser, and the
terminal byte by byte. The end-to-end tests build the store with plain MLflow code
(fixtures/stores/hostile_names.py) and run the real `mltrack audit`, `mltrack report` and
`pytest --tracking-uri`.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
import xmlschema
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from fixtures.stores.hostile_names import BEST_RUN_NAME, HOSTILE
from mltrack.model import CheckResult, Status
from mltrack.pressure.render import format_result
from mltrack.report.audit_html import render_audit_html
from mltrack.report.junit import render_junit
from mltrack.report.markdown import render_markdown
from mltrack.report.progress import ProgressPrinter
from mltrack.report.schema import load
from mltrack.textsafe import for_markdown, for_terminal, for_xml, markdown_code, markdown_fence
from tests.support.hostile_store import hostile_store

GOLDEN = Path(__file__).parent / "golden"
JUNIT_XSD = xmlschema.XMLSchema(str(GOLDEN / "junit-10.xsd"))
MLTRACK = Path(sys.executable).with_name("mltrack")
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
# Every byte a terminal could act on, except the newline mltrack lays out itself.
RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]")
ALL_HOSTILE = "".join(HOSTILE.values())
DANGEROUS_CHARS = "<>&\"'\\`*_[]()!#|~-+.:= \n\r\t\x00\x01\x07\x0b\x1b\x7f\x85\x9b\u202e\u2028\u200bab1"


def markdown_html(text: str) -> str:
    """Render as a permissive viewer would: CommonMark with raw HTML on, plus GFM tables."""
    return MarkdownIt("commonmark").enable("table").render(text)


class Tags(HTMLParser):
    """Start tags with their attributes, and the text, of an HTML document."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def count(self, name: str) -> int:
        return sum(1 for tag, _ in self.tags if tag == name)

    @property
    def all_text(self) -> str:
        return "".join(self.text)


# --- textsafe, property-based -----------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.text())
@example(ALL_HOSTILE)
def test_terminal_text_holds_no_control_character(text: str) -> None:
    safe = for_terminal(text)
    assert not RAW_CONTROL.search(safe.replace("\t", "\\x09")), repr(safe)
    assert "\n" not in safe and not re.search(r"[\ud800-\udfff]", safe)
    safe.encode("utf-8")  # lone surrogates would raise when printed


@settings(max_examples=300, deadline=None)
@given(st.text())
@example(ALL_HOSTILE)
def test_xml_text_always_parses_back(text: str) -> None:
    element = ET.Element("case", {"message": for_xml(text)})
    element.text = for_xml(text)
    parsed = ET.fromstring(ET.tostring(element, encoding="unicode"))
    assert (parsed.text or "") == for_xml(text).replace("\r\n", "\n").replace("\r", "\n")  # XML normalises line ends
    assert "\x1b" not in parsed.get("message")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(DANGEROUS_CHARS), max_size=40))
@example(ALL_HOSTILE)
@example("[link](javascript:alert(1)) ![img](x) <http://evil> &lt;b&gt; \\| *em* __b__ ~~s~~")
def test_markdown_inline_renders_as_exactly_the_text(text: str) -> None:
    """In a paragraph and in a table cell, the rendered text is the input (controls made
    visible) and the HTML holds no tag but the paragraph's or the table's own."""
    shown = for_terminal(text)
    para = Tags(markdown_html(f"x {for_markdown(text)} y"))
    assert [t for t, _ in para.tags] == ["p"], para.tags
    assert para.all_text.strip("\n") == f"x {shown} y"
    table = Tags(markdown_html(f"| h | i |\n|---|---|\n| x {for_markdown(text)} y | z |"))
    assert {t for t, _ in table.tags} == {"table", "thead", "tbody", "tr", "th", "td"}, table.tags
    assert table.count("td") == 2 and all(not attrs for _, attrs in table.tags)
    assert f"x {shown} y" in table.text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(DANGEROUS_CHARS), max_size=40))
@example("``")
@example("` a `")
def test_markdown_code_span_and_fence_hold_any_text(text: str) -> None:
    shown = for_terminal(text)
    span = Tags(markdown_html(f"x {markdown_code(text)} y"))
    assert [t for t, _ in span.tags] == ["p", "code"], span.tags
    code = span.text[1] if len(span.text) > 2 else ""
    assert code.strip(" ") == shown.strip(" ") or (not shown.strip(" ") and not code.strip(" "))
    block = "\n".join(["before", "", *markdown_fence(f"{text}\n```\n{text}", "json"), "", "after"])
    fenced = Tags(markdown_html(block))
    assert [t for t, _ in fenced.tags] == ["p", "pre", "code", "p"], fenced.tags


# --- renderers on a recorded report whose every string is hostile ------------------------------

def _hostile_report() -> dict:
    report = copy.deepcopy(load(GOLDEN / "audit-statuses.json"))
    report["uri"] = f"sqlite:///tmp/{ALL_HOSTILE}.db"
    report["server_version"] = HOSTILE["osc0"] + HOSTILE["img"]
    report["environment"]["python"] = HOSTILE["script"]
    hostile = list(HOSTILE.values())
    for index, result in enumerate(report["results"]):
        result["message"] = f"run {hostile[index % len(hostile)]} and {ALL_HOSTILE}"
        result["fix"] = f"rename {hostile[(index + 1) % len(hostile)]}"
        result["evidence"] = {"run_name": ALL_HOSTILE, HOSTILE["fence"]: hostile}
    return report


def test_junit_with_hostile_text_is_well_formed_and_valid() -> None:
    text = render_junit(_hostile_report())
    JUNIT_XSD.validate(text)
    root = ET.fromstring(text)
    failure = root.find(".//testcase[@name='rollback']/failure")
    assert HOSTILE["img"] in failure.get("message")  # shown as text, escaped by the serializer
    assert "\\x1b]52;c;aGVsbG8=\\x07" in failure.get("message") and "\x1b" not in text
    assert "\\x01" in failure.text and "\x01" not in text


def test_markdown_with_hostile_text_renders_no_store_html() -> None:
    report = _hostile_report()
    _assert_safe_markdown(render_markdown(report), report)


def test_audit_html_with_hostile_text_stays_escaped() -> None:
    _assert_safe_html(render_audit_html(_hostile_report()))


def test_terminal_result_cannot_forge_lines() -> None:
    result = CheckResult(code="MLP01", name="recovery", status=Status.FAIL, message=ALL_HOSTILE,
                         evidence={"run": ALL_HOSTILE, HOSTILE["osc52"]: [HOSTILE["osc0"], {"k": HOSTILE["colour"]}]},
                         fix=HOSTILE["heading"])
    text = format_result(result)
    assert not RAW_CONTROL.search(text), repr(text)
    assert not any(line.startswith("# injected") for line in text.splitlines())
    assert "\\x1b]52;c;aGVsbG8=\\x07" in text


@pytest.mark.parametrize("interactive", [True, False])
def test_progress_lines_show_escapes(interactive: bool) -> None:
    import io

    stream = io.StringIO()
    printer = ProgressPrinter(stream, interactive=interactive)
    printer(1, 2, f"experiment {HOSTILE['osc52']}")
    printer.finish()
    out = stream.getvalue().replace("\r", "").replace("\n", "")
    assert not RAW_CONTROL.search(out) and "\\x1b]52" in out


# --- the real commands on a store written by plain MLflow ----------------------------------------

@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory):
    return hostile_store(tmp_path_factory)


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    env.pop("MLTRACK_TRACKING_URI", None)
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _assert_terminal_safe(output: str) -> None:
    raw = sorted({c for c in output if RAW_CONTROL.match(c)})
    assert not raw, f"raw control characters reached the terminal: {raw}"
    assert not any(line.lstrip().startswith("# injected heading") for line in output.splitlines())


def test_audit_of_a_hostile_store(hostile, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    done = _run([str(MLTRACK), "audit", "--tracking-uri", hostile.uri, "--out", str(out),
                 "--config", str(hostile.policy), "--progress"], tmp_path)  # the bar too, though piped
    assert done.returncode == 1, done.stderr
    _assert_terminal_safe(done.stdout + done.stderr)
    assert "\\x1b]52;c;aGVsbG8=\\x07" in done.stdout and "\\x1b]0;pwned\\x07" in done.stdout
    assert "onerror=alert(1)" in done.stdout  # harmless in a terminal: shown as it is

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["results"][0]["evidence"]["best_run"]["name"] == BEST_RUN_NAME  # the data stays exact
    junit = (out / "junit.xml").read_text(encoding="utf-8")
    JUNIT_XSD.validate(junit)
    recovery = ET.fromstring(junit).find(".//testcase[@name='recovery']/failure")
    assert HOSTILE["script"] in recovery.get("message") and "\\x01" in recovery.text
    _assert_safe_markdown((out / "report.md").read_text(encoding="utf-8"), report)
    _assert_safe_html((out / "report.html").read_text(encoding="utf-8"))


def test_onboarding_report_of_a_hostile_store(hostile, tmp_path: Path) -> None:
    page = tmp_path / "onboarding.html"
    done = _run([str(MLTRACK), "report", "--tracking-uri", hostile.uri, "--out", str(page),
                 "--config", str(hostile.policy)], tmp_path)
    assert done.returncode == 0, done.stderr
    _assert_terminal_safe(done.stdout + done.stderr)
    text = _assert_safe_html(page.read_text(encoding="utf-8"))
    assert HOSTILE["fence"] + " #5" in text  # the experiment table names each hostile experiment


def test_pytest_plugin_on_a_hostile_store(hostile, tmp_path: Path) -> None:
    done = _run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--color=no", "-rA",
                 "--tracking-uri", hostile.uri, "--mltrack-config", str(hostile.policy)], tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output  # recovery, long-term-repro and onboarding fail
    _assert_terminal_safe(output)
    assert "\\x1b]52;c;aGVsbG8=\\x07" in output and "mltrack pressure suite" in output
    assert "MLP10 onboarding" in output and "FAIL" in output


# --- shared assertions ----------------------------------------------------------------------

_MD_TAGS = {"h1", "h2", "h3", "p", "ul", "li", "strong", "code", "a", "table", "thead", "tbody", "tr",
            "th", "td", "pre", "details", "summary"}


def _assert_safe_markdown(text: str, report: dict) -> None:
    rendered = markdown_html(text)
    doc = Tags(rendered)
    assert {tag for tag, _ in doc.tags} <= _MD_TAGS, {tag for tag, _ in doc.tags} - _MD_TAGS
    for tag, attrs in doc.tags:
        allowed = {"a": {"href"}, "th": {"style"}, "td": {"style"}, "code": {"class"}}.get(tag, set())
        assert set(attrs) <= allowed, (tag, attrs)
        if tag == "a":
            assert attrs["href"].startswith("#"), attrs
        if tag == "code" and attrs:
            assert attrs["class"] == "language-json"
    results = report["results"]
    sections = 3 + bool(report.get("assumptions"))  # "What was assumed" when zero config inferred any
    assert (doc.count("h1"), doc.count("h2"), doc.count("h3")) == (1, sections, len(results))
    assert doc.count("pre") == sum(1 for r in results if r.get("evidence"))  # no extra or open fence
    assert doc.count("details") == doc.count("pre")
    checks_table = next(t for t in re.findall(r"<table>.*?</table>", rendered, re.S) if "<th>verdict</th>" in t)
    rows = re.findall(r"<tr>(.*?)</tr>", checks_table.split("</thead>")[1], re.S)
    assert len(rows) == len(results), "store text added or merged a table row"
    assert all(row.count("<td") == 5 for row in rows), "a pipe in store text split a table cell"
    shown = doc.all_text
    assert HOSTILE["img"] in shown and HOSTILE["script"] in shown  # displayed as text
    assert "\\x1b]52;c;aGVsbG8=\\x07" in shown


def _assert_safe_html(page: str) -> str:
    doc = Tags(page)
    names = {tag for tag, _ in doc.tags}
    assert not names & {"script", "img", "iframe", "object", "embed", "link", "base", "form"}, names
    for tag, attrs in doc.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert not (attrs.get("href") or "#").lstrip().lower().startswith(("javascript", "http", "//"))
    metas = [attrs for tag, attrs in doc.tags if tag == "meta" and attrs.get("http-equiv")]
    assert metas and metas[0]["content"] == CSP
    shown = doc.all_text
    assert HOSTILE["img"] in shown and HOSTILE["script"] in shown and "\\x1b]52;c;aGVsbG8=\\x07" in shown
    assert not RAW_CONTROL.search(page.replace("\t", ""))
    return shown


def test_cleanup_listing_of_a_hostile_store(hostile, tmp_path: Path) -> None:
    """mltrack cleanup (owned elsewhere) lists run names: checked here with the same store."""
    done = _run([str(MLTRACK), "cleanup", "--tracking-uri", hostile.uri, "--keep-top", "0",
                 "--older-than", "0"], tmp_path)
    assert done.returncode == 0, done.stderr
    _assert_terminal_safe(done.stdout + done.stderr)
    assert "\\x1b]0;pwned\\x07" in done.stdout


def test_an_error_line_quoting_store_text_shows_escapes() -> None:
    import click
    from click.testing import CliRunner

    from mltrack.cli.common import handle_errors
    from mltrack.errors import StoreError

    @click.command()
    @handle_errors
    def command() -> None:
        raise StoreError(f"server answered: {ALL_HOSTILE}")

    result = CliRunner().invoke(command, [])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "\\x1b]52;c;aGVsbG8=\\x07" in result.stderr
    _assert_terminal_safe(result.stderr)
