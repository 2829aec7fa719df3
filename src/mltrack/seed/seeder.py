"""`seed_store`: train the reference runs and write the reference history into an MLflow store.

Steps: check the store answers (within 10 s) and holds no reference experiment (or clear it with
`force`), train the search (pure torch), place the runs in time, write them (a few threads over
HTTP), log and register three model versions with their production history, run inference with
each, then apply the requested `--break`.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mltrack import conventions as cv
from mltrack.errors import SeedError, UsageError
from mltrack.seed import plan as planning
from mltrack.seed.breaks import BreakPlan, plan_for
from mltrack.seed.store_access import INCOMPLETE_TAG, artifact_root, clear_reference, connect
from mltrack.seed.store_access import refuse_if_seeded
from mltrack.seed.writer import training_fields, write_inference_run, write_scratch_runs
from mltrack.seed.writer import write_training_run
from mltrack.uri import parse
from mltrack.envvars import temporary_environ

SCRATCH_EXPERIMENT = "mltrack-reference-scratch"
HTTP_WORKERS = 4

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SeedSummary:
    uri: str  # redacted
    training_runs: int
    inference_runs: int
    experiment_ids: dict[str, str]
    model_name: str
    versions: tuple[str, ...]
    production_version: str | None
    previous_production_version: str | None
    users: tuple[str, ...]
    best_run_name: str
    best_val_acc: float
    break_check: str | None
    elapsed_seconds: float


def seed_store(uri: str, runs: int = 120, break_check: str | None = None, force: bool = False,
               progress: Progress | None = None, *, now: datetime | None = None,
               workers: int | None = None) -> SeedSummary:
    """Seed `uri` with the reference history (docs/reference-store.md); see the module docstring.

    `now` fixes the timeline's reference point (default: the current time); `workers` is the
    number of writer threads (default 4 over HTTP, 1 into a database, where writes serialise).
    """
    started = time.perf_counter()
    breaks = plan_for(break_check)
    if runs < planning.MIN_RUNS:
        raise UsageError(f"--runs must be at least {planning.MIN_RUNS} (got {runs})")
    parsed = parse(uri)
    if parsed.tracker != "mlflow":
        raise UsageError(f"{parsed.redacted} is a W&B URI; use `mltrack seed --tracker wandb --out DIR`")
    import mlflow  # noqa: F401 - configures mlflow's loggers, which we then quieten

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    client = connect(parsed)
    if force:
        clear_reference(client, (cv.REFERENCE_EXPERIMENT, cv.INFERENCE_EXPERIMENT, SCRATCH_EXPERIMENT))
    else:
        refuse_if_seeded(client, parsed)
    moment = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    job = _Job(parsed.raw, client, break_check, breaks, progress, moment,
               workers or (HTTP_WORKERS if parsed.scheme in {"http", "https"} else 1))
    from mltrack.seed.registry import fluent_uri

    try:
        # The registry resolves `models:/m-…` sources through the global tracking URI, so the
        # whole job points mlflow's fluent API at the target store (and restores it after).
        with fluent_uri(parsed.raw), _quiet_mlflow():
            return job.run(runs, parsed.redacted, started)
    except Exception as exc:
        from mlflow.exceptions import MlflowException

        if isinstance(exc, MlflowException):
            raise SeedError(f"seeding {parsed.redacted} failed: {exc.message.splitlines()[0]}") from None
        raise


@contextlib.contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """No "View run at" line per run (over HTTP that also costs a get_run each) and no
    download progress bars: the seed command prints its own progress."""
    quiet = {"MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
             "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    with temporary_environ(quiet):
        yield


class _Job:
    def __init__(self, uri: str, client: Any, break_check: str | None, breaks: BreakPlan,
                 progress: Progress | None, now: datetime, workers: int) -> None:
        self.uri, self.client, self.brk, self.now = uri, client, break_check, now
        self.breaks = breaks  # what the history lacks: the seeder only translates it into writes
        self.progress, self.done, self.total = progress, 0, 0
        self.workers = workers
        self.local = threading.local()
        self.lock = threading.Lock()

    def _tick(self) -> None:
        with self.lock:
            self.done += 1
            if self.progress:
                self.progress(self.done, self.total)

    def _client(self) -> Any:
        from mlflow import MlflowClient

        if not hasattr(self.local, "client"):
            self.local.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return self.local.client

    def _experiment(self, name: str, description: str, tags: dict[str, str] | None = None) -> str:
        return self.client.create_experiment(name, artifact_location=self._location(name),
                                             tags={"mlflow.note.content": description, **(tags or {})})

    def run(self, runs: int, redacted_uri: str, started: float) -> SeedSummary:
        from mltrack.seed.provenance import current_provenance
        from mltrack.seed.recipe import train

        configs = planning.search_configs(runs, single_config=self.breaks.one_configuration)
        self.total = 2 * runs + 3 * planning.INFERENCE_PER_VERSION  # train, write, infer
        results, epoch_states = [], []
        for config in configs:
            states: list[dict] = []
            results.append(train(config, on_epoch=lambda _s, m, out=states: out.append(  # type: ignore[misc]
                copy.deepcopy(m.state_dict()))))  # (mypy cannot type a lambda with a bound default)
            epoch_states.append(states)
            self._tick()
        timeline = planning.build_timeline(configs, [r.history[-1]["val_acc"] for r in results],
                                           self.now, single_user=self.breaks.one_user)
        provenance = current_provenance()
        # Marked incomplete until the last write: an interrupted seed is recognised as such.
        train_exp = self._experiment(cv.REFERENCE_EXPERIMENT,
                                     "Reference hyperparameter search (mltrack seed).",
                                     {INCOMPLETE_TAG: "true"})
        infer_exp = self._experiment(cv.INFERENCE_EXPERIMENT,
                                     "Batch predictions of the registered reference classifier.")
        registered = {p.run_index for p in timeline.promotions}

        def write(slot: planning.Slot, finish: bool = True) -> str:
            omit = self.breaks.omissions(slot, timeline, self.now)
            fields = training_fields(slot, results[slot.index], provenance,
                                     f"fixtures/reference/data/{slot.config.data_version}", omit)
            run_id = write_training_run(self._client(), train_exp, slot, results[slot.index],
                                        epoch_states[slot.index], fields,
                                        not omit.environment_and_artifacts, finish)
            self._tick()
            return run_id

        run_ids: dict[int, str] = {}
        pool = ThreadPoolExecutor(self.workers)
        try:
            futures = {s.index: pool.submit(write, s) for s in timeline.slots if s.index not in registered}
            for index, future in futures.items():
                run_ids[index] = future.result()
        finally:  # on Ctrl-C, stop after the runs being written instead of writing all the rest
            pool.shutdown(wait=True, cancel_futures=True)
        model_infos = self._registered_runs(timeline, results, epoch_states, registered, write, run_ids,
                                            provenance.torch_version)
        versions = self._register(timeline, model_infos, run_ids, results)
        self._inference(timeline, infer_exp, versions, run_ids)
        experiment_ids = {cv.REFERENCE_EXPERIMENT: train_exp, cv.INFERENCE_EXPERIMENT: infer_exp}
        if self.breaks.delete_first_version_run:
            self.client.delete_run(run_ids[timeline.promotions[0].run_index])
        if self.breaks.scratch_runs:
            scratch = self.client.create_experiment(SCRATCH_EXPERIMENT, artifact_location=self._location(
                SCRATCH_EXPERIMENT))
            write_scratch_runs(self.client, scratch, planning.USERS, self.now)
            experiment_ids[SCRATCH_EXPERIMENT] = scratch
        self.client.delete_experiment_tag(train_exp, INCOMPLETE_TAG)  # the seed is complete
        best = max(timeline.slots, key=lambda s: (results[s.index].history[-1]["val_acc"], s.start))
        users = sorted({s.user for s in timeline.slots} | {s.user for s in timeline.inferences})
        production = versions[-1] if self.breaks.production_alias else None
        return SeedSummary(redacted_uri, len(timeline.slots), len(timeline.inferences), experiment_ids,
                           cv.REGISTERED_MODEL, tuple(versions), production,
                           versions[-2] if production and self.breaks.promotion_records else None,
                           tuple(users), best.name, results[best.index].history[-1]["val_acc"],
                           self.brk, round(time.perf_counter() - started, 2))

    def _location(self, name: str) -> str | None:
        root = artifact_root(parse(self.uri))
        return None if root is None else str(root / name)

    def _registered_runs(self, timeline, results, epoch_states, registered, write, run_ids,
                         torch_version) -> dict[int, Any]:
        """Runs that become model versions also log an MLflow model (in this thread: the fluent
        API's active run is per thread), then get their backdated end time."""
        from mltrack.seed.registry import log_pytorch_model
        from mltrack.seed.writer import ms

        infos = {}
        for slot in timeline.slots:
            if slot.index in registered:
                run_ids[slot.index] = write(slot, finish=False)
                infos[slot.index] = log_pytorch_model(run_ids[slot.index], results[slot.index],
                                                      torch_version)
                self.client.set_terminated(run_ids[slot.index], "FINISHED", end_time=ms(slot.end))
        return infos

    def _register(self, timeline, model_infos, run_ids, results) -> list[str]:
        from mltrack.seed.registry import register_versions

        return register_versions(
            self.client, timeline.promotions, model_infos, run_ids,
            {p.run_index: results[p.run_index] for p in timeline.promotions},
            record_promotions=self.breaks.promotion_records,
            archive_stages=self.breaks.promotion_records,
            production=self.breaks.production_alias, promoted_by=planning.USERS[0])

    def _inference(self, timeline, experiment_id, versions, run_ids) -> None:
        from mltrack.seed.dataset import INFERENCE_FILE, default_data_dir, read_csv
        from mltrack.seed.registry import load_version

        requests, _ = read_csv(Path(default_data_dir()) / "inference" / INFERENCE_FILE)
        source_run = {str(p.version): run_ids[p.run_index] for p in timeline.promotions}
        models = {v: load_version(v) for v in versions}
        for slot in timeline.inferences:
            version = versions[slot.version - 1]
            write_inference_run(self.client, experiment_id, slot, models[version], requests,
                                cv.REGISTERED_MODEL, source_run[str(slot.version)],
                                omit_hashes=not self.breaks.inference_hashes)
            self._tick()
