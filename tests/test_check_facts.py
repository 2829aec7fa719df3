"""Facts about a check live on its `Check` (issue 12 item 7): the runner and the audit summary
read `summary_number` and `groups`, never a check's name, and a check's evidence is typed so a
renamed key fails loudly instead of reading nothing."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from mltrack.model import CheckResult, Status, StoreSnapshot
from mltrack.pressure.checks.artifact_cleanup import CleanupEvidence
from mltrack.pressure.checks.recovery import RecoveryEvidence
from mltrack.pressure.policy import Policy
from mltrack.pressure.registry import BY_NAME, CHECKS, GROUPS, select
from mltrack.report.audit import check_numbers
from mltrack.report.schema import SUMMARY_NUMBERS


def test_the_monthly_group_is_declared_on_its_checks() -> None:
    assert [c.name for c in select("monthly")] == ["data-change", "long-term-repro", "artifact-cleanup"]
    assert [c.name for c in CHECKS if "monthly" in c.groups] == list(GROUPS["monthly"])
    assert set(GROUPS) == {"all", "monthly"}
    assert [c.name for c in select("monthly,recovery")] == ["recovery", "data-change", "long-term-repro",
                                                            "artifact-cleanup"]


def test_every_declared_summary_number_is_a_report_summary_number() -> None:
    declared = [c.summary_number for c in CHECKS if c.summary_number]
    assert declared == ["reclaimable_bytes"]
    assert set(declared) <= set(SUMMARY_NUMBERS)


def test_summary_numbers_are_read_from_the_declaring_check_only() -> None:
    evidence = {"reclaimable_bytes": 4096}
    results = [CheckResult("MLP01", "recovery", Status.PASS, "ok", {"reclaimable_bytes": 1}),
               CheckResult("MLP09", "artifact-cleanup", Status.PASS, "ok", evidence)]
    assert check_numbers(results) == {"reclaimable_bytes": 4096}
    skipped = [CheckResult("MLP09", "artifact-cleanup", Status.SKIP, "nothing to reclaim", {})]
    assert check_numbers(skipped) == {"reclaimable_bytes": None}
    assert check_numbers([]) == {"reclaimable_bytes": None}


def test_a_summary_number_that_is_not_an_evidence_field_fails_at_declaration() -> None:
    cleanup = BY_NAME["artifact-cleanup"]
    assert cleanup.evidence_type is CleanupEvidence
    with pytest.raises(ValueError, match="'reclaimable' is not a field of CleanupEvidence"):
        replace(cleanup, summary_number="reclaimable")


def test_cleanup_evidence_rejects_a_renamed_key() -> None:
    good = {"reclaimable_bytes": 10, "runs_counted": 1, "runs_estimated": 0, "listed_by": {"disk": 1},
            "listing_failures": [], "listing_failure_count": 0, "inference_by_output": {}}
    assert CleanupEvidence(**good).to_dict() == good
    renamed = {("reclaimable" if k == "reclaimable_bytes" else k): v for k, v in good.items()}
    with pytest.raises(TypeError, match="reclaimable"):
        CleanupEvidence(**renamed)
    assert [f.name for f in fields(CleanupEvidence)] == list(good)  # the recorded key order


TYPED = {c.name: c for c in CHECKS if c.evidence_type is not None}
SNAPSHOT = StoreSnapshot("sqlite:///x.db", "mlflow", "3.17.2", 1_750_000_000_000, (), (), ())


def test_every_check_that_gathers_declares_its_evidence_type() -> None:
    assert set(TYPED) == {c.name for c in CHECKS if c.gather is not None} == {
        "recovery", "production-model", "rollback", "prediction-audit", "long-term-repro", "artifact-cleanup"}


@pytest.mark.parametrize("name", sorted(TYPED))
def test_a_judge_rejects_evidence_with_a_renamed_key(name: str) -> None:
    check = TYPED[name]
    key = fields(check.evidence_type)[0].name
    with pytest.raises(TypeError, match=f"has no field '{key}_renamed'"):
        check.judge(SNAPSHOT, {f"{key}_renamed": {}}, Policy())


@pytest.mark.parametrize("name", sorted(TYPED))
def test_old_recordings_without_a_key_load_with_the_former_defaults(name: str) -> None:
    evidence_type = TYPED[name].evidence_type
    empty = evidence_type.from_dict({})
    # what judge read for a missing key: `.get(key)` -> None, `.get(key, {})` -> {}, `.get(key, 0)` -> 0
    assert all(getattr(empty, f.name) in (None, {}, [], 0, False) for f in fields(evidence_type))
    assert evidence_type.from_dict(empty.to_dict()) == empty


def test_recovery_evidence_writes_only_what_gather_found() -> None:
    assert RecoveryEvidence().to_dict() == {}  # no best run: as gather wrote it before
    assert RecoveryEvidence({"downloaded": True}).to_dict() == {"artifact": {"downloaded": True}}
