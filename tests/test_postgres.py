"""mltrack on PostgreSQL, for real: a throwaway PostgreSQL cluster (Debian's `postgresql`
package, tests/support/postgres.py), the reference store seeded into it, and `mlflow server
--workers 4` on it. The ten checks, the audit and the onboarding report through the server and
with a direct postgresql:// URI (which must write nothing); rollback (the concurrent race too)
and cleanup on private copies. Every test skips, saying why, where PostgreSQL cannot run."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrack import conventions
from mltrack.cli import main
from tests.support.postgres import SERVER_WORKERS, start_server

MODEL = conventions.REGISTERED_MODEL
TEN = ["recovery", "production-model", "multi-user", "data-change", "rollback", "prediction-audit",
       "hparam-search", "long-term-repro", "artifact-cleanup", "onboarding"]


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _audit(uri: str, out: Path) -> dict:
    result = CliRunner().invoke(main, ["audit", "--tracking-uri", uri, "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert {r["name"]: r["status"] for r in report["results"]} == {name: "pass" for name in TEN}, \
        [(r["name"], r["status"], r["message"]) for r in report["results"] if r["status"] != "pass"]
    assert report["summary"]["runs"] == 24 + 12  # training + inference runs of `mltrack seed --runs 24`
    return report


def _no_password(password: str, *texts: str) -> None:
    for text in texts:
        assert password not in text


def _worker_processes(server_pid: int) -> int:
    """Processes in the server's process group (mlflow server, uvicorn and its workers)."""
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        count += int(fields[2]) == server_pid  # field 5 of stat: the process group
    return count


def test_ten_checks_audit_and_report_through_a_four_worker_server(postgres_env, tmp_path: Path) -> None:
    assert _worker_processes(postgres_env.server_pid) >= SERVER_WORKERS + 1  # really several workers
    url = postgres_env.server_url
    report = _audit(url, tmp_path / "audit")
    assert report["uri"] == url
    page = CliRunner().invoke(main, ["report", "--tracking-uri", url, "--out", str(tmp_path / "onboarding.html")])
    assert page.exit_code == 0, page.output
    assert "mltrack-reference" in (tmp_path / "onboarding.html").read_text()
    # The pressure suite as pytest runs it beside a project's tests.
    run = subprocess.run([sys.executable, "-m", "pytest", "--tracking-uri", url, "-q", "-p", "no:cacheprovider"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0 and "10 passed" in run.stdout, run.stdout[-3000:] + run.stderr[-2000:]


def test_ten_checks_audit_and_report_with_a_direct_uri_write_nothing(postgres_env, tmp_path: Path) -> None:
    cluster, uri = postgres_env.cluster, postgres_env.seeded_uri
    before = cluster.dump("mltrack_seeded")
    report = _audit(uri, tmp_path / "audit")
    assert report["uri"] == uri.replace(cluster.password, "***")
    page = CliRunner().invoke(main, ["report", "--tracking-uri", uri, "--out", str(tmp_path / "onboarding.html")])
    assert page.exit_code == 0, page.output
    snap = CliRunner().invoke(main, ["snapshot", "--tracking-uri", uri, "--out", str(tmp_path / "snap.json")])
    assert snap.exit_code == 0, snap.output
    assert cluster.dump("mltrack_seeded") == before  # reading a database store writes nothing
    _no_password(cluster.password, page.output, snap.output,
                 *(p.read_text() for p in tmp_path.rglob("*") if p.is_file()))


def _rollback_and_cleanup(uri: str, tmp_path: Path) -> None:
    rollback = CliRunner().invoke(main, ["rollback", "--tracking-uri", uri, "--model", MODEL, "--yes"])
    assert rollback.exit_code == 0 and "Verified" in rollback.output, rollback.output
    client = _client(uri)
    assert str(client.get_model_version_by_alias(MODEL, "production").version) == "2"
    journal = tmp_path / "journal.jsonl"
    cleanup = CliRunner().invoke(main, ["cleanup", "--tracking-uri", uri, "--apply", "--format", "json",
                                        "--journal", str(journal)])
    assert cleanup.exit_code == 0, cleanup.output
    plan = json.loads(cleanup.output)
    assert plan["deleted"] and sorted(plan["deleted"]) == sorted(c["run_id"] for c in plan["candidates"])
    assert all(client.get_run(r).info.lifecycle_stage == "deleted" for r in plan["deleted"])
    assert all(client.get_run(p["run_id"]).info.lifecycle_stage == "active" for p in plan["protected"])
    restore = CliRunner().invoke(main, ["cleanup", "--tracking-uri", uri, "--restore", str(journal)])
    assert restore.exit_code == 0, restore.output
    assert all(client.get_run(r).info.lifecycle_stage == "active" for r in plan["deleted"])


def test_rollback_and_cleanup_with_a_direct_uri(postgres_env, tmp_path: Path) -> None:
    uri = postgres_env.private_copy(f"direct_{uuid.uuid4().hex[:10]}")
    _rollback_and_cleanup(uri, tmp_path)


def test_rollback_cleanup_and_racing_rollbacks_through_a_four_worker_server(postgres_env, tmp_path: Path) -> None:
    """On a private copy behind its own 4-worker server: each request may land on another worker
    (another process, another connection pool), which is where a compare-and-set must hold."""
    from tests import test_rollback_concurrent as race
    from fixtures.stores import alias_only_registry

    uri = postgres_env.private_copy(f"served_{uuid.uuid4().hex[:10]}")
    server = start_server(uri, tmp_path)
    try:
        _rollback_and_cleanup(server.url, tmp_path)
        assert alias_only_registry.MODEL == race.MODEL
        race.test_concurrent_rollbacks_one_wins_no_record_lost(server)  # builds its model, races 3 rounds
    finally:
        server.stop()


def test_bulk_runs_copy_into_postgresql_with_copy(postgres_env) -> None:
    """The big-store builder's PostgreSQL path (benchmarks/bench_big_store.py), read back by MLflow."""
    from mlflow.entities import ViewType

    from tests.support.bulk_runs import clone_runs_postgres, write_template_run

    uri = postgres_env.empty_store(f"bulk_{uuid.uuid4().hex[:10]}")
    experiment_id, template = write_template_run(uri, "bulk", str(Path(postgres_env.state_dir) / "bulk-artifacts"))
    clone_runs_postgres(uri, template, 250, artifact_uri="/shared/artifacts", chunk=100)
    client, runs, token = _client(uri), [], None
    while True:
        page = client.search_runs([experiment_id], run_view_type=ViewType.ALL, max_results=100, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            break
    clones = [r for r in runs if r.info.run_id != template]
    assert len(clones) == len({r.info.run_id for r in clones}) == 250
    assert {r.info.artifact_uri for r in clones} == {"/shared/artifacts"}
    assert all(r.data.metrics["val_acc"] == 0.7 and r.data.tags["mlflow.runName"] == r.info.run_name for r in clones)


@pytest.mark.slow  # seeding trains 12 models and writes them through the server: ~1-2 min on 2 busy cores
def test_seed_through_a_four_worker_server_then_ten_checks(postgres_env, tmp_path: Path) -> None:
    """Artifacts proxied by the server (mlflow-artifacts:/): readable through it only."""
    uri = postgres_env.empty_store(f"seeded_{uuid.uuid4().hex[:10]}")
    server = start_server(uri, tmp_path)
    try:
        seed = CliRunner().invoke(main, ["seed", "--tracking-uri", server.url, "--runs", "24"])
        assert seed.exit_code == 0, seed.output
        _audit(server.url, tmp_path / "audit")
    finally:
        server.stop()


# --- The driver (no cluster needed: these run everywhere) -------------------------------------

def test_postgresql_uris_use_psycopg_3_which_the_postgres_extra_installs() -> None:
    import tomllib

    from sqlalchemy.engine import make_url

    assert make_url("postgresql://u@h/db").get_dialect().driver == "psycopg"
    extras = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    driver = "psycopg[binary]==3.3.9"
    assert driver in extras["postgres"] and driver in extras["dev"] and "mlflow==3.17.2" in extras["postgres"]


class _NoPsycopg:
    """An import hook under which `import psycopg` fails as on a machine without the driver."""

    def find_spec(self, name, path=None, target=None):
        if name == "psycopg" or name.startswith("psycopg."):
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return None


def test_missing_driver_hint_names_the_postgres_extra(monkeypatch) -> None:
    from mltrack.errors import StoreUnreachable
    from mltrack.stores import open_store

    for name in [m for m in sys.modules if m == "psycopg" or m.startswith("psycopg.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_NoPsycopg(), *sys.meta_path])
    with pytest.raises(StoreUnreachable) as info:
        open_store("postgresql://alice:s3cret@127.0.0.1:1/mlflow", timeout=5)
    assert "mltrack[postgres]" in str(info.value) and "s3cret" not in str(info.value)


def test_psycopg2_uri_without_psycopg2_names_psycopg2_binary() -> None:
    from mltrack.errors import StoreUnreachable
    from mltrack.stores import open_store

    pytest.importorskip("psycopg")  # the point: psycopg 3 is here, psycopg2 is not
    if importlib.util.find_spec("psycopg2") is not None:
        pytest.skip("psycopg2 is installed here")
    with pytest.raises(StoreUnreachable) as info:
        open_store("postgresql+psycopg2://alice:s3cret@127.0.0.1:1/mlflow", timeout=5)
    assert "psycopg2-binary" in str(info.value) and "s3cret" not in str(info.value)


def test_without_postgresql_the_environment_says_why(monkeypatch, tmp_path: Path) -> None:
    """What the `postgres_env` fixture turns into a skip message (never a silent pass)."""
    from tests.support import postgres

    monkeypatch.setattr(postgres, "PG_ROOT", tmp_path / "no-postgresql")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(postgres.PostgresUnavailable, match="PostgreSQL is not installed.*postgresql"):
        with postgres.shared_postgres(tmp_path / "state"):
            pass
    assert not (tmp_path / "state" / "env.json").exists()
