"""## What it does
Flags predictions written to a file (`DataFrame.to_csv/to_parquet/to_json`, `np.save`,
`np.savetxt`, `json.dump`, `joblib.dump`, `torch.save` of something named like predictions or a
submission) when nothing records which model and which inputs produced them: no `model_version`,
`model_uri`, `run_id`, `input_hash`-style column or key, no artifact logged to the run, and no
run id or version in the file name.

## Why is this bad?
"Which model and which data made prediction 12345?" has no answer once the file leaves the
script: predictions without lineage cannot be audited or reproduced.

## Example
```python
preds = model.predict(X)
pd.DataFrame({"id": ids, "pred": preds}).to_csv("predictions.csv")
```

## Use instead
```python
out = pd.DataFrame({"id": ids, "pred": preds})
out["model_version"] = model_version
out["input_hash"] = input_hash
out.to_csv("predictions.csv")
```

## Options
None.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import libcst as cst

from mltrack.lint.context import FileContext
from mltrack.lint.facts import CallSite
from mltrack.lint.paths import RUN_SPECIFIC
from mltrack.lint.rule import Rule
from mltrack.model import Finding

_PREDICTIONS = re.compile(r"pred|submission|inference|forecast", re.I)
_LINEAGE = re.compile(r"model_version|model_uri|run_id|model_name|input_hash|data_hash|"
                      r"input_sha|data_sha|model_sha|data_version|model_id", re.I)
_WRITERS = {"to_csv": 0, "to_parquet": 0, "to_json": 0, "to_feather": 0, "to_excel": 0}
# call -> (index of what is written, index of where)
_FUNCTIONS = {"numpy.save": (1, 0), "numpy.savetxt": (1, 0), "json.dump": (0, 1),
              "joblib.dump": (0, 1), "torch.save": (0, 1), "pickle.dump": (0, 1)}


class UnversionedPredictions(Rule):
    code = "MLT008"
    name = "unversioned-predictions"
    summary = "Predictions written with no model version or input hash next to them"
    VALID = (
        "import pandas as pd\nout = pd.DataFrame({'pred': preds})\nout['model_version'] = mv\n"
        "out.to_csv('predictions.csv')\n",
        "import numpy as np, mlflow\nwith mlflow.start_run():\n    np.save('preds.npy', preds)\n"
        "    mlflow.log_artifact('preds.npy')\n",
        "import pandas as pd\nfeatures.to_csv('features.csv')\n",  # not predictions
        "import numpy as np\nnp.save(f'preds_{run_id}.npy', preds)\n",
    )
    INVALID = (
        "import pandas as pd\npreds = model.predict(X)\n"
        "pd.DataFrame({'id': ids, 'pred': preds}).to_csv('predictions.csv')\n",
        "import numpy as np\ny_pred = clf.predict(X_test)\nnp.savetxt('out.txt', y_pred)\n",
        "import json\nimport torch\nwith open('out.json', 'w') as f:\n    json.dump(predictions, f)\n",
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        if "log:artifact" in ctx.file_effects:
            return
        lineage: bool | None = None  # searched only once a prediction write is found
        for site in ctx.calls:
            written = self._written(ctx, site)
            if written is None:
                continue
            what, where = written
            if not _PREDICTIONS.search(ctx.code(what) + " " + (ctx.code(where) if where else "")):
                continue
            if where is not None and RUN_SPECIFIC.search(ctx.code(where)):
                continue
            if lineage is None:
                lineage = bool(_LINEAGE.search(ctx.source))
            if lineage:
                return
            yield self.finding(
                ctx, site.node,
                f"predictions are written with `{site.raw or site.name}` but no model version or "
                "input hash is recorded next to them",
            )

    @staticmethod
    def _written(ctx: FileContext, site: CallSite):
        """(what is written, where) for a writing call, else None."""
        if site.name in _WRITERS and isinstance(site.node.func, cst.Attribute):
            arg = site.positional(0) or site.kwarg("path_or_buf") or site.kwarg("path")
            return site.node.func.value, arg.value if arg else None
        spec = _FUNCTIONS.get(site.qual) if site.imported else None
        if spec is None:
            return None
        what, where = site.positional(spec[0]), site.positional(spec[1])
        if what is None:
            return None
        return what.value, where.value if where else None
