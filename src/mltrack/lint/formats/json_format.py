"""JSON output: a list of finding objects (see `finding_record`), sorted by path and position.

With `--statistics` the list holds one object per rule instead: code, name, count, fixable.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from mltrack.lint.formats import finding_record, statistics as count_by_rule

if TYPE_CHECKING:
    from mltrack.lint.engine import LintRun


def render_json(run: LintRun, *, statistics: bool = False) -> str:
    if statistics:
        data = count_by_rule(run.findings)
    else:
        data = [finding_record(f) for f in run.findings]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
