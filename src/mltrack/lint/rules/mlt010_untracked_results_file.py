"""## What it does
Flags results appended by hand to a text or CSV file (`open(path, "a")`, `to_csv(..., mode="a")`)
in a training file that logs no metrics to a tracker.

## Why is this bad?
A hand-kept results file has no run ids, no parameters next to the numbers, no history of who
wrote what, and breaks the first time two runs append at once.

## Example
```python
with open("results.csv", "a") as f:
    f.write(f"{lr},{acc}\\n")
```

## Use instead
```python
mlflow.log_params({"lr": lr})
mlflow.log_metric("accuracy", acc)
```

## Options
None.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mltrack.lint.context import FileContext
from mltrack.lint.facts import literal_string
from mltrack.lint.rule import Rule
from mltrack.model import Finding

_RESULTS = re.compile(r"\.(csv|tsv|txt|jsonl?|log)\b|result|metric|score|eval|acc", re.I)


class UntrackedResultsFile(Rule):
    code = "MLT010"
    name = "untracked-results-file"
    summary = "Results appended by hand to a file instead of a tracker"
    VALID = (
        "import mlflow\nloss.backward()\nmlflow.log_metric('acc', acc)\n"
        "with open('results.csv', 'a') as f:\n    f.write('x')\n",
        "import torch\nloss.backward()\nwith open('results.csv', 'w') as f:\n    f.write('x')\n",
        "import torch\nwith open('results.csv', 'a') as f:\n    f.write('x')\n",  # no training
    )
    INVALID = (
        "import torch\nloss.backward()\nwith open('results.csv', 'a') as f:\n    f.write(f'{acc}')\n",
        "import pandas as pd\nclf.fit(X, y)\nrow.to_csv('scores.csv', mode='a', header=False)\n",
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        if not ctx.trains or "log:metric" in ctx.file_effects:
            return
        for site in ctx.calls:
            if site.raw == "open" and not site.imported:
                mode = site.positional(1) or site.kwarg("mode")
                target = site.positional(0) or site.kwarg("file")
            elif site.name == "to_csv":
                mode = site.kwarg("mode")
                target = site.positional(0) or site.kwarg("path_or_buf")
            else:
                continue
            text = literal_string(mode.value) if mode is not None else None
            if not text or "a" not in text or target is None:
                continue
            if not _RESULTS.search(ctx.code(target.value)):
                continue
            yield self.finding(
                ctx, site.node,
                f"results are appended by hand to `{ctx.code(target.value)}` instead of logged to a tracker",
            )
