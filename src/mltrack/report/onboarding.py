"""The onboarding report's data: what a new team member needs on day one, as plain JSON-ready
data (the HTML in `onboarding_html.py` renders from it and nothing else).

Bounded by design, so a 1,000,000-run store gives a page of the same size as a 100-run one:
tables stop at a few dozen rows and say how many more there are ("and N more"); plots SAMPLE
(never bin): at most MAX_POINTS runs or steps, evenly strided and deterministic (the top runs
always included), and each plot's data carries how many were drawn of how many, which its
caption states. Metric histories are read for the top runs only.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mltrack import conventions
from mltrack.model import CheckResult, RunRecord, RunTable, StoreSnapshot
from mltrack.ranking import finite, rank
from mltrack.report.schema import mask_results
from mltrack.secrets import mask_fields, mask_value
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
    from mltrack.pressure.base import field_value, is_inference, ranked

    now_ms = now_ms or int(time.time() * 1000)
    # Secrets are masked in the data, before anything reads a param or a tag, so the page (and
    # whatever else renders this data) never holds one: see mltrack.secrets.
    snapshot, masked_in_store = _masked_snapshot(snapshot)
    results, masked_in_checks = mask_results(tuple(results))
    active = [r for r in snapshot.runs if r.lifecycle_stage == "active"]
    training = [r for r in active if not is_inference(r, policy)]
    names = {e.experiment_id: e.name for e in snapshot.experiments}
    fields = dict(policy.required_fields)
    main = _main_experiment(snapshot, policy, training)
    main_runs = [r for r in training if r.experiment_id == main]
    top = ranked(main_runs, policy)[:TOP_RUNS]
    data = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_ms / 1000)),
        "uri": redact(snapshot.uri), "tracker": snapshot.tracker, "server_version": snapshot.server_version,
        "metric": policy.metric, "metric_goal": policy.metric_goal,
        "totals": {"experiments": sum(1 for e in snapshot.experiments if e.lifecycle_stage == "active"),
                   "runs": len(active), "users": len({r.user for r in active if r.user}),
                   "registered_models": len(snapshot.registered_models)},
        "fields": list(fields),
        "experiments": _experiments(active, names, fields, field_value, is_inference),
        "users": _users(training, fields, field_value),
        "leaderboards": _leaderboards(training, names, policy, ranked),
        "leaderboards_more": max(0, len({r.experiment_id for r in training}) - MAX_BOARDS),
        "main_experiment": names.get(main, main),
        "learning_curves": _curves(top, policy.metric, history),
        "hparams": _hparams(main_runs, policy.metric, {r.run_id for r in top}),
        "over_time": _over_time(main_runs, policy.metric),
        "production": _production(snapshot, policy, active),
        "production_more": max(0, _in_production(snapshot, policy) - MAX_TABLE_ROWS),
        "checks": [r.to_dict() for r in results],
        "glossary": [list(item) for item in GLOSSARY],
    }
    data, masked_elsewhere = mask_value("", data)  # anything else secret-shaped, by value
    data["masked_secrets"] = masked_in_store + masked_in_checks + masked_elsewhere
    return data


def _masked_snapshot(snapshot: StoreSnapshot) -> tuple[StoreSnapshot, int]:
    """The snapshot with secret-looking param and tag values (runs, models, versions) masked,
    and how many values were. Records without one are kept as they are (no copies)."""
    total = 0

    def masked(record: Any, **fields: Any) -> Any:
        nonlocal total
        changed = {}
        for name, values in fields.items():
            clean, count = mask_fields(values)
            if count:
                changed[name], total = clean, total + count
        return dataclasses.replace(record, **changed) if changed else record

    runs = RunTable(masked(r, params=r.params, tags=r.tags) for r in snapshot.runs)
    models = []
    for model in snapshot.registered_models:
        versions = tuple(masked(v, tags=v.tags) for v in model.versions)
        model = masked(model, tags=model.tags)
        changed = any(new is not old for new, old in zip(versions, model.versions))
        models.append(dataclasses.replace(model, versions=versions) if changed else model)
    if not total:
        return snapshot, 0
    return dataclasses.replace(snapshot, runs=runs, registered_models=tuple(models)), total


def _main_experiment(snapshot: StoreSnapshot, policy: Policy, training: list[RunRecord]) -> str:
    counts = Counter(r.experiment_id for r in training)
    if not policy.is_set("experiments"):  # inferred: every experiment, so the one most trained in
        named = [e.experiment_id for n in policy.experiments if (e := snapshot.experiment(n)) is not None]
        if any(counts.get(i) for i in named):
            return max(named, key=lambda i: (counts.get(i, 0), -named.index(i)))
    for name in policy.experiments:
        if (exp := snapshot.experiment(name)) is not None:
            return exp.experiment_id
    return counts.most_common(1)[0][0] if counts else ""


def _completeness(runs: list[RunRecord], fields: dict, field_value) -> tuple[float | None, dict[str, int]]:
    missing = {name: sum(1 for r in runs if field_value(r, synonyms) is None) for name, synonyms in fields.items()}
    slots = len(runs) * len(fields)
    return (None if not slots else round(1 - sum(missing.values()) / slots, 3)), missing


def _experiments(active, names, fields, field_value, is_inference) -> dict[str, Any]:
    grouped: dict[str, list[RunRecord]] = defaultdict(list)
    for run in active:
        grouped[run.experiment_id].append(run)
    rows = []
    for exp_id, runs in sorted(grouped.items(), key=lambda kv: -len(kv[1])):
        training = [r for r in runs if not is_inference(r)]
        score, missing = _completeness(training, fields, field_value)
        starts = [r.start_time for r in runs if r.start_time]
        users = Counter(r.user or "(unknown)" for r in runs)
        rows.append({"name": names.get(exp_id, exp_id), "runs": len(runs), "users": len(users),
                     "top_users": [u for u, _ in users.most_common(3)],
                     "first_run": _iso(min(starts)) if starts else None,
                     "last_run": _iso(max(starts)) if starts else None,
                     "completeness": score, "missing": {k: v for k, v in missing.items() if v},
                     "finished": sum(1 for r in runs if r.status == "FINISHED")})
    return {"rows": rows[:MAX_TABLE_ROWS], "more": max(0, len(rows) - MAX_TABLE_ROWS)}


def _users(training, fields, field_value) -> dict[str, Any]:
    grouped: dict[str, list[RunRecord]] = defaultdict(list)
    for run in training:
        grouped[run.user or "(unknown)"].append(run)
    rows = []
    for user, runs in sorted(grouped.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        score, missing = _completeness(runs, fields, field_value)
        starts = [r.start_time for r in runs if r.start_time]
        rows.append({"user": user, "runs": len(runs), "experiments": len({r.experiment_id for r in runs}),
                     "last_run": _iso(max(starts)) if starts else None, "completeness": score,
                     "missing": {k: v for k, v in missing.items() if v}})
    return {"rows": rows[:MAX_TABLE_ROWS], "more": max(0, len(rows) - MAX_TABLE_ROWS)}


def _leaderboards(training, names, policy, ranked) -> list[dict[str, Any]]:
    grouped: dict[str, list[RunRecord]] = defaultdict(list)
    for run in training:
        grouped[run.experiment_id].append(run)
    boards = []
    for exp_id, runs in sorted(grouped.items(), key=lambda kv: -len(kv[1]))[:MAX_BOARDS]:
        order = rank(runs, policy.metric, policy.higher_is_better)
        best = order.best_first[:TOP_RUNS]
        if not best:
            continue
        boards.append({
            "experiment": names.get(exp_id, exp_id), "scored_runs": len(order.best_first),
            # NaN / inf: diverged, never on the board, but named so nobody wonders where they went
            "diverged": [{"run_id": r.run_id, "name": r.name, "metric": str(r.metrics[policy.metric])}
                         for r in order.diverged[:MAX_TABLE_ROWS]],
            "diverged_more": max(0, len(order.diverged) - MAX_TABLE_ROWS),
            "top": [{"run_id": r.run_id, "name": r.name, "user": r.user, "metric": r.metrics[policy.metric],
                     "started": _iso(r.start_time),
                     "params": {k: v for k, v in sorted(r.params.items()) if k not in PROVENANCE}} for r in best],
            "reproduce": _reproduce(best[0], policy),
        })
    return boards


def _reproduce(run: RunRecord, policy: Policy) -> dict[str, Any]:
    from mltrack.pressure.base import field_value

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


def _hparams(runs: list[RunRecord], metric: str, top_ids: set[str]) -> list[dict[str, Any]]:
    scored = [r for r in runs if finite(r.metrics.get(metric))]
    values: dict[str, set[str]] = defaultdict(set)
    for run in scored:
        for key, value in run.params.items():
            if key not in PROVENANCE and key != conventions.PARAM_SEED:
                values[key].add(value)
    varied = sorted((k for k, v in values.items() if 1 < len(v) <= max(50, len(scored) // 2)),
                    key=lambda k: (-len(values[k]), k))[:MAX_HPARAMS]
    sample = _sample(scored, top_ids)
    plots = []
    for key in sorted(varied):
        pairs = [(r.params[key], r.metrics[metric]) for r in sample if key in r.params]
        total = sum(1 for r in scored if key in r.params)
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
                          "categories_more": max(0, len(values[key]) - len(categories)),
                          "points": [[column[v], m] for v, m in pairs if v in column]})
    return plots


def _over_time(runs: list[RunRecord], metric: str) -> dict[str, Any]:
    scored = sorted((r for r in runs if r.start_time and finite(r.metrics.get(metric))),
                    key=lambda r: r.start_time or 0)
    changes: list[list[Any]] = []
    seen = None
    for run in scored:
        version = run.params.get(conventions.PARAM_DATA_VERSION) or run.params.get(conventions.PARAM_DATA_HASH)
        if version and version != seen:
            if seen is not None or not changes:
                changes.append([run.start_time, version[:12]])
            seen = version
    sample = _sample(scored, set())
    return {"points": [[r.start_time, r.metrics[metric]] for r in sample], "data_changes": changes[:20],
            "data_changes_more": max(0, len(changes) - 20), "runs": len(scored)}


def _in_production(snapshot: StoreSnapshot, policy: Policy) -> int:
    return sum(1 for m in snapshot.registered_models if m.aliases.get(policy.production_alias)
               or any(v.current_stage == "Production" for v in m.versions))


def _production(snapshot: StoreSnapshot, policy: Policy, active: list[RunRecord]) -> list[dict[str, Any]]:
    from mltrack.promotions import previous_version, read_promotions

    # Inference runs by the (model, version) they name, indexed in one pass: scanning every run
    # per model version took minutes on a 1,000,000-run store with dozens of models.
    inference: dict[tuple[str, str], list[RunRecord]] = defaultdict(list)
    for run in active:
        name = run.params.get("model_name") or run.tags.get("model_name")
        if name is not None:
            inference[str(name), str(run.params.get("model_version") or run.tags.get("model_version"))].append(run)
    models: list[dict[str, Any]] = []
    for model in snapshot.registered_models:
        if len(models) == MAX_TABLE_ROWS:  # the page shows these; the rest are only counted
            break
        current = model.aliases.get(policy.production_alias) or next(
            (v.version for v in model.versions if v.current_stage == "Production"), None)
        if current is None:
            continue
        records = read_promotions(model.tags)
        listing = [(v.version, v.current_stage, v.tags) for v in model.versions]
        previous, how = previous_version(str(current), records, listing, policy.production_alias)
        models.append({"model": model.name, "alias": policy.production_alias,
                       "current": _version_facts(snapshot, model, str(current), records, policy, inference),
                       "previous": _version_facts(snapshot, model, previous, records, policy, inference)
                       if previous else None,
                       "previous_from": how, "versions": len(model.versions)})
    return models


def _version_facts(snapshot, model, version: str, records, policy, inference) -> dict[str, Any]:
    from mltrack.promotions import promoted_at

    record = model.version(version)
    run = snapshot.run(record.run_id) if record and record.run_id else None
    inference = list(inference.get((model.name, str(version)), ()))
    inference.sort(key=lambda r: r.start_time or 0, reverse=True)
    return {
        "version": version, "run_id": record.run_id if record else None, "run_name": run.name if run else None,
        "run_deleted": bool(run and run.lifecycle_stage != "active"),
        "data_hash": (run.params.get(conventions.PARAM_DATA_HASH) if run else None),
        "data_version": (record.tags.get(conventions.VERSION_TAG_DATA_VERSION) if record else None)
        or (run.params.get(conventions.PARAM_DATA_VERSION) if run else None),
        "metric": (run.metrics.get(policy.metric) if run else None),
        "promoted_at": promoted_at(version, records, record.tags if record else {}),
        "inference_runs": len(inference), "latest_inference": [r.name or r.run_id for r in inference[:3]],
    }


def _sample(runs: list[RunRecord], keep: set[str]) -> list[RunRecord]:
    """At most MAX_POINTS runs, evenly strided (deterministic), always including `keep`."""
    if len(runs) <= MAX_POINTS:
        return list(runs)
    stride = len(runs) / MAX_POINTS
    picked = {runs[int(i * stride)].run_id for i in range(MAX_POINTS)} | keep
    return [r for r in runs if r.run_id in picked]


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
