"""Seed the reference history into W&B offline runs (`mltrack seed --tracker wandb --out DIR`).

The same plan and training as the MLflow seeder (`plan.py`, `recipe.py`), logged with the real
`wandb` client in offline mode, so `DIR/wandb/offline-run-*` is what a W&B project writes:

- training runs (project `mltrack-reference`, job type `training`, one W&B user each through
  `WANDB_USERNAME`): `wandb.init(config=<the reproduction fields>)`, `wandb.log` per epoch, the
  data version as a `dataset` artifact (a checksummed reference to the CSVs, so its digest is
  the data version), and the run's weights as a `model` artifact `run-<id>-model`;
- registration runs (project `model-registry`, as W&B's registry) log the promoted weights into
  the `mltrack-reference-classifier` model collection with alias `production`; each carries its
  promotion record (`mltrack.promotion` in the artifact metadata: promoted_at, previous, by)
  because a W&B alias keeps no history;
- inference runs (project `mltrack-reference-inference`, job type `inference`) predict with the
  promoted model and log the lineage fields in their config. `use_artifact` raises in offline
  mode ("Cannot use artifact when in offline mode"), so the model is named in the config only.

W&B cannot backdate a run (its start time is the client clock), so the timeline's dates survive
only as `inference_timestamp`/`promoted_at` values, and `long-term-repro` skips on W&B.
`--break CHECK` follows the break plan both seeders read (`breaks.py`); for `artifact-cleanup`
the run behind the first registered version is deleted (W&B has no soft delete).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mltrack import conventions as cv
from mltrack.errors import SeedError, StoreNotEmpty
from mltrack.seed.breaks import BreakPlan, Omissions, plan_for, validate_break
from mltrack.stores.wandb_mapping import REGISTRY_PROJECT
from mltrack.envvars import temporary_environ

ENTITY = "mltrack"
REGISTRATION_JOB = "registration"
DEFAULT_RUNS = 120
Progress = Callable[[int, "int | None", str], None]
# Trained results by (config, data dir): recipe.train is deterministic, so seeding several
# variants in one process (the break stores in a test session) trains each config once.
_TRAINED: dict[tuple[Any, str], tuple[Any, list[dict]]] = {}


@dataclass
class WandbSeedSummary:
    out_dir: Path
    training_runs: int = 0
    inference_runs: int = 0
    versions: list[str] = field(default_factory=list)
    run_ids: dict[int, str] = field(default_factory=dict)  # plan index -> W&B run id
    deleted_runs: list[str] = field(default_factory=list)
    break_check: str | None = None

    @property
    def uri(self) -> str:
        return f"wandb-offline:{self.out_dir}"


@contextlib.contextmanager
def _offline_env(out_dir: Path) -> Iterator[None]:
    """Offline, quiet, and every file (artifact staging included) under `out_dir`."""
    wanted = {
        "WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(out_dir),
        "WANDB_DATA_DIR": str(out_dir / ".wandb-data"), "WANDB_CACHE_DIR": str(out_dir / ".wandb-cache"),
        "WANDB_CONFIG_DIR": str(out_dir / ".wandb-config"), "WANDB_CONSOLE": "off",
    }
    with temporary_environ(wanted):
        yield


def _settings(user: str, git_commit: str | None) -> Any:
    import wandb

    git = {"git_commit": git_commit} if git_commit else {"disable_git": True}
    return wandb.Settings(mode="offline", username=user, x_disable_stats=True, console="off",
                          silent=True, save_code=False, disable_job_creation=True, **git)


def _native(params: dict[str, str], slot: Any) -> dict[str, Any]:
    """The config as a W&B user logs it: numbers as numbers, the rest as the MLflow params."""
    cfg = slot.config
    typed = {cv.PARAM_LEARNING_RATE: cfg.learning_rate, cv.PARAM_BATCH_SIZE: cfg.batch_size,
             cv.PARAM_EPOCHS: cfg.epochs, cv.PARAM_SEED: cfg.random_seed}
    return {key: typed.get(key, value) for key, value in params.items()}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def seed_wandb(out_dir: Path | str, runs: int = DEFAULT_RUNS, break_check: str | None = None,
               progress: Progress | None = None, data_dir: Path | None = None,
               now: datetime | None = None, force: bool = False) -> WandbSeedSummary:
    """Train the reference runs and write them as W&B offline runs under `out_dir/wandb`
    (`force`: first delete the offline runs already there)."""
    from mltrack.seed import plan

    break_check = validate_break(break_check)
    if runs < plan.MIN_RUNS:
        raise SeedError(f"--runs must be at least {plan.MIN_RUNS} (got {runs})")
    out = Path(out_dir).expanduser().resolve()
    existing = sorted((out / "wandb").glob("offline-run-*"))
    if existing and not force:
        raise StoreNotEmpty(f"{out}/wandb already holds {len(existing)} offline runs",
                            hint="pass an empty --out directory, or --force to replace them")
    for folder in existing:
        shutil.rmtree(folder)
    out.mkdir(parents=True, exist_ok=True)
    try:
        import wandb
    except ImportError:
        raise SeedError("the wandb package is not installed", hint="pip install 'mltrack[wandb]'") from None
    with _offline_env(out):
        try:
            return _seed(out, runs, break_check, progress, data_dir, now or datetime.now(timezone.utc))
        finally:
            # The service process writes run logs asynchronously; shutting it down flushes them.
            wandb.teardown()


def _seed(out: Path, runs: int, break_check: str | None, progress: Progress | None,
          data_dir: Path | None, now: datetime) -> WandbSeedSummary:
    """Train, log the training runs, register and use the versions, then the after-the-fact breaks."""
    from mltrack.seed import plan
    from mltrack.seed.dataset import default_data_dir

    breaks = plan_for(break_check)
    job = _Job(out, breaks, Path(data_dir or default_data_dir()), now, progress,
               WandbSeedSummary(out, break_check=break_check))
    configs = plan.search_configs(runs, single_config=breaks.one_configuration)
    job.train(configs)
    timeline = plan.build_timeline(configs, [job.results[i].history[-1]["val_acc"] for i in range(len(configs))],
                                   now, single_user=breaks.one_user)
    job.log_training_runs(timeline)
    job.register_and_infer(timeline)
    job.apply_later_breaks(timeline)
    return job.summary


@dataclass
class _Job:
    """One seeding into `out`: the break plan it follows and what it has trained and written so far."""

    out: Path
    breaks: BreakPlan
    data_root: Path
    now: datetime
    progress: Progress | None
    summary: WandbSeedSummary
    results: dict[int, Any] = field(default_factory=dict)  # plan index -> recipe.TrainResult
    states: dict[int, list[dict]] = field(default_factory=dict)  # plan index -> per-epoch state dicts

    def _report(self, done: int, total: int, what: str) -> None:
        if self.progress:
            self.progress(done, total, what)

    def train(self, configs: list[Any]) -> None:
        from mltrack.seed import recipe

        for index, config in enumerate(configs):
            key = (config, str(self.data_root))
            if key not in _TRAINED:  # deterministic: the same config trains to the same weights
                epoch_states: list[dict] = []
                result = recipe.train(config, self.data_root, on_epoch=lambda _s, m, keep=epoch_states: keep.append(  # type: ignore[misc]
                    {k: v.detach().clone() for k, v in m.state_dict().items()}))  # (mypy cannot type a lambda with a bound default)
                _TRAINED[key] = (result, epoch_states)
            self.results[index], self.states[index] = _TRAINED[key]
            self._report(index + 1, len(configs), "trained")

    def log_training_runs(self, timeline: Any) -> None:
        from mltrack.seed.provenance import current_provenance

        provenance = current_provenance()
        for done, slot in enumerate(timeline.slots, 1):
            self.summary.run_ids[slot.index] = self._training_run(
                slot, self.breaks.omissions(slot, timeline, self.now), provenance)
            self.summary.training_runs += 1
            self._report(done, len(timeline.slots), "logged to W&B")

    def _training_run(self, slot: Any, omit: Omissions, provenance: Any) -> str:
        """One training run: config, per-epoch metrics, and (unless omitted) data and model artifacts."""
        import wandb

        from mltrack.seed.writer import training_fields

        result = self.results[slot.index]
        params, _ = training_fields(slot, result, provenance, str(self.data_root / slot.config.data_version), omit)
        tags = [f"{cv.TAG_KEEP}=true"] if slot.keep else []
        commit = None if omit.seed_and_commit or provenance.git_commit == "unknown" else provenance.git_commit
        with wandb.init(project=cv.REFERENCE_EXPERIMENT, entity=ENTITY, dir=str(self.out), name=slot.name,
                        job_type=cv.RUN_TYPE_TRAINING, config=_native(params, slot), tags=tags,
                        settings=_settings(slot.user, commit)) as run:
            for epoch in result.history:
                run.log({k: epoch[k] for k in ("train_loss", "val_loss", "val_acc")}, step=int(epoch["step"]))
            if not omit.environment_and_artifacts:
                if not omit.data_hash:
                    data = wandb.Artifact(f"reference-data-{slot.config.data_version}", "dataset")
                    data.add_reference(f"file://{self.data_root / slot.config.data_version}", checksum=True)
                    run.log_artifact(data, aliases=[slot.config.data_version])
                _log_weights(run, f"run-{run.id}-model", result,
                             self.states[slot.index] if slot.every_epoch_checkpoints else [], aliases=["final"])
            return run.id

    def register_and_infer(self, timeline: Any) -> None:
        """Each promotion in turn: its registration run, then the inference runs that used it."""
        from mltrack.seed.dataset import INFERENCE_FILE, read_csv

        requests, _ = read_csv(self.data_root / "inference" / INFERENCE_FILE)
        registrar = timeline.slots[-1].user
        previous: str | None = None
        for number, promotion in enumerate(timeline.promotions):
            version = str(number)  # W&B numbers a collection's versions v0, v1, ...
            self._registration_run(version, promotion, previous, registrar)
            self.summary.versions.append(version)
            previous = version
            source = promotion.run_index
            for slot in (s for s in timeline.inferences if s.version == promotion.version):
                _inference_run(self.out, slot, self.results[source].final_model, requests, version,
                               self.summary.run_ids[source], omit_hashes=not self.breaks.inference_hashes)
                self.summary.inference_runs += 1

    def _registration_run(self, version: str, promotion: Any, previous: str | None, registrar: str) -> None:
        """Log the promoted weights into the model collection; the promotion record rides in the
        artifact metadata, because a W&B alias keeps no history."""
        import wandb

        result = self.results[promotion.run_index]
        metadata: dict[str, Any] = {cv.VERSION_TAG_METRIC: result.history[-1]["val_acc"],
                                    cv.VERSION_TAG_DATA_VERSION: result.config.data_version,
                                    cv.VERSION_TAG_RUN_ID: self.summary.run_ids[promotion.run_index]}
        if self.breaks.promotion_records:
            metadata["mltrack.promotion"] = {"alias": cv.PRODUCTION_ALIAS, "promoted_at": _iso(promotion.promoted_at),
                                             "previous": previous, "by": registrar}
        aliases = [cv.PRODUCTION_ALIAS] if self.breaks.production_alias else []
        with wandb.init(project=REGISTRY_PROJECT, entity=ENTITY, dir=str(self.out), job_type=REGISTRATION_JOB,
                        name=f"register-{cv.REGISTERED_MODEL}-v{version}",
                        settings=_settings(registrar, None)) as run:
            run.log({cv.METRIC: result.history[-1]["val_acc"]})  # the metric it was promoted on
            _log_weights(run, cv.REGISTERED_MODEL, result, [], aliases=aliases, metadata=metadata)

    def apply_later_breaks(self, timeline: Any) -> None:
        """The breaks that act on the written history: extra scratch runs, a deleted run."""
        from mltrack.seed import plan

        if self.breaks.scratch_runs:
            _scratch_runs(self.out, plan.USERS)
        if self.breaks.delete_first_version_run:
            self.summary.deleted_runs.append(
                _delete_run(self.out, self.summary.run_ids[timeline.promotions[0].run_index]))


def _log_weights(run: Any, name: str, result: Any, epoch_states: list[dict], *, aliases: list[str],
                 metadata: dict[str, Any] | None = None) -> None:
    """A `model` artifact: the whole module (`model.pt`, loads with torch.load), the best and final
    state dicts, and per-epoch checkpoints when the plan asks for them."""
    import torch
    import wandb

    with tempfile.TemporaryDirectory(prefix="mltrack-wandb-") as tmp:
        folder = Path(tmp)
        torch.save(result.final_model, folder / "model.pt")
        torch.save(result.best_state_dict, folder / "best.pt")
        for step, state in enumerate(epoch_states):
            torch.save(state, folder / f"epoch-{step:02d}.pt")
        artifact = wandb.Artifact(name, "model", metadata=metadata or {})
        artifact.add_dir(str(folder))
        run.log_artifact(artifact, aliases=aliases)


def _inference_run(out: Path, slot: Any, model: Any, requests: Any, version: str, training_run_id: str,
                   omit_hashes: bool) -> None:
    import hashlib

    import wandb

    from mltrack.seed.recipe import predict
    from mltrack.seed.writer import INFERENCE_BATCH_ROWS, _table, inference_name

    rows = requests[slot.batch * INFERENCE_BATCH_ROWS:(slot.batch + 1) * INFERENCE_BATCH_ROWS]
    predictions = predict(model, rows)
    input_bytes = _table([f"f{i}" for i in range(rows.shape[1])], [[f"{v:.4f}" for v in row] for row in rows])
    output_bytes = _table(["row", "prediction"], [[i, int(p)] for i, p in enumerate(predictions)])
    config = {"model_name": cv.REGISTERED_MODEL, "model_version": version,
              "model_artifact": f"{ENTITY}/{REGISTRY_PROJECT}/{cv.REGISTERED_MODEL}:v{version}",
              "input_data_hash": hashlib.sha256(input_bytes).hexdigest(),
              "predictions_hash": hashlib.sha256(output_bytes).hexdigest(),
              "inference_timestamp": _iso(slot.at), "training_run_id": training_run_id}
    if omit_hashes:
        del config["input_data_hash"], config["predictions_hash"]
    with wandb.init(project=cv.INFERENCE_EXPERIMENT, entity=ENTITY, dir=str(out), name=inference_name(slot.at),
                    job_type=cv.RUN_TYPE_INFERENCE, config=config, settings=_settings(slot.user, None)) as run, \
            tempfile.TemporaryDirectory(prefix="mltrack-infer-") as tmp:
        run.log({"n_predictions": len(predictions)})
        (Path(tmp) / "input.csv").write_bytes(input_bytes)
        (Path(tmp) / "predictions.csv").write_bytes(output_bytes)
        artifact = wandb.Artifact(f"predictions-{run.id}", "predictions")
        artifact.add_dir(tmp)
        run.log_artifact(artifact)


def _scratch_runs(out: Path, users: tuple[str, ...]) -> None:
    """The `onboarding` break: unnamed runs that never finish or log a metric. A run that crashed
    is one the client never closed: `finish(exit_code=1)` is the closest the client allows."""
    import wandb

    for index in range(3):
        # Deliberately failed runs (the break), so no context manager: it would finish them cleanly.
        run = wandb.init(  # noqa: MLT011
            project=f"{cv.REFERENCE_EXPERIMENT}-scratch", entity=ENTITY, dir=str(out),
            settings=_settings(users[index % len(users)], None))
        run.finish(exit_code=1)


def _delete_run(out: Path, run_id: str) -> str:
    """W&B has no soft delete: deleting a run removes its directory (its log and files)."""
    for folder in (out / "wandb").glob(f"offline-run-*-{run_id}"):
        shutil.rmtree(folder)
    return run_id
