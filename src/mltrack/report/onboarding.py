"""The onboarding report's data: what a new team member needs on day one, as plain JSON-ready
data (the HTML in `onboarding_html.py` renders from it and nothing else).

Bounded by design, so a 1,000,000-run store gives a page of the same size as a 100-run one:
tables stop at a few dozen rows and say how many more there are ("and N more"); plots SAMPLE
(never bin): at most MAX_POINTS runs or steps, evenly strided and deterministic (the top runs
always included), and each plot's data carries how many were drawn of how many, which its
caption states. Metric histories are read for the top runs only.

Bounded in memory too: the runs are read as a stream, twice (a census that counts per
experiment, user and shown model version; then the main and leaderboard experiments), masked as
they pass (report/masked_runs.py), and only what the page shows is kept: counts, top-N by
mltrack.ranking's key (heapq), the sampled runs, distinct values per param up to the plotting
limit and the metric-over-time rows, the last two on disk past a thousand (report/streaming.py).
The data is the same as sorting every run in memory would give.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mltrack import conventions
from mltrack.model import CheckResult, RunRecord, RunTable, StoreSnapshot
from mltrack.ranking import diverged_value, finite
from mltrack.report.masked_runs import MaskedRunTable, masked_snapshot
from mltrack.report.schema import mask_results
from mltrack.report.streaming import DistinctValues, SortedSpill, TopN
from mltrack.secrets import mask_value
from mltrack.uri import redact

if TYPE_CHECKING:
    from mltrack.pressure.policy import Policy

MAX_TABLE_ROWS = 40
TOP_RUNS = 5
MAX_POINTS = 400
MAX_HPARAMS = 6
MAX_BOARDS = 10  # leaderboards: the experiments with the most training runs
MAX_CATEGORIES = 20  # a categorical hyperparameter plot's columns
MAX_PARAM_COLUMNS = 12  # a leaderboard's parameter columns
# Provenance, not hyperparameters: shown beside the command, never plotted or passed as flags.
PROVENANCE = frozenset({
    conventions.PARAM_GIT_COMMIT, conventions.PARAM_GIT_DIRTY, conventions.PARAM_DATA_HASH,
    conventions.PARAM_PYTHON_VERSION, conventions.PARAM_TORCH_VERSION, "data_path",
})
History = Callable[[str, str], Sequence[tuple[int, float, int]]]

GLOSSARY = (
    ("Run", "One execution of a training or inference script, with its parameters, metrics and artifacts."),
    ("Experiment", "A named group of runs that answer one question (e.g. a hyperparameter search)."),
    ("Parameter", "An input of a run (learning rate, batch size, data hash); logged once."),
    ("Metric", "A measured output of a run (val_acc), logged per step; the leaderboard uses the last value."),
    ("Artifact", "A file a run saved: checkpoints, plots, predictions, the model itself."),
    ("Registered model / version", "A named model in the registry; each version points at the run that trained it."),
    ("Alias", "A movable name for one version (`production`); rollback moves it back."),
    ("Data hash", "A fingerprint (sha256) of the training data: equal hashes mean the same data."),
    ("Lineage", "The chain data hash → training run → registered version → inference runs."),
    ("Tracking completeness", "The share of required reproduction fields (learning rate, batch size, optimizer, "
     "seed, git commit, data hash) that runs actually logged."),
    ("Pressure check", "A question the team is asked under pressure (which model is in production? roll back now!), "
     "answered against the live store by `mltrack audit`."),
)


def build_onboarding(snapshot: StoreSnapshot, policy: Policy, results: Sequence[CheckResult] = (),
                     history: History | None = None, now_ms: int | None = None) -> dict[str, Any]:
    from mltrack.run_facts import named_value as field_value
    from mltrack.run_kinds import is_inference_run

    def is_inference(run: RunRecord, policy: Policy | None = None) -> bool:  # as the checks tell it
        return is_inference_run(run, policy.metric if policy is not None else conventions.METRIC)

    now_ms = now_ms or int(time.time() * 1000)
    # Secrets are masked in the data, before anything reads a param or a tag, so the page (and
    # whatever else renders this data) never holds one: see mltrack.secrets. The runs are masked
    # as they stream past (a view, not a copy of the store).
    snapshot, masked_in_registry = masked_snapshot(snapshot)
    results, masked_in_checks = mask_results(tuple(results))
    names = {e.experiment_id: e.name for e in snapshot.experiments}
    fields = dict(policy.required_fields)
    shown_models = _production_plan(snapshot, policy)
    # Two passes over the runs: the census counts everything per experiment and per user; the
    # focus pass reads the main experiment and the leaderboards' experiments once those are known.
    census = _Census(fields, field_value, is_inference, policy,
                     wanted={pair for plan in shown_models for pair in plan.pairs})
    census.read(snapshot.runs)
    main = _main_experiment(snapshot, policy, census.training)
    board_ids = [i for i, _ in sorted(census.training.items(), key=lambda kv: -kv[1])[:MAX_BOARDS]]
    focus = _Focus(policy, main, board_ids, census.scored.get(main, 0), is_inference)
    try:
        focus.read(snapshot.runs)
        top = focus.main_top.result()
        data = {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_ms / 1000)),
            "uri": redact(snapshot.uri), "tracker": snapshot.tracker, "server_version": snapshot.server_version,
            "metric": policy.metric, "metric_goal": policy.metric_goal,
            "totals": {"experiments": sum(1 for e in snapshot.experiments if e.lifecycle_stage == "active"),
                       "runs": census.active, "users": len(census.users),
                       "registered_models": len(snapshot.registered_models)},
            "fields": list(fields),
            "experiments": _experiments(census, names, fields),
            "users": _users(census, fields),
            "leaderboards": _leaderboards(focus, board_ids, names, policy),
            "leaderboards_more": max(0, len(census.training) - MAX_BOARDS),
            "main_experiment": names.get(main, main),
            "learning_curves": _curves(top, policy.metric, history),
            "hparams": _hparams(focus, policy.metric),
            "over_time": _over_time(focus),
            "production": [plan.facts(snapshot, policy, census.inference) for plan in shown_models],
            "production_more": max(0, _in_production(snapshot, policy) - MAX_TABLE_ROWS),
            "checks": [r.to_dict() for r in results],
            "glossary": [list(item) for item in GLOSSARY],
        }
    finally:
        focus.close()
    data, masked_elsewhere = mask_value("", data)  # anything else secret-shaped, by value
    data["masked_secrets"] = census.masked + masked_in_registry + masked_in_checks + masked_elsewhere
    return data


def _rank_key(policy: Policy) -> Callable[[RunRecord], tuple[Any, ...]]:
    """mltrack.ranking's order (best first; ties newest first, then run id), as a sort key."""
    sign = -1 if policy.higher_is_better else 1
    metric = policy.metric
    return lambda r: (sign * r.metrics[metric], -(r.start_time or 0), r.run_id)


def _by_run_id(run: RunRecord) -> str:
    return run.run_id


@dataclasses.dataclass
class _Group:
    """Counts of one experiment's or one user's runs (the rows of the two tables)."""

    runs: int = 0
    users: Counter = dataclasses.field(default_factory=Counter)  # experiments: who ran them
    experiments: set = dataclasses.field(default_factory=set)  # users: where they ran
    first: int | None = None
    last: int | None = None
    finished: int = 0
    training: int = 0  # runs whose completeness is scored
    missing: Counter = dataclasses.field(default_factory=Counter)

    def started(self, ms: int | None) -> None:
        if ms:
            self.first = ms if self.first is None else min(self.first, ms)
            self.last = ms if self.last is None else max(self.last, ms)

    def scored(self, missing: list[str]) -> None:
        self.training += 1
        self.missing.update(missing)

    def completeness(self, fields: dict) -> tuple[float | None, dict[str, int]]:
        slots = self.training * len(fields)
        score = None if not slots else round(1 - sum(self.missing.values()) / slots, 3)
        return score, {k: self.missing[k] for k in fields if self.missing[k]}


class _Census:
    """The first pass: every run once, kept as counts per experiment, user and model version."""

    def __init__(self, fields: dict, field_value, is_inference, policy: Policy,
                 wanted: set[tuple[str, str]]) -> None:
        self.fields, self.field_value, self.is_inference, self.policy = fields, field_value, is_inference, policy
        self.masked = 0
        self.active = 0
        self.users: set[str] = set()
        self.experiments: dict[str, _Group] = {}  # active runs, by experiment id, in first-seen order
        self.people: dict[str, _Group] = {}  # training runs, by user
        self.training: Counter = Counter()  # training runs by experiment id, in first-seen order
        self.scored: Counter = Counter()  # ... of them holding a finite metric
        self.wanted = wanted
        # inference runs naming a shown (model, version): how many, and the newest three
        self.inference: dict[tuple[str, str], TopN] = {}

    def read(self, runs: RunTable) -> None:
        counted = runs.counted() if isinstance(runs, MaskedRunTable) else ((r, 0) for r in runs)
        for run, masked in counted:
            self.masked += masked
            if run.lifecycle_stage == "active":
                self.add(run)

    def add(self, run: RunRecord) -> None:
        self.active += 1
        if run.user:
            self.users.add(run.user)
        exp = self.experiments.get(run.experiment_id) or self.experiments.setdefault(run.experiment_id, _Group())
        exp.runs += 1
        exp.users[run.user or "(unknown)"] += 1
        exp.started(run.start_time)
        if run.status == "FINISHED":
            exp.finished += 1
        # The experiments table scores by the default metric's run kinds, the rest by the
        # policy's (the same answer when the metrics are): each worked out once a run.
        default_inference = self.is_inference(run)
        inference = (default_inference if self.policy.metric == conventions.METRIC
                     else self.is_inference(run, self.policy))
        missing = [] if default_inference and inference else self.missing(run)
        if not default_inference:
            exp.scored(missing)
        if not inference:
            self.training[run.experiment_id] += 1
            if finite(run.metrics.get(self.policy.metric)):
                self.scored[run.experiment_id] += 1
            user = run.user or "(unknown)"
            person = self.people.get(user) or self.people.setdefault(user, _Group())
            person.runs += 1
            person.experiments.add(run.experiment_id)
            person.started(run.start_time)
            person.scored(missing)
        self.add_inference(run)

    def missing(self, run: RunRecord) -> list[str]:
        return [name for name, synonyms in self.fields.items() if self.field_value(run, synonyms) is None]

    def add_inference(self, run: RunRecord) -> None:
        name = run.params.get("model_name") or run.tags.get("model_name")
        if name is not None and self.wanted:
            pair = (str(name), str(run.params.get("model_version") or run.tags.get("model_version")))
            if pair in self.wanted:
                newest = self.inference.get(pair) or self.inference.setdefault(
                    pair, TopN(3, key=lambda r: -(r.start_time or 0)))
                newest.add(run)


class _Focus:
    """The second pass: the training runs of the leaderboards' experiments and the main one."""

    def __init__(self, policy: Policy, main: str, boards: list[str], main_scored: int, is_inference) -> None:
        self.policy, self.main, self.is_inference = policy, main, is_inference
        key = _rank_key(policy)
        self.boards = {i: (TopN(TOP_RUNS, key), TopN(MAX_TABLE_ROWS, _by_run_id)) for i in boards}
        self.main_top: TopN = TopN(TOP_RUNS, key)
        self.main_top_indexed: TopN = TopN(TOP_RUNS, lambda item: key(item[1]))
        # hyperparameters: distinct values per param (a key with more than `limit` is never
        # plotted, so its set is dropped), runs holding each, and the strided sample
        self.main_scored = main_scored
        self.limit = max(50, main_scored // 2)
        self.values = DistinctValues(self.limit)
        self.holding: Counter = Counter()
        self.picks = _stride(main_scored)
        self.picked: list[tuple[int, RunRecord]] = []
        self.seen = 0
        self.over_time = SortedSpill()

    def wanted(self, run: RunRecord) -> bool:
        return run.lifecycle_stage == "active" and (run.experiment_id == self.main or run.experiment_id in self.boards)

    def read(self, runs: RunTable) -> None:
        metric = self.policy.metric
        for run in runs.where(self.wanted) if isinstance(runs, MaskedRunTable) else filter(self.wanted, runs):
            board = self.boards.get(run.experiment_id)
            if self.is_inference(run, self.policy):
                continue
            value = run.metrics.get(metric)
            if board is not None:
                if finite(value):
                    board[0].add(run)
                elif diverged_value(value):
                    board[1].add(run)
            if run.experiment_id == self.main and finite(value):
                self.main_top.add(run)
                self._note_hparams(run)
                if run.start_time:
                    version = (run.params.get(conventions.PARAM_DATA_VERSION)
                               or run.params.get(conventions.PARAM_DATA_HASH))
                    self.over_time.add(run.start_time, (run.start_time, value, version))

    def _note_hparams(self, run: RunRecord) -> None:
        index = self.seen
        self.seen += 1
        if index in self.picks:
            self.picked.append((index, run))
        else:
            self.main_top_indexed.add((index, run))  # the top runs are always drawn
        for key, value in run.params.items():
            if key in PROVENANCE or key == conventions.PARAM_SEED:
                continue
            self.holding[key] += 1
            self.values.add(key, value)

    def close(self) -> None:
        self.over_time.close()
        self.values.close()

    def hparam_sample(self) -> list[RunRecord]:
        """The strided sample of the main experiment's scored runs plus its top runs, in read order."""
        top_ids = {r.run_id for r in self.main_top.result()}
        extra = [item for item in self.main_top_indexed.result() if item[1].run_id in top_ids]
        return [run for _, run in sorted(self.picked + extra, key=lambda item: item[0])]


def _stride(count: int) -> set[int] | range:
    """Positions of at most MAX_POINTS items of `count`, evenly strided (all when fewer)."""
    if count <= MAX_POINTS:
        return range(count)
    stride = count / MAX_POINTS
    return {int(i * stride) for i in range(MAX_POINTS)}


def _main_experiment(snapshot: StoreSnapshot, policy: Policy, counts: Counter) -> str:
    if not policy.is_set("experiments"):  # inferred: every experiment, so the one most trained in
        named = [e.experiment_id for n in policy.experiments if (e := snapshot.experiment(n)) is not None]
        if any(counts.get(i) for i in named):
            return max(named, key=lambda i: (counts.get(i, 0), -named.index(i)))
    for name in policy.experiments:
        if (exp := snapshot.experiment(name)) is not None:
            return exp.experiment_id
    return counts.most_common(1)[0][0] if counts else ""


def _experiments(census: _Census, names: dict[str, str], fields: dict) -> dict[str, Any]:
    groups = sorted(census.experiments.items(), key=lambda kv: -kv[1].runs)
    rows = []
    for exp_id, group in groups[:MAX_TABLE_ROWS]:
        score, missing = group.completeness(fields)
        rows.append({"name": names.get(exp_id, exp_id), "runs": group.runs, "users": len(group.users),
                     "top_users": [u for u, _ in group.users.most_common(3)],
                     "first_run": _iso(group.first), "last_run": _iso(group.last),
                     "completeness": score, "missing": missing, "finished": group.finished})
    return {"rows": rows, "more": max(0, len(groups) - MAX_TABLE_ROWS)}


def _users(census: _Census, fields: dict) -> dict[str, Any]:
    groups = sorted(census.people.items(), key=lambda kv: (-kv[1].runs, kv[0]))
    rows = []
    for user, group in groups[:MAX_TABLE_ROWS]:
        score, missing = group.completeness(fields)
        rows.append({"user": user, "runs": group.runs, "experiments": len(group.experiments),
                     "last_run": _iso(group.last), "completeness": score, "missing": missing})
    return {"rows": rows, "more": max(0, len(groups) - MAX_TABLE_ROWS)}


def _leaderboards(focus: _Focus, board_ids: list[str], names: dict[str, str], policy: Policy) -> list[dict[str, Any]]:
    boards = []
    for exp_id in board_ids:
        scored, diverged = focus.boards[exp_id]
        best = scored.result()
        if not best:
            continue
        boards.append({
            "experiment": names.get(exp_id, exp_id), "scored_runs": scored.count,
            # NaN / inf: diverged, never on the board, but named so nobody wonders where they went
            "diverged": [{"run_id": r.run_id, "name": r.name, "metric": str(r.metrics[policy.metric])}
                         for r in diverged.result()],
            "diverged_more": max(0, diverged.count - MAX_TABLE_ROWS),
            "top": [{"run_id": r.run_id, "name": r.name, "user": r.user, "metric": r.metrics[policy.metric],
                     "started": _iso(r.start_time),
                     "params": {k: v for k, v in sorted(r.params.items()) if k not in PROVENANCE}} for r in best],
            "reproduce": _reproduce(best[0], policy),
        })
    return boards


def _reproduce(run: RunRecord, policy: Policy) -> dict[str, Any]:
    from mltrack.run_facts import named_value as field_value

    commit = field_value(run, conventions.REQUIRED_FIELDS[conventions.PARAM_GIT_COMMIT])
    data_hash = field_value(run, conventions.REQUIRED_FIELDS[conventions.PARAM_DATA_HASH])
    entry = policy.rerun_command or (f"python {run.tags['mlflow.source.name'].rsplit('/', 1)[-1]}"
                                     if run.tags.get("mlflow.source.name") else "python train.py")
    recorded = run.tags.get(conventions.TAG_COMMAND)
    flags = " ".join(f"--{k} {_quote(v)}" for k, v in sorted(run.params.items()) if k not in PROVENANCE)
    lines = [f"git checkout {commit}" if commit else "# git commit not recorded: the code version is unknown",
             recorded or f"{entry} {flags}".strip()]
    return {"run_id": run.run_id, "name": run.name, "git_commit": commit, "data_hash": data_hash,
            "data_version": run.params.get(conventions.PARAM_DATA_VERSION), "command": "\n".join(lines),
            "entry_point_known": bool(recorded or policy.rerun_command or run.tags.get("mlflow.source.name"))}


def _curves(top: list[RunRecord], metric: str, history: History | None) -> list[dict[str, Any]]:
    series = []
    for run in top:
        points: list[tuple[float, float]] = []
        if history is not None:
            try:
                # a step that diverged (NaN/inf) cannot be drawn: the curve skips it
                points = [(float(step), float(value)) for step, value, _ in history(run.run_id, metric)
                          if finite(value)]
            except Exception:  # noqa: BLE001 - one unreadable history must not sink the page
                points = []
        series.append({"label": run.name or run.run_id[:8], "run_id": run.run_id, "points": _thin(points),
                       "steps": len(points)})
    return series


def _hparams(focus: _Focus, metric: str) -> list[dict[str, Any]]:
    # how many distinct values each param that may be plotted holds (one past the limit may not)
    distinct = focus.values.counts()
    varied = sorted((k for k, n in distinct.items() if 1 < n <= focus.limit),
                    key=lambda k: (-distinct[k], k))[:MAX_HPARAMS]
    sample = focus.hparam_sample()
    plots = []
    for key in sorted(varied):
        pairs = [(r.params[key], r.metrics[metric]) for r in sample if key in r.params]
        total = focus.holding[key]
        numeric = all(_is_number(v) for v, _ in pairs)
        if numeric:
            xs = [float(v) for v, _ in pairs]
            log = min(xs) > 0 and max(xs) / min(xs) >= 50
            plots.append({"param": key, "kind": "numeric", "log": log, "runs": total,
                          "points": [[float(v), m] for v, m in pairs]})
        else:
            categories = sorted({v for v, _ in pairs})[:MAX_CATEGORIES]
            column = {v: i for i, v in enumerate(categories)}
            plots.append({"param": key, "kind": "categorical", "categories": categories, "runs": total,
                          "categories_more": max(0, distinct[key] - len(categories)),
                          "points": [[column[v], m] for v, m in pairs if v in column]})
    return plots


def _over_time(focus: _Focus) -> dict[str, Any]:
    """The main experiment's scored runs in start-time order (sorted on disk past a thousand):
    the strided sample of points and where the data version changed."""
    picks = _stride(focus.over_time.count)
    points: list[list[Any]] = []
    changes: list[list[Any]] = []
    more, seen = 0, None
    for index, (start, value, version) in enumerate(focus.over_time.sorted_rows()):
        if index in picks:
            points.append([start, value])
        if version and version != seen:
            if seen is not None or not changes:
                if len(changes) < 20:
                    changes.append([start, version[:12]])
                else:
                    more += 1
            seen = version
    return {"points": points, "data_changes": changes, "data_changes_more": more, "runs": focus.over_time.count}


def _in_production(snapshot: StoreSnapshot, policy: Policy) -> int:
    return sum(1 for m in snapshot.registered_models if m.aliases.get(policy.production_alias)
               or any(v.current_stage == "Production" for v in m.versions))


@dataclasses.dataclass(frozen=True)
class _ShownModel:
    """A model in production that the page shows: read from the registry alone, before the runs."""

    model: Any
    current: str
    previous: str | None
    previous_from: str
    records: Any

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return [(self.model.name, v) for v in (self.current, self.previous) if v]

    def facts(self, snapshot: StoreSnapshot, policy: Policy, inference: dict) -> dict[str, Any]:
        model, records = self.model, self.records
        return {"model": model.name, "alias": policy.production_alias,
                "current": _version_facts(snapshot, model, self.current, records, policy, inference),
                "previous": _version_facts(snapshot, model, self.previous, records, policy, inference)
                if self.previous else None,
                "previous_from": self.previous_from, "versions": len(model.versions)}


def _production_plan(snapshot: StoreSnapshot, policy: Policy) -> list[_ShownModel]:
    from mltrack.promotions import previous_version, read_promotions

    shown: list[_ShownModel] = []
    for model in snapshot.registered_models:
        if len(shown) == MAX_TABLE_ROWS:  # the page shows these; the rest are only counted
            break
        current = model.aliases.get(policy.production_alias) or next(
            (v.version for v in model.versions if v.current_stage == "Production"), None)
        if current is None:
            continue
        records = read_promotions(model.tags)
        listing = [(v.version, v.current_stage, v.tags) for v in model.versions]
        previous, how = previous_version(str(current), records, listing, policy.production_alias)
        shown.append(_ShownModel(model, str(current), previous, how, records))
    return shown


def _version_facts(snapshot, model, version: str, records, policy, inference) -> dict[str, Any]:
    from mltrack.promotions import promoted_at

    record = model.version(version)
    run = snapshot.run(record.run_id) if record and record.run_id else None
    # inference runs naming this version, counted in the census with the newest three kept
    newest = inference.get((model.name, str(version)))
    latest = newest.result() if newest is not None else []
    return {
        "version": version, "run_id": record.run_id if record else None, "run_name": run.name if run else None,
        "run_deleted": bool(run and run.lifecycle_stage != "active"),
        "data_hash": (run.params.get(conventions.PARAM_DATA_HASH) if run else None),
        "data_version": (record.tags.get(conventions.VERSION_TAG_DATA_VERSION) if record else None)
        or (run.params.get(conventions.PARAM_DATA_VERSION) if run else None),
        "metric": (run.metrics.get(policy.metric) if run else None),
        "promoted_at": promoted_at(version, records, record.tags if record else {}),
        "inference_runs": newest.count if newest is not None else 0,
        "latest_inference": [r.name or r.run_id for r in latest],
    }


def _thin(points: list[tuple[float, float]]) -> list[list[float]]:
    if len(points) <= MAX_POINTS:
        return [list(p) for p in points]
    stride = len(points) / MAX_POINTS
    return [list(points[int(i * stride)]) for i in range(MAX_POINTS)] + [list(points[-1])]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _quote(value: str) -> str:
    return value if value and all(c.isalnum() or c in "._-/:=" for c in value) else "'" + value.replace("'", "'\\''") + "'"


def _iso(ms: int | None) -> str | None:
    return None if ms is None else time.strftime("%Y-%m-%d %H:%M", time.gmtime(ms / 1000))
