"""`cleanup --apply` writes its journal before the first delete; a server that dies part way
leaves a journal that says exactly what was deleted, and `cleanup --restore JOURNAL` (one
process, idempotent) brings every deleted run back - against a real `mlflow server` that is
really stopped in the middle of the apply."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from click.testing import CliRunner

from mltrack.cli import main
from mltrack.ops.cleanup_journal import read_journal
from tests.support.bulk_runs import clone_runs, write_template_run
from tests.support.mlflow_server import start_mlflow_server

RUNS = 60


def _stages(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT run_uuid, lifecycle_stage FROM runs"))


def _seed(server, db: Path) -> list[str]:
    _, template = write_template_run(server.url, "bulk", str(db.parent / "artifacts"))
    return [template, *clone_runs(db, template, RUNS - 1)]


def _deleted_in(journal: Path) -> int:
    try:
        return journal.read_text().count('"event": "deleted"')
    except FileNotFoundError:
        return 0


def test_interrupted_apply_lists_what_was_deleted_and_restore_brings_it_back(fresh_mlflow_server, tmp_path) -> None:
    db = tmp_path / "mlflow.db"
    _seed(fresh_mlflow_server, db)
    journal = tmp_path / "journal.jsonl"

    planned_at_first_delete: list[int] = []

    def stop_server_part_way() -> None:
        deadline = time.monotonic() + 600  # the machine may be slow; the apply ends first anyway
        while not planned_at_first_delete and time.monotonic() < deadline:
            if any(stage == "deleted" for stage in _stages(db).values()):  # the journal already holds the plan
                planned_at_first_delete.append(len(read_journal(journal).planned))
            time.sleep(0.002)
        while _deleted_in(journal) < 15 and time.monotonic() < deadline:
            time.sleep(0.005)
        fresh_mlflow_server.stop()

    killer = threading.Thread(target=stop_server_part_way)
    killer.start()
    result = CliRunner().invoke(
        main, ["cleanup", "--tracking-uri", fresh_mlflow_server.url, "--apply", "--journal", str(journal)],
        env={"MLTRACK_TRACKING_URI": fresh_mlflow_server.url})
    killer.join()
    assert planned_at_first_delete == [RUNS - 10]  # every candidate was journaled before the first delete
    assert result.exit_code == 2, result.output
    assert "cleanup stopped after" in result.stderr and "internal error" not in result.stderr
    deleted_now = {rid for rid, stage in _stages(db).items() if stage == "deleted"}
    contents = read_journal(journal)
    assert 15 <= len(deleted_now) < RUNS - 10  # really part way
    assert deleted_now <= set(contents.touched())  # every deleted run is in the journal
    assert contents.header["uri"] == fresh_mlflow_server.url and all(r["why"] for r in contents.header["runs"])
    assert contents.events[-1]["event"] == "stopped"
    out = result.stdout
    confirmed = [e["run_id"] for e in contents.events if e["event"] == "deleted"]
    assert "Cleanup stopped part way." in out and f"Deleted: {len(confirmed)} run(s)" in out
    assert all(run_id in out for run_id in confirmed[:50]) and "Not deleted:" in out
    assert f'mltrack cleanup --restore {journal} --tracking-uri "$MLTRACK_TRACKING_URI"' in out
    assert fresh_mlflow_server.url not in out.split("Restore what was deleted with:")[1]

    server = start_mlflow_server(fresh_mlflow_server.backend_uri, tmp_path / "artifacts", tmp_path / "again")
    try:
        restored = CliRunner().invoke(main, ["cleanup", "--restore", str(journal), "--tracking-uri", server.url,
                                             "--format", "json"])
        assert restored.exit_code == 0, restored.output
        assert set(json.loads(restored.output)["restored"]) == deleted_now
        assert all(stage == "active" for stage in _stages(db).values())
        again = CliRunner().invoke(main, ["cleanup", "--restore", str(journal), "--tracking-uri", server.url,
                                          "--format", "json"])
        assert again.exit_code == 0, again.output
        assert json.loads(again.output)["restored"] == [] and \
            set(json.loads(again.output)["already_active"]) == set(contents.touched())
    finally:
        server.stop()


def test_unwritable_journal_refuses_before_deleting(tmp_path) -> None:
    db = tmp_path / "mlflow.db"
    _, template = write_template_run(f"sqlite:///{db}", "bulk", str(tmp_path / "artifacts"))
    clone_runs(db, template, 20)
    result = CliRunner().invoke(
        main, ["cleanup", "--tracking-uri", f"sqlite:///{db}", "--apply",
               "--journal", str(tmp_path / "no-such-dir" / "j.jsonl")])
    assert result.exit_code == 2 and "cannot write the journal" in result.stderr
    assert len(_stages(db)) == 21 and all(stage == "active" for stage in _stages(db).values())


def test_restore_rejects_a_file_that_is_not_a_journal(tmp_path) -> None:
    bogus = tmp_path / "x.jsonl"
    bogus.write_text('{"hello": 1}\n')
    result = CliRunner().invoke(main, ["cleanup", "--restore", str(bogus), "--tracking-uri",
                                                       f"sqlite:///{tmp_path / 'none.db'}"])
    assert result.exit_code == 2 and "not an mltrack cleanup journal" in result.stderr


def test_ctrl_c_part_way_still_prints_the_restore_command(tmp_path, monkeypatch) -> None:
    """Ctrl-C during --apply (here: after 5 real deletes on a sqlite store) is one more way to
    stop part way: the same report, the same restore."""
    from mlflow.tracking import MlflowClient

    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    _, template = write_template_run(uri, "bulk", str(tmp_path / "artifacts"))
    clone_runs(db, template, 29)
    real_delete, calls = MlflowClient.delete_run, []

    def delete_then_ctrl_c(self, run_id):
        if len(calls) == 5:
            raise KeyboardInterrupt
        calls.append(run_id)
        return real_delete(self, run_id)

    monkeypatch.setattr(MlflowClient, "delete_run", delete_then_ctrl_c)
    journal = tmp_path / "j.jsonl"
    result = CliRunner().invoke(main, ["cleanup", "--tracking-uri", uri, "--apply", "--journal", str(journal)])
    assert result.exit_code == 2, result.output
    assert "Cleanup stopped part way." in result.stdout and "Deleted: 5 run(s)" in result.stdout
    assert f"mltrack cleanup --restore {journal}" in result.stdout
    assert sum(1 for s in _stages(db).values() if s == "deleted") == 5
    monkeypatch.setattr(MlflowClient, "delete_run", real_delete)
    restored = CliRunner().invoke(main, ["cleanup", "--restore", str(journal), "--tracking-uri", uri])
    assert restored.exit_code == 0, restored.output
    assert "Restored 5 run(s)" in restored.output and all(s == "active" for s in _stages(db).values())
