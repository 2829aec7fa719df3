"""MLP04 data-change: did the data change, and what did it do to the metric?"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mltrack import conventions, run_facts
from mltrack.bounded import ExactMean, First
from mltrack.first_seen import FirstSeen
from mltrack.model import RunRecord, Status, StoreSnapshot
from mltrack.pressure.base import EVIDENCE_LIMIT, Check, Verdict, iso, rank_key, run_ref, training_runs
from mltrack.ranking import finite
from mltrack.pressure.policy import Policy

DOC = """\
## What it checks
Every finished training run carries a data hash: a param or tag among the `data_hash`
synonyms, or the digest MLflow recorded for a dataset input (`mlflow.log_input`, every autolog
fit; the training-context inputs when there are several). A child run of a sweep that records no
data takes its parent's. A data *path* does not count - the file behind a path changes
silently. When the hash changes over time within an experiment, reports the metric per data
version (runs, best, mean, first seen) and the shift between consecutive versions, and whether
the code (git commit) changed with it - so a drop is attributed to data or to code. Different
experiments train on different data; that is not a change.

## Why it matters
"Accuracy dropped last month - was it the data or the code?" needs a data version on every run.

## How it fails
`fail` lists the runs without a data hash (and says when they log only a data path).

## How to fix
Log the training data as a dataset input (`mlflow.log_input(mlflow.data.from_pandas(df))`
records its digest), or hash it and log the hash (`mlflow.log_param("data_hash", sha256)`);
lint rule `missing-data-version` flags training scripts that do not.
"""


MAX_SHOWN = 50  # data versions and shifts listed in the evidence (the counts are added past it)
MAX_SHIFTS_TOLD = 10  # shifts the message spells out


@dataclass
class _Version:
    """One data version of one experiment, aggregated while the runs stream by."""

    label: str  # how the first run seen with this data names it
    runs: int = 0
    first: int = 0  # earliest start time
    # the best run, as the evidence shows it (no record is held: a store may hold many versions)
    best_key: tuple[float, int, str] | None = None
    best_value: float | None = None
    best_run: dict[str, Any] | None = None
    mean: ExactMean = field(default_factory=ExactMean)
    commits: set[str] = field(default_factory=set)


VersionKey = tuple[str, str]  # (experiment id, data hash)


def _hashed_runs(snapshot: StoreSnapshot, policy: Policy, data_names: Iterable[str]
                 ) -> Iterator[tuple[RunRecord, RunRecord | None, str | None]]:
    """(run, its sweep parent, its data hash or None) for every finished training run."""
    for run in training_runs(snapshot, policy):
        if run.status == "FINISHED":
            parent = run_facts.parent_of(snapshot, run)
            yield run, parent, run_facts.data_hash(run, data_names, parent)


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    data_names = policy.required_fields.get(conventions.PARAM_DATA_HASH,
                                            conventions.REQUIRED_FIELDS[conventions.PARAM_DATA_HASH])
    # Pass 1: experiment id -> data hash -> when it was first seen, both in order of appearance
    # (a store whose every run has its own data holds one small entry per run, no records).
    first_seen = FirstSeen()  # spills to disk past MLTRACK_SPILL_RUNS versions (mltrack/first_seen.py)
    try:
        return _judge(snapshot, policy, data_names, first_seen)
    finally:
        first_seen.close()


def _judge(snapshot: StoreSnapshot, policy: Policy, data_names: Iterable[str], first_seen: FirstSeen) -> Verdict:
    total, with_path, by_digest = 0, 0, 0  # by_digest: hashed with no data_hash param
    unhashed: First[RunRecord] = First(EVIDENCE_LIMIT)
    for run, _parent, data_hash in _hashed_runs(snapshot, policy, data_names):
        total += 1
        if data_hash is None:
            unhashed.add(run)
            with_path += run_facts.data_path(run) is not None
            continue
        if unhashed:  # the check fails on those: the versions are not reported
            continue
        by_digest += run_facts.named_value(run, data_names) is None
        first_seen.add(run.experiment_id, data_hash or "", run.start_time or 0)
    if not total:
        where = ", ".join(repr(e) for e in policy.experiments) or "no experiment (experiments is empty)"
        return Verdict(Status.SKIP, f"no finished training runs to check (looked in {where})",
                       {"experiments": list(policy.experiments)})
    if unhashed:
        facts: dict[str, Any] = {"runs_without_data_hash": [run_ref(r) for r in unhashed.kept],
                                 "count": unhashed.count, "of": total, "log_only_a_data_path": with_path}
        note = f" ({with_path} log only a data path, which does not count)" if with_path else ""
        return Verdict(Status.FAIL, f"{unhashed.count} of {total} training runs have no data hash{note}: "
                       + ", ".join(r.name or r.run_id for r in unhashed.kept[:5]), facts,
                       "Log a hash of the training data (lint rule missing-data-version)")
    # Each experiment's versions oldest first (a change is a change within one experiment); the
    # evidence shows the first versions and shifts, so only those are aggregated (pass 2).
    version_count = first_seen.count()
    experiments = first_seen.groups()
    shift_count = version_count - len(experiments)
    shown: list[VersionKey] = []
    shift_pairs: list[tuple[VersionKey, VersionKey]] = []
    for experiment_id in experiments:
        # oldest first, ties in order of appearance; MAX_SHOWN + 1 versions make MAX_SHOWN shifts
        ordered = first_seen.ordered(experiment_id, MAX_SHOWN + 1)
        for j, data_hash in enumerate(ordered):
            if len(shown) < MAX_SHOWN:
                shown.append((experiment_id, data_hash))
            if j and len(shift_pairs) < MAX_SHOWN:
                shift_pairs.append(((experiment_id, ordered[j - 1]), (experiment_id, data_hash)))
        if len(shown) >= MAX_SHOWN and len(shift_pairs) >= MAX_SHOWN:
            break
    aggregated = _aggregate(snapshot, policy, data_names, {*shown, *(k for pair in shift_pairs for k in pair)})
    described = {k: _described(snapshot, k, version, policy) for k, version in aggregated.items()}
    versions = [described[k] for k in shown]
    shifts = [_shift(described[a], described[b]) for a, b in shift_pairs]
    # A store whose every run has its own data would list thousands: the first are shown, counted
    facts = {"data_versions": versions, "shifts": shifts, "metric": policy.metric,
             "hashed_by_mlflow_records": by_digest}
    if version_count > MAX_SHOWN or shift_count > MAX_SHOWN:
        facts |= {"data_version_count": version_count, "shift_count": shift_count}
    how = f" ({by_digest} by a dataset input's digest or their sweep's parent)" if by_digest else ""
    if not shift_count:
        count = "one data version" if version_count == 1 else \
            f"one data version in each of {len(experiments)} experiments"
        return Verdict(Status.PASS, f"all {total} training runs carry a data hash{how}; {count}", facts)
    text = "; ".join(f"{s['from']}->{s['to']}: best {policy.metric} {s['best_shift']:+.4g} ({s['attributed_to']})"
                     for s in shifts[:MAX_SHIFTS_TOLD])
    if shift_count > MAX_SHIFTS_TOLD:
        text += f"; and {shift_count - MAX_SHIFTS_TOLD} more shifts"
    return Verdict(Status.PASS, f"all {total} training runs carry a data hash{how}; {version_count} data "
                   f"versions: {text}", facts)


def _aggregate(snapshot: StoreSnapshot, policy: Policy, data_names: Iterable[str],
               wanted: set[VersionKey]) -> dict[VersionKey, _Version]:
    """The runs, best run, mean and commits of the `wanted` data versions (pass 2)."""
    commit_names = policy.required_fields.get(conventions.PARAM_GIT_COMMIT,
                                              conventions.REQUIRED_FIELDS[conventions.PARAM_GIT_COMMIT])
    key = rank_key(policy)
    found: dict[VersionKey, _Version] = {}
    for run, parent, data_hash in _hashed_runs(snapshot, policy, data_names):
        where = (run.experiment_id, data_hash or "")
        if where not in wanted:
            continue
        version = found.get(where)
        if version is None:  # the first run seen with this data names it
            version = found[where] = _Version(_label(run, data_hash or ""), first=run.start_time or 0)
        version.runs += 1
        version.first = min(version.first, run.start_time or 0)
        value = run.metrics.get(policy.metric)
        if value is not None and finite(value):
            version.mean.add(value)
            if version.best_key is None or key(run) < version.best_key:
                version.best_key, version.best_value = key(run), value
                version.best_run = run_ref(run, policy)
        if commit := run_facts.code_version(run, commit_names, parent):
            version.commits.add(commit)
    return found


def _described(snapshot: StoreSnapshot, where: VersionKey, version: _Version, policy: Policy) -> dict[str, Any]:
    """One data version as the evidence shows it."""
    experiment_id, data_hash = where
    experiment = snapshot.experiment(experiment_id)
    return {
        "data_hash": data_hash,
        "label": version.label,
        "experiment": experiment.name if experiment else experiment_id,
        "runs": version.runs, "first_seen": iso(version.first),
        "best": version.best_value, "mean": version.mean.value(),
        "best_run": version.best_run,
        "commits": sorted(version.commits),
    }


def _label(run: RunRecord, data_hash: str) -> str:
    """How people name this data version: its data_version param, its dataset's name and
    digest, else the hash's first characters."""
    version = run_facts.named_value(run, (conventions.PARAM_DATA_VERSION,))
    if version:
        return version
    named = [d for d in run_facts.training_datasets(run) if d.digest and d.digest in data_hash.split("+")]
    if named:
        return ", ".join(sorted({f"{d.name}@{d.digest[:8]}" for d in named}))
    return data_hash[:12]


def _shift(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    code_changed = set(before["commits"]) != set(after["commits"])
    best_shift = (after["best"] - before["best"]) if None not in (after["best"], before["best"]) else 0.0
    mean_shift = (after["mean"] - before["mean"]) if None not in (after["mean"], before["mean"]) else 0.0
    return {"from": before["label"], "to": after["label"], "best_shift": best_shift, "mean_shift": mean_shift,
            "attributed_to": "data and code changed together" if code_changed else "data (same code)"}


CHECK = Check("MLP04", "data-change",
              "Every training run carries a data hash; the metric shift per data version is reported.", DOC, judge,
              groups=("monthly",))
