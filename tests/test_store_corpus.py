"""The store corpus: stores written by plain MLflow / W&B code, audited, compared with the truth.

Each generator under fixtures/stores/ (and fixtures/stores/wandb_plain/) models a real usage
pattern and never imports mltrack. Beside it, `<pattern>.md` holds the TRUE verdict of every
check with no policy (zero configuration, issue 14 item 1) and with the stated policy
`<pattern>.policy.toml`, and why. That table is the one source: this module parses it.

Each store is built once per pytest run into tmp (sqlite for MLflow, offline run folders for
W&B; shared by xdist workers like the seeded reference stores), then `mltrack audit` runs on it in-process, once per mode, from an empty working
directory (so no pyproject.toml supplies a policy). Where today's mltrack gives another verdict
than the table, the case is in `KNOWN_WRONG` and marked `xfail(strict=True)`: the day mltrack
gives the true verdict the test fails, and whoever fixed it deletes the entry. Nothing here may
change a store: a full dump before and after every audit proves it.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from filelock import FileLock

from mltrack.cli import main
from mltrack.envvars import temporary_environ
from mltrack.pressure.registry import CHECKS
from tests.support.dump import StoreDump, assert_unchanged, dump_store
from tests.support.stores import empty_database

ROOT = Path(__file__).resolve().parent.parent
STORES = ROOT / "fixtures" / "stores"
MLFLOW_PATTERNS = ["autolog_sweep", "nested_sweep", "team_store", "empty_store", "default_only",
                   "optuna_callback", "hf_trainer", "lightning_logger"]
# More plain-MLflow patterns: sweeps with parents, stage / alias / mixed registries, batch
# inference, hostile text, trapped models, secrets, a data refresh, MLflow 3 logged models.
# Their known-wrong verdicts are listed one by one in MORE_KNOWN_WRONG (none is refused).
MORE_MLFLOW_PATTERNS = ["sweep_with_parent", "stage_only_registry", "two_in_production", "alias_only_registry",
                        "mixed_registry", "alias_batch_inference", "hostile_names", "booby_trapped_model",
                        "secrets_in_params", "data_refresh", "logged_models"]
WANDB_PATTERNS = ["wandb_plain/team_sweep", "wandb_plain/notebook_runs", "wandb_plain/weekly_refresh"]
PATTERNS = MLFLOW_PATTERNS + MORE_MLFLOW_PATTERNS + WANDB_PATTERNS
CHECK_NAMES = [check.name for check in CHECKS]
MODES = ("no-policy", "policy")
STATUSES = {"pass", "fail", "warn", "skip"}

# --- Where today's mltrack disagrees with the truth tables (the spec for issue 14) -------------

REFUSED = "issue 14 item 1: with no policy the audit refuses the store (exit 2, experiment 'mltrack-reference' not found)"
STUCK_RUN = "issue 14 item 6: a run stuck RUNNING for days is not noticed by onboarding"
PURGED_SOURCE = "issue 14 item 6: the production version's purged training run is not noticed"
NOT_A_USER = "issue 14: runs by root/unknown fail onboarding; attribution is multi-user's (a warning)"
NOT_TRAINING = "issue 14 item 1: a W&B dataset job (no metrics) is judged as a training run"
NEVER_SYNCED = "issue 14 item 8: W&B runs never synced are not a warning in onboarding"

KNOWN_WRONG: dict[tuple[str, str, str], str] = {
}
# Exit code 2 without a policy: none left (issue 14 item 1, zero configuration).
KNOWN_EXIT_2: set[tuple[str, str]] = set()
# report.json holds a bare NaN: none left (issue 14 item 4, non-finite values are written as null).
KNOWN_NOT_STRICT_JSON: set[tuple[str, str]] = set()
# A message ends in an empty list, e.g. "no inference runs in ": none left (issue 14 item 3).
KNOWN_EMPTY_LIST: set[tuple[str, str]] = set()


# The patterns of MORE_MLFLOW_PATTERNS, one verdict at a time: none known wrong today.
MORE_KNOWN_WRONG: dict[tuple[str, str, str], str] = {}
KNOWN_WRONG.update(MORE_KNOWN_WRONG)


# --- Truth tables -------------------------------------------------------------------------------

def truth_table(pattern: str) -> dict[tuple[str, str], str]:
    """(check, mode) -> true status, from the `| check | no policy | with policy | why |` table."""
    rows = {}
    for line in (STORES / f"{pattern}.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0] in CHECK_NAMES:
            rows[(cells[0], "no-policy")] = cells[1]
            rows[(cells[0], "policy")] = cells[2]
    return rows


# --- Building and auditing, once per session ----------------------------------------------------

@dataclass
class BuiltStore:
    pattern: str
    uri: str
    db_path: Path | None
    roots: tuple[Path, ...]  # every folder the store's files live in

    def dump(self) -> StoreDump:
        return dump_store(self.db_path, *self.roots)


@dataclass
class Audit:
    exit_code: int
    output: str
    report_text: str | None
    before: StoreDump
    after: StoreDump

    @property
    def report(self) -> dict | None:
        return None if self.report_text is None else json.loads(self.report_text)

    def status(self, check: str) -> str | None:
        report = self.report
        if report is None:
            return None
        return next((r["status"] for r in report["results"] if r["name"] == check), None)


@contextmanager
def _cwd(folder: Path):
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def _build_mlflow(pattern: str, folder: Path, template: Path) -> BuiltStore:
    db, artifacts = folder / "mlflow.db", folder / "artifacts"
    shutil.copy2(template, db)
    with sqlite3.connect(db) as con:  # the copied schema's Default experiment points at this store
        con.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = '0'",
                    (str(artifacts / "0"),))
    con.close()
    module = importlib.import_module(f"fixtures.stores.{pattern}")
    with _cwd(folder), temporary_environ({"MLFLOW_DISABLE_TELEMETRY": "true"}):
        module.build(f"sqlite:///{db}", str(artifacts))
    return BuiltStore(pattern, f"sqlite:///{db}", db, (artifacts,))


def _build_wandb(pattern: str, folder: Path) -> BuiltStore:
    """In a subprocess: the wandb client starts a service process and keeps global state."""
    store = folder / "store"
    env = {k: v for k, v in os.environ.items() if k != "WANDB_API_KEY"}
    module = "fixtures.stores." + pattern.replace("/", ".")
    code = f"from {module} import build; build({('wandb-offline:' + str(store))!r})"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=300,
                   capture_output=True)
    return BuiltStore(pattern, f"wandb-offline:{store}", None, (store,))


def _shared_build(shared: Path, pattern: str) -> BuiltStore:
    """Build `pattern` once per pytest run, across xdist workers too (a file lock serialises the
    build, a marker says it finished); a build that died half-way is redone."""
    folder = shared / "store-corpus" / pattern.replace("/", "-")
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock", timeout=600):
        marker = folder / "built.json"
        if marker.is_file():
            data = json.loads(marker.read_text())
            return BuiltStore(pattern, data["uri"], Path(data["db"]) if data["db"] else None,
                              tuple(Path(r) for r in data["roots"]))
        # Each attempt builds into a folder of its own: MLflow caches one store (and its sqlite
        # connections) per URI, so a retry at the same path would see the dead attempt's rows.
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        attempt = folder / f"build-{os.getpid()}-{time.time_ns()}"
        attempt.mkdir()
        store = (_build_wandb(pattern, attempt) if pattern in WANDB_PATTERNS
                 else _build_mlflow(pattern, attempt, empty_database(shared)))
        marker.write_text(json.dumps({"uri": store.uri, "db": str(store.db_path) if store.db_path else None,
                                      "roots": [str(r) for r in store.roots]}))
        return store


@pytest.fixture(scope="session")
def corpus(seeded_root: Path, tmp_path_factory: pytest.TempPathFactory):
    """`corpus(pattern)` -> the built store (built once per run, shared by xdist workers);
    `corpus.audit(pattern, mode)` -> its audit (once per worker). Treat the stores as read-only."""
    base = tmp_path_factory.mktemp("corpus")
    built: dict[str, BuiltStore] = {}
    audits: dict[tuple[str, str], Audit] = {}

    class Corpus:
        def __call__(self, pattern: str) -> BuiltStore:
            if pattern not in built:
                built[pattern] = _shared_build(seeded_root, pattern)
            return built[pattern]

        def audit(self, pattern: str, mode: str) -> Audit:
            if (pattern, mode) not in audits:
                store = self(pattern)
                out = base / "audits" / pattern.replace("/", "-") / mode
                workdir = out.parent / f"{mode}-cwd"  # no pyproject.toml here or above
                workdir.mkdir(parents=True)
                args = ["audit", "--tracking-uri", store.uri, "--out", str(out), "--no-progress"]
                if mode == "policy":
                    args += ["--config", str(STORES / f"{pattern}.policy.toml")]
                before = store.dump()
                with _cwd(workdir):
                    result = CliRunner().invoke(main, args)
                report = out / "report.json"
                audits[(pattern, mode)] = Audit(result.exit_code, result.output,
                                                report.read_text() if report.is_file() else None,
                                                before, store.dump())
            return audits[(pattern, mode)]

    return Corpus()


# --- The tests ----------------------------------------------------------------------------------

def _known_wrong(reason: str):
    """A verdict today's mltrack gets wrong: strict (it fails the day it passes) and only for a
    failed assertion, so a store that did not build or a crash is a real failure, never an xfail."""
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)


def _cases():
    for pattern in PATTERNS:
        for mode in MODES:
            for check in CHECK_NAMES:
                reason = KNOWN_WRONG.get((pattern, check, mode))
                marks = [_known_wrong(reason)] if reason else []
                yield pytest.param(pattern, check, mode, marks=marks, id=f"{pattern}-{check}-{mode}")


def _per_store(known: set[tuple[str, str]], reason: str):
    for pattern in PATTERNS:
        for mode in MODES:
            marks = [_known_wrong(reason)] if (pattern, mode) in known else []
            yield pytest.param(pattern, mode, marks=marks, id=f"{pattern}-{mode}")


@pytest.mark.parametrize(("pattern", "check", "mode"), list(_cases()))
def test_verdict_matches_the_truth_table(corpus, pattern: str, check: str, mode: str) -> None:
    truth = truth_table(pattern)[(check, mode)]
    audit = corpus.audit(pattern, mode)
    assert audit.report is not None, f"no report.json (exit {audit.exit_code}): {audit.output[-300:]}"
    result = next(r for r in audit.report["results"] if r["name"] == check)
    assert result["status"] == truth, f"{check} on {pattern} ({mode}): true {truth}, got " \
                                      f"{result['status']}: {result['message']}"


@pytest.mark.parametrize(("pattern", "mode"), list(_per_store(KNOWN_EXIT_2, REFUSED)))
def test_exit_code_is_0_or_1(corpus, pattern: str, mode: str) -> None:
    audit = corpus.audit(pattern, mode)
    assert audit.exit_code in (0, 1), audit.output[-500:]


EXIT_CODE_WRONG: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize(("pattern", "mode"), [
    pytest.param(p, m, id=f"{p}-{m}", marks=[_known_wrong(EXIT_CODE_WRONG[(p, m)])]
                 if (p, m) in EXIT_CODE_WRONG else []) for p in PATTERNS for m in MODES])
def test_exit_code_follows_the_true_verdicts(corpus, pattern: str, mode: str) -> None:
    """0 when no check truly fails (warn and skip allowed), 1 when one does."""
    truth = truth_table(pattern)
    expected = 1 if any(truth[(c, mode)] == "fail" for c in CHECK_NAMES) else 0
    assert corpus.audit(pattern, mode).exit_code == expected


@pytest.mark.parametrize(("pattern", "mode"), [pytest.param(p, m, id=f"{p}-{m}") for p in PATTERNS for m in MODES])
def test_audit_leaves_the_store_unchanged(corpus, pattern: str, mode: str) -> None:
    audit = corpus.audit(pattern, mode)
    assert audit.before.files or audit.before.db_sha256, "the dump saw nothing: wrong folders"
    assert_unchanged(audit.before, audit.after)


def _reject_constant(name: str):
    # an assertion, so a known-wrong store's strict xfail (raises=AssertionError) still matches
    raise AssertionError(f"non-finite number {name} in report.json")


@pytest.mark.parametrize(("pattern", "mode"), list(_per_store(
        KNOWN_NOT_STRICT_JSON, "issue 14 item 4: report.json holds a bare NaN (diverged runs)")))
def test_report_json_is_strict_json(corpus, pattern: str, mode: str) -> None:
    audit = corpus.audit(pattern, mode)
    if audit.report_text is None:
        pytest.skip(f"no report (exit {audit.exit_code}); test_exit_code_is_0_or_1 covers it")
    json.loads(audit.report_text, parse_constant=_reject_constant)


_DANGLING = re.compile(r"(\b(in|of|for|from|among|over)|[:,(]|\(\))\s*$")


@pytest.mark.parametrize(("pattern", "mode"), list(_per_store(
        KNOWN_EMPTY_LIST, "issue 14 item 3: a message ends in an empty list (e.g. 'no inference runs in ')")))
def test_no_message_ends_in_an_empty_list(corpus, pattern: str, mode: str) -> None:
    audit = corpus.audit(pattern, mode)
    if audit.report is None:
        pytest.skip(f"no report (exit {audit.exit_code}); test_exit_code_is_0_or_1 covers it")
    dangling = [f"{r['name']}: {r['message']!r}" for r in audit.report["results"]
                if _DANGLING.search(r["message"]) or r["message"].rstrip().endswith("in production:")]
    assert not dangling, dangling


@pytest.mark.parametrize("pattern", PATTERNS)
def test_truth_table_is_complete_and_the_generator_plain(pattern: str) -> None:
    table = truth_table(pattern)
    assert set(table) == {(c, m) for c in CHECK_NAMES for m in MODES}, f"{pattern}.md misses rows"
    assert set(table.values()) <= STATUSES, sorted(set(table.values()) - STATUSES)
    assert (STORES / f"{pattern}.policy.toml").is_file()
    source = (STORES / f"{pattern}.py").read_text(encoding="utf-8")
    assert not re.search(r"^\s*(from|import)\s+mltrack\b", source, re.M), "generators never import mltrack"
    assert source.lstrip().startswith('"""'), "the module docstring names the real usage pattern"


def test_shared_generator_helper_is_plain_mlflow() -> None:
    source = (STORES / "_plain_mlflow.py").read_text(encoding="utf-8")
    assert not re.search(r"^\s*(from|import)\s+mltrack\b", source, re.M)


# --- The best run is the true best (policy mode, where the metric is stated) ---------------------

# NaN (diverged) trials no longer corrupt the ranking (issue 14 item 4): nothing known wrong.
KNOWN_WRONG_BEST: dict[tuple[str, str], str] = {}
RANKED_PATTERNS = [p for p in MLFLOW_PATTERNS + MORE_MLFLOW_PATTERNS if p != "empty_store"]


def _true_best_ids(store: BuiltStore, policy: dict) -> set[str]:
    """Read the store with MLflow itself: the finished, active runs of the policy's experiments
    whose finite metric is best by the policy's goal (all of them when tied)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=store.uri)
    ids = [client.get_experiment_by_name(name).experiment_id for name in policy["experiments"]]
    runs = [r for r in client.search_runs(ids, max_results=1000)
            if r.info.status == "FINISHED" and math.isfinite(r.data.metrics.get(policy["metric"], math.nan))]
    values = {r.info.run_id: r.data.metrics[policy["metric"]] for r in runs}
    best = (max if policy.get("metric_goal", "max") == "max" else min)(values.values())
    return {run_id for run_id, value in values.items() if value == best}


def _best_cases():
    for pattern in RANKED_PATTERNS:
        for check in ("recovery", "hparam-search"):
            reason = KNOWN_WRONG_BEST.get((pattern, check))
            marks = [_known_wrong(reason)] if reason else []
            yield pytest.param(pattern, check, marks=marks, id=f"{pattern}-{check}")


@pytest.mark.parametrize(("pattern", "check"), list(_best_cases()))
def test_named_best_run_is_the_true_best(corpus, pattern: str, check: str) -> None:
    import tomllib

    policy = tomllib.loads((STORES / f"{pattern}.policy.toml").read_text(encoding="utf-8"))
    audit = corpus.audit(pattern, "policy")
    result = next(r for r in audit.report["results"] if r["name"] == check)
    evidence = result["evidence"]
    named = evidence["best_run"] if check == "recovery" else (evidence["leaderboard"] or [None])[0]
    assert named is not None, result["message"]
    assert named["run_id"] in _true_best_ids(corpus(pattern), policy), result["message"]
