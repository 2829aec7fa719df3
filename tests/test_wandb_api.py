"""The `wandb://ENTITY/PROJECT` path on recorded API-shaped data.

W&B's cloud cannot be reached here, so this is the one place the project mocks: `FakeApi`
stands in for `wandb.Api()` and serves `fixtures/wandb/api_runs.json`. That file holds a
12-run W&B reference store in the shape `wandb.apis.public` 0.31 returns (attribute names of
`Run` and `Artifact`; versions and aliases as the server assigns them: `vN`, `latest`, and an
alias held by one version only). It was recorded from an offline reference store with
`python tests/test_wandb_api.py OUT_JSON` (see `record`), so the API translation must give the
same snapshot facts and the same verdicts as the offline reader on that store.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mltrack.pressure.policy import Policy
from mltrack.pressure.runner import run_offline
from mltrack.stores.wandb_api import read_projects, run_from_api
from mltrack.stores.wandb_mapping import build_snapshot

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "wandb" / "api_runs.json"
ENTITY = "mltrack"
PROJECTS = ["mltrack-reference", "mltrack-reference-inference"]


class FakeArtifact(SimpleNamespace):
    pass


class FakeRun:
    """The attributes of `wandb.apis.public.Run` the reader uses, from one recorded run."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        for key in ("id", "name", "entity", "project", "job_type", "state", "created_at", "config",
                    "tags", "metadata", "url", "group"):
            setattr(self, key, data.get(key))
        self.user = SimpleNamespace(username=data["user"]["username"]) if data.get("user") else None
        self.summary = SimpleNamespace(_json_dict=data["summary"])

    def logged_artifacts(self) -> list[FakeArtifact]:
        return [FakeArtifact(**{**a, "manifest": SimpleNamespace(entries={
            p: SimpleNamespace(size=e["size"]) for p, e in a["manifest"]["entries"].items()})})
            for a in self._data["logged_artifacts"]]

    def used_artifacts(self) -> list[FakeArtifact]:
        return [FakeArtifact(**a) for a in self._data["used_artifacts"]]


class FakeApi:
    """Serves recorded runs by `entity/project`; an unknown project raises like the real API."""

    def __init__(self, runs: list[dict[str, Any]]) -> None:
        self.recorded = runs
        self.asked: list[str] = []

    def runs(self, path: str, per_page: int = 50) -> list[FakeRun]:
        self.asked.append(path)
        entity, project = path.split("/")
        found = [FakeRun(r) for r in self.recorded if r["entity"] == entity and r["project"] == project]
        if not found:
            raise ValueError(f"Could not find project {project}")  # what the API says: not found
        return found


@pytest.fixture(scope="module")
def recorded() -> list[dict[str, Any]]:
    return json.loads(FIXTURE.read_text())


def test_api_runs_map_like_the_offline_reader(recorded) -> None:
    api = FakeApi(recorded)
    runs = read_projects(ENTITY, PROJECTS, api=api)
    assert api.asked == [f"{ENTITY}/{p}" for p in (*PROJECTS, "model-registry")]
    assert len(runs) == len(recorded)
    snap = build_snapshot(f"wandb://{ENTITY}/{PROJECTS[0]}", runs, server_version="wandb api (recorded)")
    model = snap.registered_model("mltrack-reference-classifier")
    assert model is not None and [v.version for v in model.versions] == ["0", "1", "2"]
    assert model.aliases["production"] == "2"
    promotions = json.loads(model.tags["mltrack.promotions"])
    assert [p["version"] for p in promotions] == ["0", "1", "2"]
    assert promotions[-1]["previous"] == "1"
    assert model.version("1").tags["mltrack.production_until"] == promotions[-1]["promoted_at"]
    training = [r for r in snap.runs if r.experiment_id == "mltrack-reference"]
    assert len({r.user for r in training}) == 3
    assert all(r.status == "FINISHED" and r.params["data_hash"] for r in training)
    inference = [r for r in snap.runs if r.tags.get("mltrack.run_type") == "inference"]
    assert len(inference) == 12 and all(r.params["model_version"] in {"0", "1", "2"} for r in inference)


def test_api_snapshot_gives_the_offline_verdicts(recorded) -> None:
    snap = build_snapshot("wandb://mltrack/mltrack-reference", read_projects(ENTITY, PROJECTS, api=FakeApi(recorded)),
                          server_version=None)
    results = {r.name: r.status.value for r in run_offline(snap, Policy())}
    assert {n for n, s in results.items() if s != "pass"} == {"long-term-repro"}, results
    assert results["long-term-repro"] == "skip"


def test_api_states_and_times() -> None:
    data = {"id": "r1", "name": "x", "entity": "e", "project": "p", "job_type": "training",
            "state": "crashed", "created_at": "2026-01-02T03:04:05", "config": {"lr": 0.1},
            "tags": ["mltrack.keep=true"], "metadata": {"git": {"commit": "abc", "remote": "r"}},
            "user": {"username": "dora"}, "summary": {"_runtime": 2.5, "val_acc": 0.5},
            "logged_artifacts": [], "used_artifacts": [{"name": "m:v3", "type": "model"}], "url": "u"}
    run = run_from_api(FakeRun(data))
    assert (run.state, run.user, run.git_commit, run.used) == ("FAILED", "dora", "abc", ["m:v3"])
    assert run.start_time == 1767323045000 and run.end_time == run.start_time + 2500


# --------------------------------------------------------------------------- recording


def record(store_dir: Path) -> list[dict[str, Any]]:
    """Offline reference store -> the runs as the W&B API returns them after `wandb sync`."""
    import datetime as dt

    from mltrack.stores.wandb_mapping import _ordered_models
    from mltrack.stores.wandb_offline import read_directory

    runs = read_directory(store_dir).runs
    versions: dict[tuple[str, str], tuple[int, list[str]]] = {}
    for (_, _, name), arts in _ordered_models(runs).items():
        owner: dict[str, int] = {}
        for number, art in enumerate(arts):
            for alias in art.aliases:
                owner[alias] = number
        for number, art in enumerate(arts):
            aliases = [a for a, n in owner.items() if n == number] + [f"v{number}"]
            versions[(name, art.digest)] = (number, aliases + (["latest"] if number == len(arts) - 1 else []))
    out = []
    for run in runs:
        created = dt.datetime.fromtimestamp(run.start_time / 1000, dt.timezone.utc).replace(tzinfo=None)
        logged = []
        for art in run.logged:
            number, aliases = versions.get((art.name, art.digest), (0, ["v0", "latest"]))
            logged.append({"name": f"{art.name}:v{number}", "type": art.type, "digest": art.digest,
                           "version": f"v{number}", "aliases": aliases, "metadata": dict(art.metadata),
                           "entity": art.entity, "project": art.project,
                           "created_at": created.isoformat(timespec="seconds"),
                           "manifest": {"entries": {f.path: {"size": f.size} for f in art.files}}})
        summary = {k: v for k, v in run.summary.items() if k != "_wandb"}
        out.append({"id": run.run_id, "name": run.name, "entity": run.entity, "project": run.project,
                    "user": {"username": run.user}, "job_type": run.job_type,
                    "state": {"FINISHED": "finished", "FAILED": "failed"}.get(run.state, "running"),
                    "created_at": created.isoformat(timespec="seconds"),
                    "config": {k: v for k, v in run.config.items() if k != "_wandb"}, "summary": summary,
                    "tags": list(run.tags), "url": f"https://wandb.ai/{run.entity}/{run.project}/runs/{run.run_id}",
                    "metadata": {"git": {"commit": run.git_commit, "remote": run.git_remote}},
                    "logged_artifacts": logged, "used_artifacts": []})
    return out


if __name__ == "__main__":  # python tests/test_wandb_api.py OUT_JSON  (seeds a 12-run store first)
    import tempfile

    from mltrack.seed.wandb_seeder import seed_wandb

    with tempfile.TemporaryDirectory() as tmp:
        store = seed_wandb(Path(tmp) / "store", runs=12).out_dir
        Path(sys.argv[1]).write_text(json.dumps(record(store), indent=1, sort_keys=True) + "\n")


def test_api_without_a_key_is_a_one_line_unreachable_error(monkeypatch, tmp_path) -> None:
    from mltrack.errors import StoreUnreachable
    from mltrack.stores import open_store

    for key in ("WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "config"))
    with pytest.raises(StoreUnreachable) as caught:
        open_store("wandb://someone:secret@team/project").snapshot()
    assert "WANDB_API_KEY" in str(caught.value) and "\n" not in str(caught.value)
    assert "secret" not in str(caught.value)


def test_api_records_data_environment_and_crashes() -> None:
    """What W&B's server holds about a run beyond config and summary: the dataset artifacts it
    used (digest), its metadata (Python, program, git), its group, and a crash."""
    base = {"entity": "e", "project": "p", "job_type": "train", "created_at": "2026-01-02T03:04:05",
            "tags": [], "user": {"username": "dora"}, "logged_artifacts": [], "url": "u",
            "metadata": {"python": "CPython 3.10.14", "codePath": "train/fit.py",
                         "git": {"commit": "abc", "remote": "git@x:t/r.git"}}}
    used = [{"name": "clicks:v4", "type": "dataset", "digest": "d" * 32, "aliases": ["v4", "latest", "clean"],
             "version": "v4", "entity": "e", "project": "p", "metadata": {}},
            {"name": "m:v3", "type": "model"}]  # no digest: not read as data
    runs = [run_from_api(FakeRun({**base, "id": "r1", "name": "ok", "state": "finished", "config": {"lr": 0.1},
                                  "summary": {"_runtime": 2.0, "val_acc": 0.5}, "used_artifacts": used,
                                  "group": "sweep-a"})),
            run_from_api(FakeRun({**base, "id": "r2", "name": "boom", "state": "crashed", "config": {"lr": 0.2},
                                  "summary": {"_runtime": 1.0}, "used_artifacts": []}))]
    snap = build_snapshot("wandb://e/p", runs, server_version=None)
    ok, boom = snap.runs
    (dataset,) = ok.datasets
    assert (dataset.name, dataset.digest) == ("clicks", "d" * 32) and "clean" in dataset.source
    assert ok.params["data_hash"] == "d" * 32 and boom.datasets == () and "data_hash" not in boom.params
    assert ok.tags["python_version"] == "3.10.14" and ok.tags["mlflow.source.name"] == "train/fit.py"
    assert ok.tags["mlflow.source.git.commit"] == "abc" and ok.tags["wandb.group"] == "sweep-a"
    assert boom.status == "FAILED"
    assert snap.extras["onboarding_warnings"] == ["1 run crashed: 'boom'"]
    assert snap.extras["never_ended_runs"] == [] and snap.extras["never_synced_runs"] == []
