"""MLP04 data-change: did the data change, and what did it do to the metric?"""

from __future__ import annotations

from collections.abc import Mapping
from statistics import mean
from typing import Any

from mltrack import conventions
from mltrack.model import Status, StoreSnapshot
from mltrack.pressure.base import Check, Verdict, field_value, iso, ranked, run_ref, shorten, training_runs
from mltrack.pressure.policy import Policy

DOC = """\
## What it checks
Every finished training run carries a data hash (a param or tag among the `data_hash`
synonyms; a data *path* does not count - the file behind a path changes silently). When the hash
changes over time, reports the metric per data version (runs, best, mean, first seen) and the
shift between consecutive versions, and whether the code (git commit) changed with it - so a
drop is attributed to data or to code.

## Why it matters
"Accuracy dropped last month - was it the data or the code?" needs a data version on every run.

## How it fails
`fail` lists the runs without a data hash (and says when they log only a data path).

## How to fix
Hash the training data and log it (`mlflow.log_param("data_hash", sha256)`); lint rule
`missing-data-version` flags training scripts that do not.
"""

_PATH_HINTS = ("data_path", "dataset_path", "data_dir", "data_file", "train_path")


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    data_names = policy.required_fields.get(conventions.PARAM_DATA_HASH,
                                            conventions.REQUIRED_FIELDS[conventions.PARAM_DATA_HASH])
    runs = [r for r in training_runs(snapshot, policy) if r.status == "FINISHED"]
    if not runs:
        where = ", ".join(repr(e) for e in policy.experiments) or "no experiment (experiments is empty)"
        return Verdict(Status.SKIP, f"no finished training runs to check (looked in {where})",
                       {"experiments": list(policy.experiments)})
    unhashed = [r for r in runs if field_value(r, data_names) is None]
    if unhashed:
        with_path = [r for r in unhashed if field_value(r, _PATH_HINTS) is not None]
        facts = {"runs_without_data_hash": shorten([run_ref(r) for r in unhashed]),
                 "count": len(unhashed), "of": len(runs), "log_only_a_data_path": len(with_path)}
        note = f" ({len(with_path)} log only a data path, which does not count)" if with_path else ""
        return Verdict(Status.FAIL, f"{len(unhashed)} of {len(runs)} training runs have no data hash{note}: "
                       + ", ".join(r.name or r.run_id for r in unhashed[:5]), facts,
                       "Log a hash of the training data (lint rule missing-data-version)")
    versions = _versions(runs, data_names, policy)
    shifts = [_shift(a, b) for a, b in zip(versions, versions[1:])]
    facts = {"data_versions": versions, "shifts": shifts, "metric": policy.metric}
    if len(versions) == 1:
        return Verdict(Status.PASS, f"all {len(runs)} training runs carry a data hash; one data version", facts)
    text = "; ".join(f"{s['from']}->{s['to']}: best {policy.metric} {s['best_shift']:+.4g} ({s['attributed_to']})"
                     for s in shifts)
    return Verdict(Status.PASS, f"all {len(runs)} training runs carry a data hash; {len(versions)} data "
                   f"versions: {text}", facts)


def _versions(runs, data_names, policy: Policy) -> list[dict[str, Any]]:
    groups: dict[str, list] = {}
    for run in runs:
        groups.setdefault(field_value(run, data_names), []).append(run)
    commit_names = policy.required_fields.get(conventions.PARAM_GIT_COMMIT,
                                              conventions.REQUIRED_FIELDS[conventions.PARAM_GIT_COMMIT])
    out = []
    for data_hash, members in groups.items():
        scored = ranked(members, policy)
        values = [r.metrics[policy.metric] for r in scored]
        first = min((r.start_time or 0) for r in members)
        out.append({
            "data_hash": data_hash,
            "label": field_value(members[0], (conventions.PARAM_DATA_VERSION,)) or data_hash[:12],
            "runs": len(members), "first_seen": iso(first), "_first": first,
            "best": values[0] if values else None, "mean": mean(values) if values else None,
            "best_run": run_ref(scored[0], policy) if scored else None,
            "commits": sorted({c for r in members if (c := field_value(r, commit_names))}),
        })
    out.sort(key=lambda v: v.pop("_first"))
    return out


def _shift(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    code_changed = set(before["commits"]) != set(after["commits"])
    best_shift = (after["best"] - before["best"]) if None not in (after["best"], before["best"]) else 0.0
    mean_shift = (after["mean"] - before["mean"]) if None not in (after["mean"], before["mean"]) else 0.0
    return {"from": before["label"], "to": after["label"], "best_shift": best_shift, "mean_shift": mean_shift,
            "attributed_to": "data and code changed together" if code_changed else "data (same code)"}


CHECK = Check("MLP04", "data-change",
              "Every training run carries a data hash; the metric shift per data version is reported.", DOC, judge)
