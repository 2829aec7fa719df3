"""## What it does
Flags a model or checkpoint saved (`torch.save`, `joblib.dump`, `pickle.dump`, `model.save`,
`save_pretrained`, `trainer.save_model`, `save_checkpoint`) to a path that is the same on every run
- a literal, an argparse or config default, an epoch number without a run id - in a file that
never logs it as an artifact or registers it.

## Why is this bad?
The next run silently replaces the file: the model behind last week's numbers is gone, and
nothing says which run wrote the file that is there now.

## Example
```python
torch.save(model.state_dict(), "model.pt")
```

## Use instead
```python
path = f"checkpoints/{run.info.run_id}/model.pt"
torch.save(model.state_dict(), path)
mlflow.log_artifact(path)
```

## Options
None.
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from mltrack.lint.context import FileContext
from mltrack.lint.facts import CallSite, dotted
from mltrack.lint.paths import is_fixed_path
from mltrack.lint.rule import Rule
from mltrack.model import Finding

# call -> (index of the path argument, its keyword)
_SAVERS = {
    "torch.save": (1, "f"),
    "joblib.dump": (1, "filename"),
    "pickle.dump": (1, "file"),
    "keras.models.save_model": (1, "filepath"),
    "tensorflow.saved_model.save": (1, "export_dir"),
}
_METHODS = {"save": (0, "filepath"), "save_pretrained": (0, "save_directory"),
            "save_model": (0, "output_dir"), "save_checkpoint": (0, "filepath")}
_MODELISH = ("model", "net", "clf", "classifier", "regressor", "estimator", "pipeline", "pipe",
             "booster", "learner", "trainer", "bst", "gbm", "encoder", "policy", "agent", "tokenizer")


class ModelOverwrite(Rule):
    code = "MLT007"
    name = "model-overwrite"
    summary = "Model saved to the same path on every run and never logged"
    VALID = (
        "import torch, mlflow\ntorch.save(model, 'model.pt')\nmlflow.log_artifact('model.pt')\n",
        "import torch\ndef save(model, path):\n    torch.save(model, path)\n",  # caller decides
        "import torch, wandb\nrun = wandb.init()\ntorch.save(model, f'ckpt/{run.id}.pt')\n",
        "import joblib\njoblib.dump(preds, 'preds.pkl')\n",  # predictions, not a model
    )
    INVALID = (
        "import torch\ntorch.save(model.state_dict(), 'model.pt')\n",
        "import torch\nfor epoch in range(3):\n    torch.save(net, f'ckpt/epoch_{epoch}.pt')\n",
        "import pickle\nimport sklearn\nwith open('clf.pkl', 'wb') as fh:\n    pickle.dump(clf, fh)\n",
        "import argparse\nimport keras\np = argparse.ArgumentParser()\n"
        "p.add_argument('--out', default='model.keras')\nargs = p.parse_args()\nmodel.save(args.out)\n",
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        if "log:artifact" in ctx.file_effects:
            return
        for site in ctx.calls:
            path = self._path_argument(ctx, site)
            if path is None or is_fixed_path(ctx, path) is not True:
                continue
            shown = ctx.code(path)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            yield self.finding(
                ctx, site.node,
                f"`{site.raw or site.name}` writes to `{shown}`, the same path on every run, and it "
                "is never logged or registered: the next run silently replaces it",
            )

    @staticmethod
    def _path_argument(ctx: FileContext, site: CallSite) -> cst.BaseExpression | None:
        spec = _SAVERS.get(site.qual.replace("tensorflow.keras.", "keras.")) if site.imported else None
        if spec is None and site.name in _METHODS and isinstance(site.node.func, cst.Attribute):
            receiver = (dotted(site.node.func.value) or "").lower()
            if any(token in receiver.rsplit(".", 1)[-1] for token in _MODELISH):
                spec = _METHODS[site.name]
        if spec is None:
            return None
        saved = site.positional(0)
        if spec[0] == 1 and saved is not None and "pred" in ctx.code(saved.value).lower():
            return None  # predictions: unversioned-predictions' business
        arg = site.positional(spec[0]) or site.kwarg(spec[1])
        if arg is None:
            return None
        value = arg.value
        if site.qual == "pickle.dump":
            return _opened_path(ctx, value)
        return value


def _opened_path(ctx: FileContext, handle: cst.BaseExpression) -> cst.BaseExpression | None:
    """The path of `open(path, "wb")` given directly or bound by `with open(...) as fh`."""
    if isinstance(handle, cst.Call) and isinstance(handle.func, cst.Name) and handle.func.value == "open":
        return handle.args[0].value if handle.args else None
    if isinstance(handle, cst.Name):
        for with_node in ctx.facts.with_of.values():
            for item in with_node.items:
                if (isinstance(item.asname, cst.AsName) and isinstance(item.asname.name, cst.Name)
                        and item.asname.name.value == handle.value and isinstance(item.item, cst.Call)):
                    return _opened_path(ctx, item.item)
    return None
