"""`mltrack seed --force` over an already seeded store leaves a store that passes all ten
checks: the replaced reference experiments are soft-deleted, and their runs tagged
`mltrack.keep=true` must not read as protected runs that were lost (artifact-cleanup)."""

from __future__ import annotations

from click.testing import CliRunner

from mltrack.cli import main
from mltrack.model import Status
from mltrack.pressure.policy import Policy
from mltrack.pressure.runner import run_checks
from tests.support.stores import copy_store


def test_seed_force_leaves_a_store_that_passes_all_ten(small_reference_store, tmp_path) -> None:
    store = copy_store(small_reference_store, tmp_path / "store")
    result = CliRunner().invoke(main, ["seed", "--tracking-uri", store.uri, "--runs", "12", "--force"])
    assert result.exit_code == 0, result.output
    outcome = run_checks(store.uri, Policy())
    statuses = {r.name: r.status for r in outcome.results}
    assert len(statuses) == 10
    failing = {n: outcome.result(n).message for n, s in statuses.items() if s not in (Status.PASS, Status.WARN)}
    assert not failing, failing
    assert statuses["artifact-cleanup"] is Status.PASS
