"""MLP06 prediction-audit: which model and which data made this prediction?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mltrack import conventions
from mltrack.model import Status, StoreSnapshot
from mltrack.pressure.base import Check, Verdict, field_value, inference_runs, shorten
from mltrack.pressure.policy import Policy

DOC = """\
## What it checks
Every inference run (in `inference_experiments`, or tagged `mltrack.run_type=inference`) carries
the model name and version, the input data hash, the predictions hash and a timestamp, and the
chain resolves end to end: predictions -> registered model version -> training run -> its data
hash and git commit. The first broken link of each run is named.

## Why it matters
"Which model and which data made prediction 12345?" is an audit question with a deadline. A
predictions file without lineage cannot be explained.

## How it fails
`fail` lists the inference runs, the fields they miss, and the broken link of the chain.

## How to fix
Log `model_name`, `model_version`, `input_data_hash`, `predictions_hash` and
`inference_timestamp` with every batch of predictions; lint rule `unversioned-predictions`
flags prediction files written without them.
"""

FIX = "Log the lineage fields with every inference run (lint rule unversioned-predictions)"


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    runs = inference_runs(snapshot, policy)
    if not runs:
        where = (f"in {', '.join(repr(e) for e in policy.inference_experiments)}" if policy.inference_experiments
                 else "(no inference experiment configured)")
        return Verdict(Status.SKIP, f"no inference runs to audit {where}, and no run anywhere tagged "
                       f"{conventions.TAG_RUN_TYPE}={conventions.RUN_TYPE_INFERENCE}",
                       {"experiments": list(policy.inference_experiments)})
    broken: list[dict[str, Any]] = []
    chains: list[dict[str, Any]] = []
    for run in runs:
        missing = [f for f in policy.inference_fields if field_value(run, (f,)) is None]
        link = _chain(snapshot, run, policy) if not missing else None
        if missing or (link and link.get("broken")):
            broken.append({"run_id": run.run_id, "name": run.name, "missing_fields": missing,
                           "broken_link": link.get("broken") if link else None})
        elif link:
            chains.append(link)
    facts = {"inference_runs": len(runs), "resolved": len(chains), "broken": shorten(broken),
             "broken_count": len(broken), "example_chain": chains[0] if chains else None}
    if broken:
        first = broken[0]
        what = (f"missing {', '.join(first['missing_fields'])}" if first["missing_fields"]
                else first["broken_link"])
        return Verdict(Status.FAIL, f"{len(broken)} of {len(runs)} inference runs cannot be traced; e.g. "
                       f"{first['name'] or first['run_id']}: {what}", facts, FIX)
    return Verdict(Status.PASS, f"all {len(runs)} inference runs trace to a registered version, its training "
                   "run, data hash and git commit", facts)


def _chain(snapshot: StoreSnapshot, run, policy: Policy) -> dict[str, Any]:
    name = field_value(run, ("model_name",))
    version = field_value(run, ("model_version",))
    chain: dict[str, Any] = {"inference_run": run.run_id, "model": name, "version": version}
    model = snapshot.registered_model(name or "")
    record = model.version(version or "") if model else None
    if record is None:
        chain["broken"] = f"model version {name} v{version} is not registered"
        return chain
    training_id = record.run_id or record.tags.get(conventions.VERSION_TAG_RUN_ID)
    claimed = field_value(run, ("training_run_id",))
    if claimed and training_id and claimed != training_id:
        chain["broken"] = f"training_run_id {claimed} differs from {name} v{version}'s run {training_id}"
        return chain
    training = snapshot.run(training_id or "")
    if training is None:
        chain["broken"] = f"{name} v{version}'s training run {training_id} is not in the store"
        return chain
    chain["training_run"] = training.run_id
    # The chain's ends are reported; a training run's own missing fields are judged by recovery
    # and data-change (one property, one check), so they do not fail the audit trail here.
    for key in (conventions.PARAM_DATA_HASH, conventions.PARAM_GIT_COMMIT):
        value = field_value(training, policy.required_fields.get(key, conventions.REQUIRED_FIELDS[key]))
        chain[key] = value if value is not None else "not logged (see recovery / data-change)"
    return chain


CHECK = Check("MLP06", "prediction-audit",
              "Every inference run traces to a registered version, its training run, data hash and commit.",
              DOC, judge)
