"""`mltrack audit` end to end: the seeded reference store on a real `mlflow server`, every
`--break` store (the audit fails on exactly that check and says why), the trend between two
audits in one directory, bad input, and proof that auditing leaves the store unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xmlschema
from click.testing import CliRunner

from mltrack.cli import main
from mltrack.pressure.registry import CHECKS
from tests.support.dump import assert_unchanged, dump_store
from tests.support.mlflow_server import free_port, start_mlflow_server
from tests.support.stores import copy_store

JUNIT_XSD = Path(__file__).parent / "golden" / "junit-10.xsd"


def _audit(uri: str, out: Path, *extra: str):
    return CliRunner().invoke(main, ["audit", "--tracking-uri", uri, "--out", str(out), "--no-progress", *extra])


def _report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def test_reference_store_on_a_server_passes_and_is_unchanged(reference_store, tmp_path: Path) -> None:
    """Audit and onboarding report over HTTP change nothing; then (the server start is the
    expensive part, so the same server serves it) a rollback over HTTP moves production."""
    store = copy_store(reference_store, tmp_path / "store")
    server = start_mlflow_server(store.uri, store.artifacts_dir, tmp_path / "server")
    try:
        before = dump_store(store.db_path, store.artifacts_dir)
        result = _audit(server.url, tmp_path / "audit")
        page = CliRunner().invoke(main, ["report", "--tracking-uri", server.url, "--checks", "none",
                                         "--out", str(tmp_path / "o.html")])
        after = dump_store(store.db_path, store.artifacts_dir)
        rollback = CliRunner().invoke(main, ["rollback", "--tracking-uri", server.url, "--model",
                                             "mltrack-reference-classifier", "--yes"])
    finally:
        server.stop()
    assert page.exit_code == 0 and "Lineage: data" in (tmp_path / "o.html").read_text(), page.output
    assert rollback.exit_code == 0 and "-> version 2, verified by a static read" in rollback.output, rollback.output
    assert result.exit_code == 0, result.output
    report = _report(tmp_path / "audit")
    assert [r["status"] for r in report["results"]] == ["pass"] * 10, result.output
    assert report["uri"] == server.url and report["server_version"]
    assert report["summary"]["runs"] >= 130 and report["summary"]["users"] >= 3
    assert report["summary"]["reclaimable_bytes"] > 0
    for name in ("report.md", "report.html", "junit.xml"):
        assert (tmp_path / "audit" / name).stat().st_size > 500
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(tmp_path / "audit" / "junit.xml"))
    assert_unchanged(before, after)


@pytest.mark.parametrize("check", [c.name for c in CHECKS])
def test_break_store_fails_exactly_that_check(break_store, check: str, tmp_path: Path) -> None:
    store = break_store(check)
    before = dump_store(store.db_path, store.artifacts_dir)
    result = _audit(store.uri, tmp_path / "audit")
    assert_unchanged(before, dump_store(store.db_path, store.artifacts_dir))
    assert result.exit_code == 1, result.output
    report = _report(tmp_path / "audit")
    failing = [r["name"] for r in report["results"] if r["status"] in ("fail", "error")]
    assert failing == [check], result.output
    why = next(r for r in report["results"] if r["name"] == check)["message"]
    assert why in (tmp_path / "audit" / "report.md").read_text()
    assert f'name="{check}"' in (tmp_path / "audit" / "junit.xml").read_text()


def test_trend_between_two_audits_in_one_directory(small_reference_store, break_store, tmp_path: Path) -> None:
    out = tmp_path / "audit"
    assert _audit(small_reference_store.uri, out).exit_code == 0
    second = _audit(break_store("multi-user").uri, out)
    assert second.exit_code == 1
    trend = _report(out)["trend"]
    assert trend["newly_failing"] == ["multi-user"] and trend["fixed"] == []
    assert trend["numbers"]["users"]["before"] >= 3 and trend["numbers"]["users"]["after"] == 1
    assert len(list((out / "history").glob("report-*.json"))) == 2
    assert "newly failing multi-user" in second.output
    assert "Newly failing: `multi-user`" in (out / "report.md").read_text()


def test_monthly_runs_three_checks(small_reference_store, tmp_path: Path) -> None:
    result = _audit(small_reference_store.uri, tmp_path / "audit", "--checks", "monthly")
    assert result.exit_code == 0, result.output
    names = [r["name"] for r in _report(tmp_path / "audit")["results"]]
    assert names == ["data-change", "long-term-repro", "artifact-cleanup"]
    assert _report(tmp_path / "audit")["environment"]["checks_requested"] == "monthly"


@pytest.mark.parametrize("args, needle", [
    (["--tracking-uri", "http://127.0.0.1:{port}"], "127.0.0.1"),
    (["--tracking-uri", "sqlite:////nonexistent/mlflow.db"], "does not exist"),
    (["--tracking-uri", "postgresql://alice:s3cret@127.0.0.1:{port}/mlflow"], "alice:***@"),
    (["--tracking-uri", "sqlite:////nonexistent/mlflow.db", "--checks", "nope"], "unknown check 'nope'"),
])
def test_could_not_run_is_exit_2_with_one_line(args: list[str], needle: str, tmp_path: Path) -> None:
    args = [a.format(port=free_port()) for a in args]
    result = CliRunner().invoke(main, ["audit", *args, "--out", str(tmp_path / "audit"), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert needle in result.output and "s3cret" not in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "audit" / "report.json").exists()
