"""`mltrack cleanup`: the plan's protections (pure), the dry run changing nothing, and `--apply`
soft-deleting only unprotected runs, each restorable with its artifacts."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mltrack import conventions
from mltrack.cli import main
from mltrack.model import ModelVersionRecord, RegisteredModelRecord, RunRecord, StoreSnapshot
from mltrack.ops.cleanup import DAY_MS, plan_cleanup
from tests.support.dump import assert_unchanged, dump_store
from tests.support.stores import copy_store

NOW = 1_800_000_000_000


def _run(run_id: str, age_days: float, acc: float | None = None, **tags: str) -> RunRecord:
    params = {}
    if "training_run_id" in tags:
        params["training_run_id"] = tags.pop("training_run_id")
    return RunRecord(run_id, "0", run_id, "alice", tags.pop("status", "FINISHED"), int(NOW - age_days * DAY_MS),
                     None, params=params, tags=tags, metrics={} if acc is None else {"val_acc": acc})


def test_plan_protects_every_kind_and_deletes_the_rest() -> None:
    runs = (
        _run("best", 90, 0.99), _run("second", 90, 0.98), _run("old-poor", 90, 0.50), _run("no-metric", 90),
        _run("kept", 90, 0.1, **{conventions.TAG_KEEP: "true"}), _run("registered", 90, 0.2),
        _run("used", 90, 0.3), _run("fresh", 2, 0.1), _run("live", 90, 0.1, status="RUNNING"),
        _run("infer", 90, None, training_run_id="used", **{conventions.TAG_RUN_TYPE: "inference"}),
    )
    model = RegisteredModelRecord("m", versions=(ModelVersionRecord("m", "1", "registered", "models:/m-1"),))
    snapshot = StoreSnapshot("sqlite:///x", "mlflow", None, NOW, runs=runs, registered_models=(model,))
    plan = plan_cleanup(snapshot, keep_top=2, older_than_days=30, now_ms=NOW, bytes_of=lambda r: 100)
    assert sorted(i.run_id for i in plan.candidates) == ["no-metric", "old-poor"]
    assert plan.total_bytes == 200
    why = {i.run_id: " ".join(i.reasons) for i in plan.protected}
    assert "top 2 by val_acc (#1)" in why["best"] and "#2" in why["second"]
    assert "mltrack.keep=true" in why["kept"] and "registered version m v1" in why["registered"]
    assert "lineage of inference run infer (its training_run_id)" in why["used"] and "newer than 30 days" in why["fresh"]
    assert "still running" in why["live"] and "inference run" in why["infer"]
    lowest_first = plan_cleanup(snapshot, goal="min", keep_top=1, older_than_days=30, now_ms=NOW)
    # goal=min: the lowest val_acc is "best"; the highest is just old now
    assert "best" in {i.run_id for i in lowest_first.candidates}
    assert any("top 1 by val_acc (#1)" in r for i in lowest_first.protected for r in i.reasons)


def test_dry_run_lists_reasons_and_changes_nothing(small_reference_store, tmp_path: Path) -> None:
    store = copy_store(small_reference_store, tmp_path / "store")
    before = dump_store(store.db_path, store.artifacts_dir)
    result = CliRunner().invoke(main, ["cleanup", "--tracking-uri", store.uri])
    assert result.exit_code == 0, result.output
    assert_unchanged(before, dump_store(store.db_path, store.artifacts_dir))
    out = result.output
    assert "Would delete (dry run):" in out and "Total reclaimable:" in out and "Nothing was changed" in out
    for reason in ("tagged mltrack.keep=true", "behind registered version", "lineage of inference run",
                   "top 10 by val_acc", "newer than 30 days"):
        assert reason in out, reason


def test_apply_soft_deletes_only_unprotected_runs_and_they_restore(small_reference_store, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    store = copy_store(small_reference_store, tmp_path / "store")
    result = CliRunner().invoke(main, ["cleanup", "--tracking-uri", store.uri, "--apply", "--format", "json",
                                       "--journal", str(tmp_path / "journal.jsonl")])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["deleted"] and sorted(plan["deleted"]) == sorted(c["run_id"] for c in plan["candidates"])
    client = MlflowClient(tracking_uri=store.uri, registry_uri=store.uri)
    for item in plan["protected"]:
        assert client.get_run(item["run_id"]).info.lifecycle_stage == "active", item
    kept = [i for i in plan["protected"] if any("mltrack.keep" in r for r in i["reasons"])]
    behind = [i for i in plan["protected"] if any("registered version" in r for r in i["reasons"])]
    assert kept and len(behind) >= 3
    victim = max(plan["candidates"], key=lambda c: c["bytes"] or 0)
    assert victim["bytes"] > 0
    assert client.get_run(victim["run_id"]).info.lifecycle_stage == "deleted"
    client.restore_run(victim["run_id"])  # what the printed restore hint does
    assert client.get_run(victim["run_id"]).info.lifecycle_stage == "active"
    files = [f for f in client.list_artifacts(victim["run_id"]) if not f.is_dir]
    folders = [f for f in client.list_artifacts(victim["run_id"]) if f.is_dir]
    listed = files or [f for d in folders for f in client.list_artifacts(victim["run_id"], d.path) if not f.is_dir]
    assert listed, "the restored run lost its artifacts"
    local = client.download_artifacts(victim["run_id"], listed[0].path, str(tmp_path / "dl"))
    assert Path(local).stat().st_size == listed[0].file_size


def test_apply_prints_how_to_restore(small_reference_store, tmp_path: Path) -> None:
    store = copy_store(small_reference_store, tmp_path / "store")
    journal = tmp_path / "journal.jsonl"
    result = CliRunner().invoke(main, ["cleanup", "--tracking-uri", store.uri, "--apply", "--older-than", "200",
                                       "--journal", str(journal)])
    assert result.exit_code == 0, result.output
    assert "Soft-deleting:" in result.output and "Deleted 0 run(s)" not in result.output
    assert f'mltrack cleanup --restore {journal} --tracking-uri "$MLTRACK_TRACKING_URI"' in result.output
    assert store.uri not in result.output.split("Restore them all with:")[1]  # the URI stays in the env


def test_cleanup_command_and_artifact_cleanup_check_agree(small_reference_store) -> None:
    """One protection rule (mltrack.retention): what `mltrack cleanup` would delete is exactly
    what the artifact-cleanup check counts as reclaimable, on a real seeded store."""
    from mltrack.pressure.checks.artifact_cleanup import cleanup_plan
    from mltrack.pressure.policy import Policy
    from mltrack.stores import open_store

    store = open_store(small_reference_store.uri)
    try:
        snapshot = store.snapshot()
    finally:
        store.close()
    policy = Policy()
    command = plan_cleanup(snapshot, keep_top=policy.keep_top, older_than_days=policy.old_run_days)
    check = cleanup_plan(snapshot, policy)
    assert {i.run_id for i in command.candidates} == set(check.candidate_ids)
    assert command.candidates and not check.deleted_protected
    assert {i.run_id for i in command.protected} == set(check.protected)
