"""MLP08 long-term-repro: can we still rebuild what we trained months ago?"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mltrack import run_facts
from mltrack.model import RunRecord, Status, StoreSnapshot
from mltrack.bounded import Smallest
from mltrack.pressure.base import (
    EVIDENCE_LIMIT, Check, GatherContext, Verdict, age_days, missing_fields, training_runs,
)
from mltrack.pressure.evidence import artifacts_of, prefetch_artifacts
from mltrack.pressure.typed_evidence import TypedEvidence
from mltrack.pressure.policy import Policy

DOC = """\
## What it checks
Finished training runs older than `old_run_days` (default 30) still have every required
reproduction field, the environment fields (`environment_fields`: Python and torch versions)
and their artifacts (run artifacts or logged models). A model the run logged with MLflow
records the environment: `python_env.yaml` pins Python, `requirements.txt` / `conda.yaml` pin
the libraries (MLflow writes all three with every `log_model`; the listing of the run's files
confirms them), and an older run's `mlflow.log-model.history` tag records the Python version.
A dataset input's digest is a data hash; a sweep's trial takes its parent's data and commit. Skips, with the reason, when there are no
old runs. On remote stores at most `cleanup_list_limit` old runs are listed, newest first.

## Why it matters
Reproducing a model a year later fails on what nobody thought to record: the library versions,
the checkpoint that a cleanup deleted.

## How it fails
`fail` lists the old runs and exactly what each lacks (fields, artifacts).

## How to fix
Log the model with `mlflow.<flavor>.log_model` (its environment files), or log
`python_version` and `torch_version` (and the required fields) from the training script;
keep artifacts of runs you may need (tag `mltrack.keep=true`, or register the model).
"""


def _old_runs(snapshot: StoreSnapshot, policy: Policy) -> Iterator[RunRecord]:
    """Finished training runs older than the threshold, streamed in read order."""
    return (r for r in training_runs(snapshot, policy) if r.status == "FINISHED"
            and (age := age_days(snapshot, r.start_time)) is not None and age > policy.old_run_days)


def _newest_first(run: RunRecord) -> int:
    return -(run.start_time or 0)


@dataclass(frozen=True)
class LongTermEvidence(TypedEvidence):
    # run id -> {"files": count or None (not listable), "how", "environment_files"}, for the
    # newest cleanup_list_limit old runs
    artifacts: dict[str, Any] = field(default_factory=dict)
    old_runs: int = 0  # how many old runs there are (listed or not)


def gather(ctx: GatherContext) -> dict[str, Any]:
    listed: dict[str, Any] = {}
    # The newest `cleanup_list_limit` old runs (ties in read order), and how many there are.
    old = Smallest(ctx.policy.cleanup_list_limit, _newest_first).extend(_old_runs(ctx.snapshot, ctx.policy))
    newest = old.items()
    prefetch_artifacts(ctx, newest)
    for run in newest:
        files, how = artifacts_of(ctx, run)
        listed[run.run_id] = {"files": None if files is None else len(files), "how": how}
        if files is not None:  # confirms (or refutes) the environment files a logged model implies
            listed[run.run_id]["environment_files"] = run_facts.environment_files(f.path for f in files)
    return LongTermEvidence(artifacts=listed, old_runs=old.count).to_dict()


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    listed = LongTermEvidence.from_dict(evidence).artifacts
    old_count = 0
    common: set[str] = set()
    # What each old run lacks, newest first (ties in read order): the first few are shown.
    lacking: Smallest[dict[str, Any]] = Smallest(EVIDENCE_LIMIT, lambda item: item["_newest"])
    for run in _old_runs(snapshot, policy):
        old_count += 1
        art = listed.get(run.run_id)
        lacks = missing_fields(run, policy.required_fields, data_reference_ok=True,
                               parent=run_facts.parent_of(snapshot, run))
        lacks += _environment_lacks(run, policy, art.get("environment_files") if art else None)
        if art is not None and art.get("files") is None:
            lacks.append(f"artifacts (could not list: {art.get('how')})")
        elif art is not None and art["files"] == 0:
            lacks.append("artifacts")
        if lacks:
            common.update(lacks)
            lacking.add({"run_id": run.run_id, "name": run.name,
                         "age_days": round(age_days(snapshot, run.start_time) or 0), "lacks": lacks,
                         "_newest": _newest_first(run)})
    if not old_count:
        # W&B cannot backdate runs (the client clock sets start times): say so, not "no old runs".
        if snapshot.extras.get("cannot_backdate"):
            return Verdict(Status.SKIP, str(snapshot.extras.get("cannot_backdate_reason") or
                                            f"{snapshot.tracker} cannot backdate runs"), {"tracker": snapshot.tracker})
        where = ", ".join(repr(e) for e in policy.experiments) or "no experiment (experiments is empty)"
        return Verdict(Status.SKIP, f"no finished training runs older than {policy.old_run_days} days "
                       f"(looked in {where})", {"experiments": list(policy.experiments),
                                                "old_run_days": policy.old_run_days})
    shown = lacking.items()
    for item in shown:
        del item["_newest"]
    facts = {"old_runs": old_count, "threshold_days": policy.old_run_days,
             "artifacts_checked": len(listed), "lacking": shown, "lacking_count": lacking.count}
    if lacking.count:
        first = shown[0]
        return Verdict(Status.FAIL, f"{lacking.count} of {old_count} runs older than {policy.old_run_days} days "
                       f"cannot be rebuilt; they lack {', '.join(sorted(common))} (e.g. {first['name'] or first['run_id']})",
                       facts, "Log the environment and required fields (lint rules unlogged-hyperparameters, "
                       "missing-code-version, missing-data-version); keep old runs' artifacts")
    return Verdict(Status.PASS, f"all {old_count} runs older than {policy.old_run_days} days keep their fields"
                   f" and artifacts ({len(listed)} listed)", facts)


def _environment_lacks(run: RunRecord, policy: Policy, listed: list[str] | None) -> list[str]:
    """The environment fields the run records neither as a param/tag nor through a model it
    logged (python_env.yaml pins Python; requirements.txt / conda.yaml pin the libraries).
    `listed`: the environment files gather found among the run's files, when it listed them."""
    return [field for field in policy.environment_fields
            if field not in policy.required_fields
            and run_facts.environment_value(run, field, listed=listed) is None]


CHECK = Check("MLP08", "long-term-repro",
              "Runs older than the threshold still have every required field and their artifacts.",
              DOC, judge, gather, evidence_type=LongTermEvidence, groups=("monthly",))
