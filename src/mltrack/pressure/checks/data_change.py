"""MLP04 data-change: did the data change, and what did it do to the metric?"""

from __future__ import annotations

from collections.abc import Mapping
from statistics import mean
from typing import Any

from mltrack import conventions, run_facts
from mltrack.model import RunRecord, Status, StoreSnapshot
from mltrack.pressure.base import Check, Verdict, iso, ranked, run_ref, shorten, training_runs
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


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    data_names = policy.required_fields.get(conventions.PARAM_DATA_HASH,
                                            conventions.REQUIRED_FIELDS[conventions.PARAM_DATA_HASH])
    runs = [r for r in training_runs(snapshot, policy) if r.status == "FINISHED"]
    if not runs:
        where = ", ".join(repr(e) for e in policy.experiments) or "no experiment (experiments is empty)"
        return Verdict(Status.SKIP, f"no finished training runs to check (looked in {where})",
                       {"experiments": list(policy.experiments)})
    hashes = {r.run_id: run_facts.data_hash(r, data_names, run_facts.parent_of(snapshot, r)) for r in runs}
    unhashed = [r for r in runs if hashes[r.run_id] is None]
    if unhashed:
        with_path = [r for r in unhashed if run_facts.data_path(r) is not None]
        facts = {"runs_without_data_hash": shorten([run_ref(r) for r in unhashed]),
                 "count": len(unhashed), "of": len(runs), "log_only_a_data_path": len(with_path)}
        note = f" ({len(with_path)} log only a data path, which does not count)" if with_path else ""
        return Verdict(Status.FAIL, f"{len(unhashed)} of {len(runs)} training runs have no data hash{note}: "
                       + ", ".join(r.name or r.run_id for r in unhashed[:5]), facts,
                       "Log a hash of the training data (lint rule missing-data-version)")
    by_experiment: dict[str, list[RunRecord]] = {}
    for run in runs:
        by_experiment.setdefault(run.experiment_id, []).append(run)
    versions: list[dict[str, Any]] = []
    shifts: list[dict[str, Any]] = []
    for experiment_id, members in by_experiment.items():  # a change is a change within one experiment
        mine = _versions(snapshot, members, hashes, policy)
        versions += mine
        shifts += [_shift(a, b) for a, b in zip(mine, mine[1:])]
    by_digest = sum(1 for r in runs if run_facts.named_value(r, data_names) is None)  # no data_hash param
    facts = {"data_versions": versions, "shifts": shifts, "metric": policy.metric,
             "hashed_by_mlflow_records": by_digest}
    how = f" ({by_digest} by a dataset input's digest or their sweep's parent)" if by_digest else ""
    if not shifts:
        count = "one data version" if len(versions) == 1 else \
            f"one data version in each of {len(by_experiment)} experiments"
        return Verdict(Status.PASS, f"all {len(runs)} training runs carry a data hash{how}; {count}", facts)
    text = "; ".join(f"{s['from']}->{s['to']}: best {policy.metric} {s['best_shift']:+.4g} ({s['attributed_to']})"
                     for s in shifts)
    return Verdict(Status.PASS, f"all {len(runs)} training runs carry a data hash{how}; {len(versions)} data "
                   f"versions: {text}", facts)


def _versions(snapshot: StoreSnapshot, runs: list[RunRecord], hashes: Mapping[str, str | None],
              policy: Policy) -> list[dict[str, Any]]:
    """One experiment's data versions, oldest first."""
    groups: dict[str, list[RunRecord]] = {}
    for run in runs:
        groups.setdefault(hashes[run.run_id] or "", []).append(run)
    commit_names = policy.required_fields.get(conventions.PARAM_GIT_COMMIT,
                                              conventions.REQUIRED_FIELDS[conventions.PARAM_GIT_COMMIT])
    experiment = snapshot.experiment(runs[0].experiment_id)
    out: list[dict[str, Any]] = []
    for data_hash, members in groups.items():
        scored = ranked(members, policy)
        values = [r.metrics[policy.metric] for r in scored]
        first = min((r.start_time or 0) for r in members)
        commits = {c for r in members
                   if (c := run_facts.code_version(r, commit_names, run_facts.parent_of(snapshot, r)))}
        out.append({
            "data_hash": data_hash,
            "label": _label(members[0], data_hash),
            "experiment": experiment.name if experiment else runs[0].experiment_id,
            "runs": len(members), "first_seen": iso(first), "_first": first,
            "best": values[0] if values else None, "mean": mean(values) if values else None,
            "best_run": run_ref(scored[0], policy) if scored else None,
            "commits": sorted(commits),
        })
    out.sort(key=lambda v: v.pop("_first"))
    return out


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
              "Every training run carries a data hash; the metric shift per data version is reported.", DOC, judge)
