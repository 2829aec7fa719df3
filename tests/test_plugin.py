"""The pytest plugin, driven through `pytester` in fresh pytest processes (real stores, real
xdist workers): URI resolution and header, the ten checks beside a project's own tests, usage
errors, failure rendering without tracebacks, and one store read per session under `-n 2`."""

from __future__ import annotations

import re

import pytest

pytest_plugins = ["pytester"]

# pytester restores sys.modules after each test: import (and seed) the heavy parts beforehand,
# in session fixtures, or a C extension would be imported twice.
pytest.importorskip("torch")
import mltrack.seed.seeder  # noqa: E402,F401


@pytest.fixture(scope="session")
def rollback_broken_store(break_store):
    return break_store("rollback")

COUNTING_CONFTEST = '''
import os
from mltrack.stores.mlflow_store import MlflowStore

_snapshot = MlflowStore.snapshot


def counted(self, *args, **kwargs):
    with open(os.environ["MLTRACK_READS_FILE"], "a") as out:
        out.write(f"{os.getpid()}\\n")
    return _snapshot(self, *args, **kwargs)


MlflowStore.snapshot = counted
'''


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("MLTRACK_TRACKING_URI", raising=False)
    pytester.makefile(".toml", pyproject="[tool.mltrack]\n")
    return pytester


def summary_rows(output: str) -> list[str]:
    """`MLP05 rollback FAIL` for each row of the plugin's terminal summary."""
    return re.findall(r"^(MLP\d\d [a-z-]+ +[A-Z]+) ", output, flags=re.M)


def test_without_uri_the_plugin_adds_nothing(project):
    project.makepyfile(test_own="def test_own():\n    assert True\n")
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    assert "mltrack:" not in result.stdout.str() and "pressure suite" not in result.stdout.str()


def test_help_works_even_with_a_broken_config(project, monkeypatch):
    project.makefile(".toml", pyproject="[tool.mltrack]\nbogus = 1\n")
    monkeypatch.setenv("MLTRACK_TRACKING_URI", "sqlite:////nonexistent/x.db")
    result = project.runpytest_subprocess("--help")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*--tracking-uri*", "*--mltrack-config*", "*--mltrack-rollback-drill*"])


def test_bad_config_is_a_usage_error_with_a_hint(project):
    project.makefile(".toml", pyproject="[tool.mltrack]\nbogus = 1\n")
    result = project.runpytest_subprocess("--tracking-uri", "sqlite:////tmp/x.db")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown key 'bogus'" in result.stderr.str() and "known keys" in result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_unreachable_store_is_a_usage_error_with_credentials_redacted(project):
    result = project.runpytest_subprocess("--tracking-uri", "http://alice:s3cret@127.0.0.1:9/")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stderr.str() + result.stdout.str()
    assert "alice:***@127.0.0.1" in output and "s3cret" not in output and "Traceback" not in output


def test_unknown_experiment_in_config_names_it(project, small_reference_store, monkeypatch):
    project.makefile(".toml", pyproject='[tool.mltrack]\nexperiments = ["nope"]\n')
    monkeypatch.setenv("MLTRACK_TRACKING_URI", small_reference_store.uri)
    result = project.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "experiment 'nope'" in result.stderr.str()


def test_ten_checks_in_a_project_without_tests_then_under_xdist(rollback_broken_store, project, tmp_path, monkeypatch):
    store = rollback_broken_store
    reads = tmp_path / "reads.txt"
    monkeypatch.setenv("MLTRACK_READS_FILE", str(reads))
    project.makeconftest(COUNTING_CONFTEST)

    serial = project.runpytest_subprocess("--tracking-uri", store.uri, "-p", "no:cacheprovider")
    serial.assert_outcomes(passed=9, failed=1)
    out = serial.stdout.str()
    assert f"mltrack: tracking URI {store.uri} (from --tracking-uri); mlflow version 3.17.2" in out
    # a failing check: verdict, evidence and fix; no traceback, no test source
    assert "MLP05 rollback: FAIL - 'mltrack-reference-classifier': previous production version cannot be identified" in out
    assert "evidence:" in out and "fix: Record every promotion" in out
    assert "Traceback" not in out and "def test_rollback" not in out and 'pressure_check("rollback")' not in out
    assert re.search(r"test_rollback\.py::test_rollback", out)  # node ids carry the check name
    assert reads.read_text().count("\n") == 1

    reads.unlink()
    parallel = project.runpytest_subprocess("--tracking-uri", store.uri, "-n", "2", "-p", "no:cacheprovider")
    parallel.assert_outcomes(passed=9, failed=1)
    assert summary_rows(parallel.stdout.str()) == summary_rows(out) and len(summary_rows(out)) == 10
    assert reads.read_text().count("\n") == 1, "the store was read more than once"


def test_checks_run_beside_own_tests_and_k_selects_by_check_name(project, small_reference_store):
    project.makefile(".ini", pytest=f"[pytest]\nmltrack_tracking_uri = {small_reference_store.uri}\n")
    # the project's own test module shares a check's file name: no import clash
    project.makepyfile(test_recovery="def test_own():\n    assert 1 + 1 == 2\n")
    result = project.runpytest_subprocess("-k", "own or hparam-search or multi_user", "-v")
    result.assert_outcomes(passed=3)
    out = result.stdout.str()
    assert "(from ini mltrack_tracking_uri" in out
    result.stdout.fnmatch_lines(["*test_recovery.py::test_own PASSED*",
                                 "*test_hparam_search.py::test_hparam_search PASSED*"])
