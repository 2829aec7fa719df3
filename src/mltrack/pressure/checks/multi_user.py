"""MLP03 multi-user: who ran what, and is every run attributable?"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from mltrack.bounded import First
from mltrack.model import RunRecord, Status, StoreSnapshot
from mltrack.pressure.base import EVIDENCE_LIMIT, MISSING_USERS, Check, Verdict, rank_key, run_ref, training_runs
from mltrack.ranking import finite
from mltrack.pressure.policy import Policy

DOC = """\
## What it checks
The training runs of the configured experiments were logged by at least `min_users` distinct
users (default 3); every run is attributable (a user that is empty, `unknown` or `root` is a
warning); reports the run count and best run per user.

## Why it matters
A store shared by a team must say who ran what: "whose run is this, and who can explain it?"
Runs logged as `root` from a shared box answer nothing.

## How it fails
`fail` when fewer users than `min_users` logged runs (naming them); `warn` listing runs with
no real user.

## How to fix
Log from personal accounts, or set the `mlflow.user` tag explicitly
(`mlflow.start_run(tags={"mlflow.user": ...})`); lower `min_users` for a solo project.
"""


def judge(snapshot: StoreSnapshot, evidence: Mapping[str, Any], policy: Policy) -> Verdict:
    # One pass over the training runs, keeping per user a count and the best run so far.
    total = 0
    anonymous: First[RunRecord] = First(EVIDENCE_LIMIT)
    users: Counter[str] = Counter()
    best_of: dict[str, tuple[tuple[float, int, str], dict[str, Any]]] = {}  # user -> (key, best run's ref)
    key = rank_key(policy)
    for run in training_runs(snapshot, policy):
        total += 1
        if (run.user or "").strip().lower() in MISSING_USERS:
            anonymous.add(run)
            continue
        users[run.user] += 1
        if finite(run.metrics.get(policy.metric)):
            held = best_of.get(run.user)
            if held is None or key(run) < held[0]:  # a reference, not the record: users may be many
                best_of[run.user] = (key(run), run_ref(run, policy))
    if not total:  # nobody logged anything yet: nothing to attribute, which is not a lone user
        where = ", ".join(repr(e) for e in policy.experiments) or "no experiment (experiments is empty)"
        return Verdict(Status.SKIP, f"no training runs to attribute (looked in {where})",
                       {"experiments": list(policy.experiments), "min_users": policy.min_users})
    per_user: dict[str, Any] = {}
    for user, count in sorted(users.items()):
        best = best_of.get(user)
        per_user[user] = {"runs": count, "best_run": best[1] if best else None}
    facts = {"users": per_user, "user_count": len(users), "min_users": policy.min_users,
             "unattributed_runs": [run_ref(r) | {"user": r.user} for r in anonymous.kept],
             "unattributed_count": anonymous.count}
    if len(users) < policy.min_users:
        who = ", ".join(repr(u) for u in sorted(users)) or "nobody"
        return Verdict(Status.FAIL, f"only {len(users)} user(s) logged runs ({who}); at least "
                       f"{policy.min_users} expected", facts,
                       "Log runs under each person's own user (tag mlflow.user), or lower min_users")
    if anonymous:
        named = ", ".join(f"{r.name or r.run_id} ({(r.user or '').strip() or 'no user'})" for r in anonymous.kept[:3])
        more = f" and {anonymous.count - 3} more" if anonymous.count > 3 else ""
        return Verdict(Status.WARN, f"{len(users)} users logged runs, but {anonymous.count} training run(s) have no "
                       f"real user: {named}{more}", facts, "Set the mlflow.user tag when starting runs")
    return Verdict(Status.PASS, f"{len(users)} users, every run attributable", facts)


CHECK = Check("MLP03", "multi-user", "At least N users logged runs and every run is attributable.", DOC, judge)
