"""## What it does
Flags a model or checkpoint saved (`torch.save`, `joblib.dump`, `pickle.dump`, `model.save`,
`save_pretrained`, `trainer.save_model`, `save_checkpoint`) to a path that is the same on every run
- a literal, an argparse or config default, an epoch number without a run id - in a file that
never logs it as an artifact or registers it. MLflow autologging counts where its integration logs
the trained model (scikit-learn, Keras/TensorFlow, XGBoost, LightGBM, Lightning, unless
`log_models=False`); over a hand-written PyTorch loop it logs nothing (`mltrack/lint/autolog.py`).

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

from mltrack.lint import autolog
from mltrack.lint.context import FileContext
from mltrack.lint.effects import local_target
from mltrack.lint.paths import is_fixed_path, shown
from mltrack.lint.rule import Invalid, Rule, Valid
from mltrack.lint.saves import HelperSave, decoded_saves, forwarders, helper_saves, saved_path
from mltrack.model import Finding

_HELPER = (
    "import shutil\nimport torch\n\n"
    "def save_checkpoint(state, is_best, checkpoint='checkpoint', filename='checkpoint.pth.tar'):\n"
    "    filepath = checkpoint + '/' + filename\n"
    "    torch.save(state, filepath)\n"
    "    if is_best:\n"
    "        shutil.copyfile(filepath, checkpoint + '/model_best.pth.tar')\n"
)


class ModelOverwrite(Rule):
    code = "MLT007"
    name = "model-overwrite"
    summary = "Model saved to the same path on every run and never logged"
    VALID = (
        # sklearn's autologging logs the fitted model with its run
        "import mlflow, joblib\nfrom sklearn.linear_model import Ridge\nmlflow.autolog()\n"
        "m = Ridge().fit(X, y)\njoblib.dump(m, 'model.joblib')\n",
        "import torch, mlflow\ntorch.save(model, 'model.pt')\nmlflow.log_artifact('model.pt')\n",
        "import torch\ndef save(model, path):\n    torch.save(model, path)\n",  # caller decides
        "import torch\ndef save(model, path='m.pt'):\n    torch.save(model, path)\n",  # not a CLI
        "import torch, wandb\nrun = wandb.init()\ntorch.save(model, f'ckpt/{run.id}.pt')\n",
        "import joblib\njoblib.dump(preds, 'preds.pkl')\n",  # predictions, not a model
        # the caller gives the helper a per-run folder
        Valid("import torch, wandb\nfrom utils import save_checkpoint\nrun = wandb.init()\n"
              "save_checkpoint({'m': 1}, True, checkpoint=f'ckpt/{run.id}')\n",
              files=(("utils.py", _HELPER),)),
        # the helper logs what it saves
        Valid("import torch\nfrom utils import save_ckpt\nsave_ckpt(net)\n",
              files=(("utils.py", "import torch, mlflow\ndef save_ckpt(net, path='net.pt'):\n"
                                  "    torch.save(net, path)\n    mlflow.log_artifact(path)\n"),)),
        "import torch\ndef save_checkpoint(state, filename='ckpt.pt'):\n    torch.save(state, filename)\n"
        "save_checkpoint(model.state_dict(), filename=f'ckpt/{run_id}.pt')\n",
    )
    INVALID = (
        # autologging has no integration for a hand-written PyTorch loop: the model is not logged
        Invalid("import mlflow\nimport torch\nmlflow.autolog()\nfor epoch in range(3):\n"
                "    loss.backward()\ntorch.save(model.state_dict(), 'model.pt')\n", line=6),
        # sklearn's autologging with model logging turned off
        Invalid("import mlflow, joblib\nfrom sklearn.linear_model import Ridge\n"
                "mlflow.autolog(log_models=False)\nm = Ridge().fit(X, y)\n"
                "joblib.dump(m, 'model.joblib')\n", line=5),
        "import torch\ntorch.save(model.state_dict(), 'model.pt')\n",
        "import torch\nfor epoch in range(3):\n    torch.save(net, f'ckpt/epoch_{epoch}.pt')\n",
        "import torch\nfor epoch in range(3):\n    torch.save(net, 'ckpt_{:04d}.pth'.format(epoch))\n",
        "import pickle\nimport sklearn\nwith open('clf.pkl', 'wb') as fh:\n    pickle.dump(clf, fh)\n",
        "import torch\nwith open('model.pt', 'wb') as f:\n    torch.save(model, f)\n",
        "import argparse\nimport keras\np = argparse.ArgumentParser()\n"
        "p.add_argument('--out', default='model.keras')\nargs = p.parse_args()\nmodel.save(args.out)\n",
        "import keras\nmodel.fit(x, y)\nmodel.save_weights('weights.h5')\n",
        "import tensorflow as tf\nsaver = tf.train.Saver()\nsaver.save(sess, '/tmp/model.ckpt')\n",
        "import lightning as L\nfabric = L.Fabric()\nfabric.save('last.ckpt', {'model': model})\n",
        "from accelerate import Accelerator\naccelerator = Accelerator()\n"
        "accelerator.save_state('checkpoints')\n",
        "from transformers import Trainer\nmodel.save_pretrained('./lora-out')\n",
        "import torch\nfor model in candidates:\n    torch.save(model, 'best.pt')\n",  # last one wins
        # a command-line default: `python finetune.py` saves to ./lora-out every time
        "import fire\nimport torch\n\ndef train(output_dir: str = './lora-out'):\n"
        "    loss.backward()\n    model.save_pretrained(output_dir)\n\nfire.Fire(train)\n",
        # a same-file helper whose default path the caller keeps
        Invalid("import torch\ndef save_checkpoint(state, is_best, filename='checkpoint.pth.tar'):\n"
                "    torch.save(state, filename)\n"
                "for epoch in range(3):\n    save_checkpoint({'m': 1}, epoch == 2)\n",
                line=5, message="`'checkpoint.pth.tar'` (the default of `filename`)"),
        # a helper in another module; the caller's folder is an argparse default
        Invalid("import argparse\nimport torch\nfrom utils import save_checkpoint\n"
                "p = argparse.ArgumentParser()\np.add_argument('--checkpoint', default='ckpt')\n"
                "args = p.parse_args()\nsave_checkpoint({'m': 1}, True, checkpoint=args.checkpoint)\n",
                line=7, message="model_best.pth.tar", files=(("utils.py", _HELPER),)),
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        if autolog.artifact_logged(ctx):
            return
        wrappers = forwarders(ctx.facts)
        helpers: list = []  # calls that may reach a helper which saves
        saves_in_functions = False
        for site in ctx.calls:
            if site.function in wrappers:
                continue  # `torch.save(*args)` inside a wrapper: judged where the wrapper is called
            path = saved_path(ctx, site, wrappers)
            if path is None:
                helpers.append(site)
                continue
            saves_in_functions = saves_in_functions or site.function is not None
            if is_fixed_path(ctx, path) is not True and not _cli_default(ctx, site, path):
                continue
            yield self.finding(
                ctx, site.node,
                f"`{site.raw or site.name}` writes to `{shown(ctx.code(path))}`, the same path on every run, "
                "and it is never logged or registered: the next run silently replaces it",
            )
        if ctx.project is not None or saves_in_functions:
            yield from self._helper_saves(ctx, helpers, saves_in_functions)

    def _helper_saves(self, ctx: FileContext, sites, local_helpers: bool) -> Iterable[Finding]:
        """Calls to helpers (this file's or another module's) that save to a path every run
        reuses, given the arguments the call passes."""
        local: dict[str, tuple[HelperSave, ...]] | None = None
        # `from utils import *`: a bare call may be a project helper of one of these modules
        star = sorted(ctx.facts.imports.modules) if ctx.project and "import *" in ctx.source else ()
        by_qual: dict[str, tuple[HelperSave, ...]] = {}  # the same helpers are called again and again
        for site in sites:
            saves: tuple[HelperSave, ...] = ()
            if site.imported:
                known = by_qual.get(site.qual)
                if known is None:
                    known = by_qual[site.qual] = self._project_saves(ctx, site, site.qual)
                saves = known
            elif local_helpers and (target := local_target(site, ctx.facts)) is not None:
                if local is None:
                    local = helper_saves(ctx.facts, ctx.module, ctx.function_effects)
                # a helper saving to a literal is reported at its own save call
                saves = tuple(s for s in local.get(target, ()) if s.params or s.copy)
            elif star and site.raw and "." not in site.raw and site.raw not in ctx.facts.functions:
                saves = next(filter(None, (self._project_saves(ctx, site, f"{m}.{site.raw}")
                                           for m in star)), ())
            if not saves:
                continue  # most calls reach no saving helper
            fixed = [save.describe(ctx, site) for save in saves if save.fixed_at(ctx, site)]
            if fixed:
                yield self.finding(
                    ctx, site.node,
                    f"`{site.raw or site.name}(...)` saves a model to {' and '.join(fixed)}, "
                    f"{'paths' if len(fixed) > 1 else 'a path'} every run reuses, and it is never "
                    "logged or registered: the next run silently replaces it",
                )

    @staticmethod
    def _project_saves(ctx: FileContext, site, qual: str) -> tuple[HelperSave, ...]:
        if ctx.project is None:
            return ()
        module, _, function = qual.rpartition(".")
        effects = ctx.project.effects_of(module, function, ctx.module_name) or ()
        if autolog.helper_logs_artifact(effects):
            return ()
        return decoded_saves(effects)


def _cli_default(ctx: FileContext, site, path) -> bool:
    """`def train(output_dir="./lora-alpaca"): model.save_pretrained(output_dir)` run by
    `fire.Fire(train)`: the parameter is a command-line option and its default a fixed path."""
    if not isinstance(path, cst.Name) or site.function is None or "." in site.function:
        return False
    node = ctx.facts.functions.get(site.function)
    default = next((p.default for p in (*node.params.params, *node.params.kwonly_params)
                    if p.name.value == path.value), None) if node is not None else None
    if default is None or is_fixed_path(ctx, default) is not True:
        return False
    return any(
        s.function is None and s.imported and s.qual.split(".", 1)[0] in _CLI_ROOTS
        and any(isinstance(a.value, cst.Name) and a.value.value == site.function for a in s.node.args)
        for s in ctx.calls
    )


_CLI_ROOTS = ("fire", "typer", "jsonargparse")
