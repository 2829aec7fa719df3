"""Credentials work everywhere: a real `mlflow server` behind a basic-auth front on 127.0.0.1.

The password holds `@` and `/` (written percent-encoded in the URI, as RFC 3986 wants). Through
`http://user:p%40ss%2Fword@HOST` the audit gives the same verdicts as the server read directly;
report, snapshot, cleanup, rollback and `pytest --tracking-uri` work through it too; MLflow's
own environment variables work instead of userinfo; and the password appears in no output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from click.testing import CliRunner

from mltrack.cli import main
from tests.support.basic_auth_proxy import BasicAuthProxy
from tests.support.mlflow_server import start_mlflow_server
from tests.support.stores import copy_store

USER, PASSWORD = "auditor", "p@ss/word"
FORBIDDEN = (PASSWORD, quote(PASSWORD, safe=""), "ss/word", "ss%2Fword")


@pytest.fixture(scope="module")
def front(small_reference_store, tmp_path_factory: pytest.TempPathFactory):
    """(proxy, server) over a private copy of the small reference store."""
    root = tmp_path_factory.mktemp("credentials")
    store = copy_store(small_reference_store, root / "store")
    server = start_mlflow_server(store.uri, store.artifacts_dir, root / "server")
    proxy = BasicAuthProxy(server.url, USER, PASSWORD).start()
    yield proxy, server
    proxy.stop()
    server.stop()


def _with_credentials(proxy: BasicAuthProxy, password: str = PASSWORD) -> str:
    host_port = proxy.url.removeprefix("http://")
    return f"http://{USER}:{quote(password, safe='')}@{host_port}"


def _run(*args: str, env: dict[str, str] | None = None):
    return CliRunner(env=env).invoke(main, list(args))


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in FORBIDDEN:
            assert secret not in text, f"{secret!r} leaked: ...{text[max(0, text.find(secret) - 80):][:200]}"


def _files_text(folder: Path) -> list[str]:
    return [p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.rglob("*")) if p.is_file()]


def test_the_front_refuses_requests_without_credentials(front) -> None:
    proxy, _ = front
    assert requests.get(f"{proxy.url}/health", timeout=10).status_code == 401
    api = f"{proxy.url}/api/2.0/mlflow/experiments/search"
    assert requests.post(api, json={"max_results": 1}, timeout=10).status_code == 401
    assert requests.post(api, json={"max_results": 1}, auth=(USER, "wrong"), timeout=10).status_code == 401
    assert requests.post(api, json={"max_results": 1}, auth=(USER, PASSWORD), timeout=30).status_code == 200


def test_without_or_with_wrong_credentials_the_audit_says_so_in_one_line(front, tmp_path: Path) -> None:
    proxy, _ = front
    for uri in (proxy.url, _with_credentials(proxy, "wrong/p@ss")):
        result = _run("audit", "--tracking-uri", uri, "--out", str(tmp_path / "a"), "--no-progress")
        assert result.exit_code == 2, result.output
        assert "refused access (HTTP 401)" in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert "wrong" not in result.output and "p@ss" not in result.output


def test_an_open_health_check_does_not_hide_a_refusal(front, tmp_path: Path) -> None:
    """Like MLflow's basic-auth app: /health answers anyone, the API only the authorised."""
    _, server = front
    proxy = BasicAuthProxy(server.url, USER, PASSWORD, open_paths=("/health",)).start()
    try:
        result = _run("audit", "--tracking-uri", proxy.url, "--out", str(tmp_path / "a"), "--no-progress")
    finally:
        proxy.stop()
    assert result.exit_code == 2, result.output
    assert "refused access (HTTP 401)" in result.output and "MLFLOW_TRACKING_USERNAME" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_an_audit_through_credentials_gives_the_same_verdicts(front, tmp_path: Path) -> None:
    proxy, server = front
    plain = _run("audit", "--tracking-uri", server.url, "--out", str(tmp_path / "plain"), "--no-progress")
    refused_before = proxy.refused
    uri = _with_credentials(proxy)
    # a real process, so whatever MLflow, requests or urllib3 log to stderr is checked too
    secured = subprocess.run([str(Path(sys.executable).with_name("mltrack")), "audit", "--tracking-uri", uri,
                              "--out", str(tmp_path / "secured"), "--no-progress"],
                             capture_output=True, text=True, timeout=600, check=False)
    assert secured.returncode == plain.exit_code == 0, secured.stdout + secured.stderr
    verdicts = [(r["name"], r["status"]) for r in json.loads((tmp_path / "plain" / "report.json").read_text())["results"]]
    report = json.loads((tmp_path / "secured" / "report.json").read_text())
    assert [(r["name"], r["status"]) for r in report["results"]] == verdicts
    assert [status for _, status in verdicts] == ["pass"] * 10
    assert report["uri"] == f"http://{USER}:***@{proxy.url.removeprefix('http://')}"
    assert proxy.refused == refused_before and proxy.forwarded > 10  # every request carried them
    _assert_no_secret(secured.stdout, secured.stderr, *_files_text(tmp_path / "secured"))


def test_mlflow_environment_variables_work_instead_of_userinfo(front, tmp_path: Path) -> None:
    proxy, _ = front
    env = {"MLFLOW_TRACKING_USERNAME": USER, "MLFLOW_TRACKING_PASSWORD": PASSWORD}
    out = tmp_path / "snap.json"
    result = _run("snapshot", "--tracking-uri", proxy.url, "--out", str(out), env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())  # a real snapshot came back through the front
    _assert_no_secret(result.output, out.read_text())


def test_report_snapshot_cleanup_rollback_and_pytest_work_through_credentials(front, tmp_path: Path) -> None:
    proxy, _ = front
    uri = _with_credentials(proxy)
    page = _run("report", "--tracking-uri", uri, "--checks", "none", "--out", str(tmp_path / "o.html"))
    assert page.exit_code == 0, page.output
    snap = _run("snapshot", "--tracking-uri", uri, "--out", str(tmp_path / "snap.json"))
    assert snap.exit_code == 0, snap.output
    cleanup = _run("cleanup", "--tracking-uri", uri, "--keep-top", "5")  # a dry run
    assert cleanup.exit_code == 0, cleanup.output
    pytest_run = subprocess.run(
        [sys.executable, "-m", "pytest", "--tracking-uri", uri, "-k", "onboarding or multi-user",
         f"--junitxml={tmp_path / 'junit.xml'}", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
    )
    header = pytest_run.stdout + pytest_run.stderr
    assert pytest_run.returncode == 0, header[-3000:]
    assert f"tracking URI http://{USER}:***@" in header and "2 passed" in header, header[-3000:]
    rollback = _run("rollback", "--tracking-uri", uri, "--model", "mltrack-reference-classifier", "--yes")
    assert rollback.exit_code == 0 and "-> version" in rollback.output, rollback.output
    assert '--tracking-uri "$MLTRACK_TRACKING_URI"' in rollback.output  # the undo command, runnable
    _assert_no_secret(page.output, snap.output, cleanup.output, rollback.output, header,
                      *_files_text(tmp_path))


@pytest.mark.slow  # seeding trains 12 small models through the front: ~2.5 min on 2 busy cores
def test_seed_writes_through_credentials(fresh_mlflow_server, tmp_path: Path) -> None:
    """The only writing command that creates a store: its health check and MLflow's writes
    (artifacts included) both carry the credentials."""
    proxy = BasicAuthProxy(fresh_mlflow_server.url, USER, PASSWORD).start()
    try:
        refused = _run("seed", "--tracking-uri", proxy.url, "--runs", "12")
        assert refused.exit_code == 2 and "HTTP 401" in refused.output, refused.output
        seeded = _run("seed", "--tracking-uri", _with_credentials(proxy), "--runs", "12")
    finally:
        proxy.stop()
    assert seeded.exit_code == 0, seeded.output
    _assert_no_secret(refused.output, seeded.output)
    snap = _run("snapshot", "--tracking-uri", fresh_mlflow_server.url, "--out", str(tmp_path / "s.json"))
    assert snap.exit_code == 0, snap.output
    assert len(json.loads((tmp_path / "s.json").read_text())["runs"]) >= 12


class _HeaderEcho:
    """A tiny server on 127.0.0.1 that remembers the Authorization header of each request."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        import threading

        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                seen.append(self.headers.get("Authorization"))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.hostport = "127.0.0.1:%d" % self.server.server_address[1]


@pytest.mark.parametrize(("userinfo", "env"), [
    ("ci:p%40ss%2Fword@", {}),
    ("", {"MLFLOW_TRACKING_USERNAME": "ci", "MLFLOW_TRACKING_PASSWORD": "p@ss/word"}),
    ("", {"MLFLOW_TRACKING_TOKEN": "tok-123"}),
    ("ci:from%20uri@", {"MLFLOW_TRACKING_USERNAME": "env", "MLFLOW_TRACKING_PASSWORD": "env"}),
    ("tok-in-uri@", {}),  # requests (under MLflow) sends nothing for a user without a password
    (":only%3Apassword@", {}),
])
def test_our_requests_carry_what_mlflows_client_sends(userinfo: str, env: dict[str, str], monkeypatch) -> None:
    """stores/http_client.py against mlflow 3.17's own REST path, header for header."""
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request

    from mltrack.stores import http_client

    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    echo = _HeaderEcho()
    try:
        uri = f"http://{userinfo}{echo.hostport}"
        http_request(get_default_host_creds(uri), "/api/2.0/mlflow/experiments/search", "GET", max_retries=0)
        http_client.get(uri, "/health", 5)
    finally:
        echo.server.shutdown()
        echo.server.server_close()
    mlflow_sent, we_sent = echo.seen
    assert we_sent == mlflow_sent
    assert (we_sent is None) == (userinfo == "tok-in-uri@")  # a user without password: no auth
