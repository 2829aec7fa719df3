"""`mltrack rollback` and the rollback check on registries mltrack did not write (issue 10).

Each store is written by a plain-MLflow generator in fixtures/stores/ (its .md gives the true
verdicts): stage-only with an ambiguous previous version, two versions in Production, aliases
only, and aliases mixed with stages. Every refusal is exit 2 with the registry unchanged, proven
by a full dump of the sqlite database and the artifact files before and after.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from mltrack.cli import main
from mltrack.pressure.policy import Policy
from mltrack.pressure.runner import run_checks
from mltrack.promotions import previous_production, previous_version, production_history, read_promotions
from tests.support.dump import assert_unchanged, dump_store
from tests.support.stores import empty_database


@dataclass(frozen=True)
class Registry:
    uri: str
    db: Path
    artifacts: Path
    module: ModuleType

    @property
    def model(self) -> str:
        return self.module.MODEL

    def dump(self):
        return dump_store(self.db, self.artifacts)

    def client(self):
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def policy(self) -> Policy:
        return Policy(**{k: tuple(v) if isinstance(v, list) else v for k, v in self.module.POLICY.items()})

    def stages(self) -> dict[str, str]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            versions = self.client().search_model_versions(f"name = '{self.model}'")
        return {str(v.version): v.current_stage for v in versions}

    def aliases(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.client().get_registered_model(self.model).aliases.items()}

    def records(self) -> list[dict]:
        return read_promotions(self.client().get_registered_model(self.model).tags)


@pytest.fixture
def registry(seeded_root: Path, tmp_path: Path):
    """`registry("stage_only_registry")`: a fresh sqlite store written by that generator."""

    def build(name: str) -> Registry:
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy2(empty_database(seeded_root), folder / "mlflow.db")
        module = importlib.import_module(f"fixtures.stores.{name}")
        store = Registry(f"sqlite:///{folder / 'mlflow.db'}", folder / "mlflow.db", folder / "artifacts", module)
        module.build(store.uri, str(store.artifacts))
        return store

    return build


def _rollback(store: Registry, *args: str, input: str | None = None):
    return CliRunner().invoke(main, ["rollback", "--tracking-uri", store.uri, "--model", store.model, *args],
                              input=input)


# --- The rule, on records alone --------------------------------------------------------------

def _rec(version, previous, reason=None):
    return {"version": version, "previous": previous, "alias": "production", "reason": reason}


def test_history_replays_rollbacks_further_back_never_forth() -> None:
    records = [_rec("1", None), _rec("2", "1"), _rec("3", "2")]
    assert production_history(records)[0] == ["1", "2", "3"]
    after_one = [*records, _rec("2", "3", "rollback")]
    assert previous_production("2", after_one, []).version == "1"
    after_two = [*after_one, _rec("1", "2", "rollback")]
    found = previous_production("1", after_two, [("2", "Archived", {}), ("3", "Archived", {})])
    assert found.version is None and found.candidates == ()  # both were rolled back from


def test_archived_stage_is_not_evidence() -> None:
    listing = [("1", "Archived", {}), ("2", "Production", {}), ("3", "Archived", {})]
    found = previous_production("2", [], listing)
    assert (found.version, found.candidates) == (None, ("3", "1"))
    assert previous_version("2", [], listing)[0] is None
    one = [("1", "Archived", {}), ("2", "Production", {})]
    assert previous_production("2", [], one).version is None  # archived from Staging is possible too


def test_records_that_do_not_reach_production_are_not_evidence() -> None:
    found = previous_production("4", [_rec("2", "1"), _rec("3", "2")], [("3", "None", {})])
    assert found.version is None and "moved without a record" in found.how and found.candidates[0] == "3"


def test_legacy_list_and_one_record_tags_merge_in_time_order() -> None:
    import json

    tags = {"mltrack.promotions": json.dumps([
        {"version": "1", "previous": None, "alias": "production", "promoted_at": "2026-01-01T00:00:00Z"},
        {"version": "2", "previous": "1", "alias": "production", "promoted_at": "2026-02-01T00:00:00+00:00"}]),
        "mltrack.promotion.20260301T000000.000002Z.bbbbbbbb": json.dumps(
            {**_rec("2", "3", "rollback"), "promoted_at": "2026-03-01T00:00:00Z"}),
        "mltrack.promotion.20260301T000000.000001Z.aaaaaaaa": json.dumps(
            {**_rec("3", "2"), "promoted_at": "2026-03-01T00:00:00Z"}),
        "mltrack.promotion.garbage": "{not json"}
    assert [(r["version"], r.get("reason")) for r in read_promotions(tags)] == [
        ("1", None), ("2", None), ("3", None), ("2", "rollback")]
    assert previous_production("2", read_promotions(tags), []).version == "1"


# --- The check says what the command would do ---------------------------------------------------

@pytest.mark.parametrize("name, needle", [
    ("stage_only_registry", "cannot be identified (no promotion records, and MLflow keeps no alias or stage "
                            "history; candidates: v3, v1)"),
    ("two_in_production", "has no single production version"),
    ("alias_only_registry", "candidates: v4, v2, v1"),
    ("mixed_registry", "candidates: v2, v1"),
])
def test_check_fails_when_the_previous_version_is_unknown(registry, name: str, needle: str) -> None:
    store = registry(name)
    result = run_checks(store.uri, store.policy(), ["rollback"]).result("rollback")
    assert result.status.value == "fail", result.message
    assert needle in result.message, result.message


# --- Refusals: exit 2, registry unchanged -----------------------------------------------------

@pytest.mark.parametrize("name, args, needles", [
    ("stage_only_registry", [], ["no previous production version", "candidates: v3, v1",
                                 'mltrack rollback --tracking-uri "$MLTRACK_TRACKING_URI" --model fraud-detector --to VERSION']),
    ("two_in_production", [], ["several versions (1, 2) in stage Production"]),
    ("two_in_production", ["--to", "1"], ["several versions (1, 2) in stage Production"]),
    ("alias_only_registry", [], ["no previous production version", "candidates: v4, v2, v1"]),
    ("alias_only_registry", ["--alias", "prod"], ["has no alias 'prod' (its aliases: challenger, production)"]),
    ("alias_only_registry", ["--to", "1"], ["training run", "of version 1 is deleted", "--force"]),
    ("mixed_registry", [], ["candidates: v2, v1"]),
    ("mixed_registry", ["--alias", "Production"], ["has no alias 'Production'"]),
])
def test_refusals_change_nothing(registry, name: str, args: list[str], needles: list[str]) -> None:
    store = registry(name)
    before = store.dump()
    result = _rollback(store, "--yes", *args)
    assert result.exit_code == 2, result.output
    for needle in needles:
        assert needle in result.output, result.output
    assert "internal error" not in result.output and store.uri not in result.output.split("error:")[-1]
    assert_unchanged(before, store.dump())


# --- A chosen version works, and the next rollback never bounces --------------------------------

def test_stage_only_rollback_to_chosen_version_then_no_bounce(registry) -> None:
    store = registry("stage_only_registry")
    result = _rollback(store, "--yes", "--to", "1")
    assert result.exit_code == 0, result.output
    assert store.stages() == {"1": "Production", "2": "Archived", "3": "Archived"}
    assert store.aliases() == {}  # a stage-only registry gets no alias it never had
    assert [(r["version"], r["previous"], r["reason"]) for r in store.records()] == [("1", "2", "rollback")]
    assert 'to undo: mltrack rollback --tracking-uri "$MLTRACK_TRACKING_URI" --model fraud-detector --to 2' in result.output
    assert str(store.db) not in result.output.split("Verified")[-1]
    check = run_checks(store.uri, store.policy(), ["rollback"]).result("rollback")
    assert check.status.value == "fail" and "know nothing before version 1" in check.message, check.message
    before = store.dump()
    again = _rollback(store, "--yes")
    assert again.exit_code == 2 and "know nothing before version 1" in again.output, again.output
    assert_unchanged(before, store.dump())


def test_alias_only_rollback_records_and_never_bounces(registry) -> None:
    store = registry("alias_only_registry")
    result = _rollback(store, "--yes", "--to", "2")
    assert result.exit_code == 0, result.output
    assert store.aliases() == {"production": "2", "challenger": "4"}
    assert set(store.stages().values()) == {"None"}
    before = store.dump()
    again = _rollback(store, "--yes")
    assert again.exit_code == 2 and "know nothing before version 2" in again.output, again.output
    assert_unchanged(before, store.dump())
    forced = _rollback(store, "--yes", "--to", "1", "--force")  # v1's run is deleted: only with --force
    assert forced.exit_code == 0, forced.output
    assert "--force: the training run" in forced.output and store.aliases()["production"] == "1"
    assert [(r["version"], r["previous"]) for r in store.records()] == [("2", "3"), ("1", "2")]


def test_mixed_registry_moves_the_alias_not_the_stages(registry) -> None:
    store = registry("mixed_registry")
    stages = store.stages()
    result = _rollback(store, "--yes", "--to", "2")
    assert result.exit_code == 0, result.output
    assert store.aliases() == {"production": "2", "shadow": "4"} and store.stages() == stages
    before = store.dump()
    assert _rollback(store, "--yes").exit_code == 2
    assert_unchanged(before, store.dump())


def test_production_moved_underneath_refuses_and_changes_nothing(registry) -> None:
    """Another operator moves @production while this one reads the prompt: compare-and-set."""
    from mltrack.ops.rollback import RollbackRefused, plan_rollback, rollback
    from mltrack.ops.writable import open_for_write

    store = registry("alias_only_registry")
    adapter, client = open_for_write(store.uri, "rollback")
    plan = plan_rollback(client, store.model, to_version="2")
    dumps = []

    def operator_meanwhile() -> bool:
        store.client().set_registered_model_alias(store.model, "production", "4")
        dumps.append(store.dump())
        return True

    try:
        with pytest.raises(RollbackRefused, match="moved since this rollback was planned"):
            rollback(client, adapter, plan, confirm=operator_meanwhile)
    finally:
        adapter.close()
    assert store.aliases()["production"] == "4" and store.records() == []
    assert_unchanged(dumps[0], store.dump())


def test_store_text_reaches_the_terminal_escaped(registry) -> None:
    store = registry("stage_only_registry")
    store.client().set_model_version_tag(store.model, "1", "data_version", "\x1b]0;pwned\x07v9")
    result = _rollback(store, "--yes", "--to", "1")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\\x1b]0;pwned\\x07v9" in result.output


# --- Small lies (issue 9) ---------------------------------------------------------------------

def test_empty_model_is_a_usage_error(registry) -> None:
    store = registry("two_in_production")
    result = CliRunner().invoke(main, ["rollback", "--tracking-uri", store.uri, "--model", "", "--yes"])
    assert result.exit_code == 2 and "--model is empty" in result.output, result.output
    assert "internal error" not in result.output


def test_closed_stdin_at_the_prompt_is_a_decline(registry) -> None:
    store = registry("stage_only_registry")
    before = store.dump()
    env = {k: v for k, v in os.environ.items() if k != "MLTRACK_TRACKING_URI"}
    done = subprocess.run([str(Path(sys.executable).with_name("mltrack")), "rollback", "--tracking-uri", store.uri,
                           "--model", store.model, "--to", "1"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "rollback declined, nothing changed" in done.stderr and "internal error" not in done.stderr
    assert "Traceback" not in done.stderr
    assert_unchanged(before, store.dump())


# --- --force, and the lease -------------------------------------------------------------------

def test_weights_that_do_not_verify_refuse_unless_forced(registry) -> None:
    store = registry("alias_only_registry")
    client = store.client()
    location = Path(client.get_model_version(store.model, "2").source.removeprefix("file://"))  # registered by location
    for item in location.iterdir():  # the files of version 2 are gone
        shutil.rmtree(item) if item.is_dir() else item.unlink()
    before = store.dump()
    refused = _rollback(store, "--yes", "--to", "2")
    assert refused.exit_code == 2 and "does not load" in refused.output and "--force" in refused.output
    assert_unchanged(before, store.dump())
    forced = _rollback(store, "--yes", "--to", "2", "--force")
    assert forced.exit_code == 0, forced.output
    assert "Warning: --force: version 2" in forced.output and store.aliases()["production"] == "2"
    assert "NOT verified (--force)" in forced.output and "Verified:" not in forced.output


def test_a_stale_lease_is_taken_over_and_a_live_one_refuses(registry, monkeypatch) -> None:
    import json
    import time

    from mltrack.ops import rollback as ops

    store = registry("stage_only_registry")
    client = store.client()
    client.set_registered_model_tag(store.model, ops.LOCK_TAG, json.dumps(
        {"owner": "crashed", "by": "someone", "expires": time.time() + 600}))
    monkeypatch.setattr(ops, "WAIT_S", 2.0)
    before = store.dump()
    held = _rollback(store, "--yes", "--to", "1")
    assert held.exit_code == 2, held.output
    assert "Waiting: another rollback" in held.output and "holds the lease; nothing changed" in held.output
    assert_unchanged(before, store.dump())
    client.set_registered_model_tag(store.model, ops.LOCK_TAG, json.dumps(
        {"owner": "crashed", "by": "someone", "expires": time.time() - 1}))  # its holder died
    taken = _rollback(store, "--yes", "--to", "1")
    assert taken.exit_code == 0, taken.output
    assert ops.LOCK_TAG not in client.get_registered_model(store.model).tags
