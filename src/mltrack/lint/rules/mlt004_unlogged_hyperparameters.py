"""## What it does
Flags values that configure training (optimizer arguments, batch size, epochs, model sizes, from
literals, module constants, argparse options, config dicts or dataclass configs; settings read
from a parser built in another module, a Hydra/OmegaConf or yacs config, a config dict filled key
by key; `xgb.train`'s rounds) that never reach a tracker: `mlflow.log_param(s)`, `wandb.init(config=...)`,
`wandb.config.update(...)`, Lightning `save_hyperparameters()` (the module's `__init__`
arguments, as Lightning collects them; not the script's other settings; nothing with
`logger=False`) / `logger.log_hyperparams`, Hugging Face `TrainingArguments(report_to=...)`,
TensorBoard `add_hparams`. Logging the whole namespace or config (`vars(args)`, `config`,
`asdict(cfg)`), directly or through a helper, covers all of it. The message names the values
that are missing.

MLflow autologging (`mlflow.autolog()`, `mlflow.<flavor>.autolog()`) logs only what the framework
calls it patches see, per mlflow's source: scikit-learn estimators' constructor arguments
(`get_params()`), Keras `fit` keywords (epochs, batch_size) and the optimizer's config, the
params and rounds given to `xgb.train` / `lgb.train`, Lightning's `max_epochs` and optimizer
settings, `TrainingArguments`. A hand-written PyTorch loop gets nothing (`mlflow.autolog()` does
not patch plain torch; `mlflow.pytorch.autolog()` patches Lightning's `Trainer.fit`), and a value
used elsewhere (`train_test_split(test_size=...)`, a `KFold`'s splits) stays unlogged.
Integrations not modelled (statsmodels, Spark), and training in another module's helper, are
taken as logging everything.

## Why is this bad?
A run whose hyperparameters are not recorded cannot be compared with its neighbours or rebuilt:
"which learning rate gave our best model?" has no answer.

## Example
```python
args = parser.parse_args()
with mlflow.start_run():
    mlflow.log_param("lr", args.lr)   # batch_size and epochs are lost
```

## Use instead
```python
with mlflow.start_run():
    mlflow.log_params(vars(args))
```

## Options
`required-hyperparameters` in `[tool.mltrack.lint]`: names every training file must log.
`tracker`: the message names the call to use with your team's tracker.
The fix logs the argparse namespace or config dict that is already there, first thing inside
`with mlflow.start_run():`.
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from mltrack.lint.context import FileContext
from mltrack.lint.hparams import HParam, analyze_hparams, norm
from mltrack.lint.rule import Invalid, Rule, Valid
from mltrack.model import Edit, Finding, Fix

_ARGS = "import argparse\nimport mlflow\np = argparse.ArgumentParser()\n" \
        "p.add_argument('--lr', type=float, default=0.1)\np.add_argument('--epochs', type=int)\n" \
        "args = p.parse_args()\n"
_FIT = "    model.fit(X, y)\n"


class UnloggedHyperparameters(Rule):
    code = "MLT004"
    name = "unlogged-hyperparameters"
    summary = "Values that configure training never reach a tracker"
    fixable = True
    VALID = (
        "import mlflow\nimport xgboost as xgb\nparams = {'max_depth': 3}\nwith mlflow.start_run():\n"
        "    mlflow.log_params({**params, 'num_boost_round': 1000})\n"
        "    bst = xgb.train(params, d, num_boost_round=1000)\n",
        # every setting reaches the module's init, whose arguments save_hyperparameters() logs
        "import argparse\nimport pytorch_lightning as pl\n\n"
        "class Lit(pl.LightningModule):\n    def __init__(self, hidden_dim, learning_rate):\n"
        "        super().__init__()\n        self.save_hyperparameters()\n\n"
        "parser = argparse.ArgumentParser()\nparser.add_argument('--hidden_dim', type=int)\n"
        "parser.add_argument('--learning_rate', type=float)\nargs = parser.parse_args()\n"
        "pl.Trainer().fit(Lit(args.hidden_dim, args.learning_rate))\n",
        _ARGS + "with mlflow.start_run():\n    mlflow.log_params(vars(args))\n" + _FIT,
        _ARGS + "with mlflow.start_run():\n    mlflow.log_param('learning_rate', args.lr)\n"
        "    mlflow.log_param('epochs', args.epochs)\n" + _FIT,
        "import wandb\nimport torch\nconfig = {'lr': 0.1, 'batch_size': 8}\n"
        "run = wandb.init(config=config)\nopt = torch.optim.SGD(m.parameters(), lr=config['lr'])\n"
        "loss.backward()\n",
        # sklearn autologging logs the estimator's constructor arguments (get_params())
        "import argparse\nimport mlflow\nfrom sklearn.ensemble import RandomForestClassifier\n"
        "p = argparse.ArgumentParser()\np.add_argument('--max_depth', type=int)\n"
        "p.add_argument('--n_estimators', type=int)\nargs = p.parse_args()\nmlflow.autolog()\n"
        "clf = RandomForestClassifier(max_depth=args.max_depth, n_estimators=args.n_estimators)\n"
        "clf.fit(X, y)\n",
        # autologging turned on by a helper of another module
        Valid(
            "import argparse\nfrom sklearn.svm import SVC\nfrom tracking import setup_tracking\n"
            "p = argparse.ArgumentParser()\np.add_argument('--C', type=float)\nargs = p.parse_args()\n"
            "setup_tracking()\nSVC(C=args.C).fit(X, y)\n",
            files=(("tracking.py", "import mlflow\ndef setup_tracking():\n    mlflow.set_experiment('svm')\n"
                    "    mlflow.autolog()\n"),),
        ),
        # retraining the top runs of a search: --top_n picks runs, it configures no training
        "import argparse\nimport mlflow\nfrom sklearn.ensemble import RandomForestRegressor\n"
        "mlflow.sklearn.autolog()\np = argparse.ArgumentParser()\np.add_argument('--top_n', type=int)\n"
        "args = p.parse_args()\nfor run in client.search_runs(ids, max_results=args.top_n):\n"
        "    with mlflow.start_run():\n        RandomForestRegressor(**run.data.params).fit(X, y)\n",
        # Keras autologging logs fit's keywords and the optimizer's config
        "import mlflow\nfrom tensorflow import keras\nLR = 1e-3\nEPOCHS = 5\nBATCH_SIZE = 32\n"
        "mlflow.tensorflow.autolog()\nmodel.compile(optimizer=keras.optimizers.Adam(learning_rate=LR), loss='mse')\n"
        "model.fit(x, y, epochs=EPOCHS, batch_size=BATCH_SIZE)\n",
        # Lightning autologging logs max_epochs (as epochs) and the optimizer's defaults
        "import argparse\nimport mlflow\nimport pytorch_lightning as pl\nfrom model import Lit\n"
        "p = argparse.ArgumentParser()\np.add_argument('--lr', type=float)\np.add_argument('--epochs', type=int)\n"
        "args = p.parse_args()\nmlflow.pytorch.autolog()\npl.Trainer(max_epochs=args.epochs).fit(Lit(lr=args.lr))\n",
        "import torch\nopt = torch.optim.SGD(m.parameters(), lr=0.1)\n",  # never trains
        # a parser built in another module, its namespace logged whole
        Valid(
            "import wandb\nimport torch\nfrom utils import parse_args\nargs = parse_args()\n"
            "wandb.init(config=args)\nopt = torch.optim.SGD(m.parameters(), lr=args.lr)\nloss.backward()\n",
            files=(("utils.py", "import argparse\ndef parse_args():\n    p = argparse.ArgumentParser()\n"
                    "    p.add_argument('--lr', type=float)\n    return p.parse_args()\n"),),
        ),
        # module constants that are paths or switches are not hyperparameters
        "import mlflow\nimport torch\ndata_dir = 'data'\nnum_workers = 4\nwith mlflow.start_run():\n"
        "    loss.backward()\n",
    )
    INVALID = (
        Invalid(
            _ARGS + "with mlflow.start_run():\n" + _FIT,
            fixed=_ARGS + "with mlflow.start_run():\n    mlflow.log_params(vars(args))\n" + _FIT,
            line=4,
            message="`lr`, `epochs`",
        ),
        Invalid(
            "import mlflow\nimport torch\nLR = 0.01\nBATCH_SIZE = 32\nwith mlflow.start_run():\n"
            "    mlflow.log_param('lr', LR)\n    opt = torch.optim.SGD(m.parameters(), lr=LR, momentum=0.9)\n"
            "    loss.backward()\n",
            line=4,
            message="`batch_size`, `momentum`",
        ),
        Invalid(
            "import mlflow\nfrom dataclasses import dataclass\n@dataclass\nclass Config:\n"
            "    lr: float = 0.1\n    epochs: int = 2\ncfg = Config()\nwith mlflow.start_run():\n"
            "    model.fit(X, y)\n",
            fixed="import mlflow\nfrom dataclasses import dataclass\n@dataclass\nclass Config:\n"
            "    lr: float = 0.1\n    epochs: int = 2\ncfg = Config()\nwith mlflow.start_run():\n"
            "    mlflow.log_params(vars(cfg))\n    model.fit(X, y)\n",
        ),
        Invalid(
            "import mlflow\nconfig = {'lr': 0.1, 'depth': 3}\nwith mlflow.start_run():\n"
            "    mlflow.log_metric('acc', 1.0)\n    clf.fit(X, y)\n",
            fixed="import mlflow\nconfig = {'lr': 0.1, 'depth': 3}\nwith mlflow.start_run():\n"
            "    mlflow.log_params(config)\n    mlflow.log_metric('acc', 1.0)\n    clf.fit(X, y)\n",
        ),
        Invalid(
            "import torch\nlearning_rate = 1e-3\nnum_epochs = 5\nopt = torch.optim.Adam(m.parameters(), "
            "lr=learning_rate)\nfor e in range(num_epochs):\n    loss.backward()\n",
            line=2, message="`learning_rate`, `num_epochs`"),
        Invalid(
            "import torch\nopt = torch.optim.SGD(m.parameters(), 0.1)\nloss.backward()\n",
            line=2, message="`lr`"),
        Invalid(
            "import mlflow\nconfig = {}\nconfig['lr'] = 0.01\nconfig['dropout'] = 0.2\n"
            "with mlflow.start_run():\n    mlflow.log_param('lr', config['lr'])\n    model.fit(X, y)\n",
            line=4, message="`dropout`"),
        Invalid(
            "import torch\nfrom utils import parse_args\nargs = parse_args()\n"
            "opt = torch.optim.SGD(m.parameters(), lr=args.lr, momentum=args.momentum)\nloss.backward()\n",
            files=(("utils.py", "import argparse\ndef parse_args():\n    p = argparse.ArgumentParser()\n"
                    "    p.add_argument('--lr', type=float)\n    return p.parse_args()\n"),),
            line=4, message="`lr`, `momentum`"),
        Invalid(
            "import hydra\nimport torch\n@hydra.main(config_path='conf', config_name='train')\n"
            "def main(cfg):\n    opt = torch.optim.Adam(m.parameters(), lr=cfg.optim.lr)\n"
            "    trainer.fit(model, max_epochs=cfg.trainer.max_epochs)\nmain()\n",
            message="`lr`"),
        # save_hyperparameters() logs the module's init arguments, not the script's batch size
        Invalid(
            "import argparse\nimport torch\nimport pytorch_lightning as pl\n\n"
            "class Lit(pl.LightningModule):\n    def __init__(self, hidden_dim=64, learning_rate=1e-3):\n"
            "        super().__init__()\n        self.save_hyperparameters()\n\n"
            "parser = argparse.ArgumentParser()\nparser.add_argument('--batch_size', default=32, type=int)\n"
            "args = parser.parse_args()\nloader = torch.utils.data.DataLoader(ds, batch_size=args.batch_size)\n"
            "pl.Trainer().fit(Lit(), loader)\n", message="`batch_size`"),
        # the booster's params are logged, the rounds given by keyword are not
        Invalid(
            "import mlflow\nimport xgboost as xgb\nparams = {'max_depth': 3}\nwith mlflow.start_run():\n"
            "    mlflow.log_params(params)\n    bst = xgb.train(params=params, dtrain=d, "
            "num_boost_round=1000, early_stopping_rounds=50)\n",
            message="`num_boost_round`, `early_stopping_rounds`"),
        Invalid(
            "import xgboost as xgb\nparams = {'max_depth': 3, 'eta': 0.1}\n"
            "bst = xgb.train(params, dtrain, 50)\n", message="`num_boost_round`"),
        # mlflow.autolog() does not patch a hand-written PyTorch loop: nothing is logged
        Invalid(
            "import mlflow\nimport torch\nmlflow.autolog()\nopt = torch.optim.Adam(m.parameters(), lr=0.01)\n"
            "loss.backward()\n", line=4, message="`lr`"),
        Invalid(
            _ARGS.replace("import mlflow\n", "import mlflow\nimport torch\n") + "mlflow.pytorch.autolog()\n"
            "opt = torch.optim.SGD(m.parameters(), lr=args.lr)\nfor epoch in range(args.epochs):\n"
            "    loss.backward()\n    opt.step()\n", line=5, message="`lr`, `epochs`"),
        # a helper of another module turns autologging on: still nothing for a hand-written loop
        Invalid(
            "import torch\nfrom tracking import setup_tracking\nsetup_tracking()\nEPOCHS = 5\n"
            "for epoch in range(EPOCHS):\n    loss.backward()\n",
            files=(("tracking.py", "import mlflow\ndef setup_tracking():\n    mlflow.autolog()\n"),),
            line=4, message="`epochs`"),
        # sklearn autologging logs the estimator's arguments, not the split's test size
        Invalid(
            "import argparse\nimport mlflow\nfrom sklearn.linear_model import LogisticRegression\n"
            "from sklearn.model_selection import train_test_split\np = argparse.ArgumentParser()\n"
            "p.add_argument('--C', type=float)\np.add_argument('--test_size', type=float)\n"
            "args = p.parse_args()\nmlflow.sklearn.autolog()\n"
            "X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=args.test_size, random_state=0)\n"
            "LogisticRegression(C=args.C).fit(X_tr, y_tr)\n", line=7, message="`test_size`"),
        # save_hyperparameters(logger=False) keeps them in the checkpoint, not in a logger
        Invalid(
            "import pytorch_lightning as pl\n\nclass Lit(pl.LightningModule):\n"
            "    def __init__(self, hidden_dim=64):\n        super().__init__()\n"
            "        self.save_hyperparameters(logger=False)\n\n"
            "parser = ArgumentParser()\nparser.add_argument('--hidden_dim', type=int)\n"
            "args = parser.parse_args()\npl.Trainer().fit(Lit(args.hidden_dim))\n",
            message="`hidden_dim`"),
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        if not ctx.trains:
            return
        report = analyze_hparams(ctx)
        if report.all_covered:
            return
        missing = report.missing()
        required = getattr(ctx.config, "required_hyperparameters", ()) or ()
        have = {norm(hp.name) for hp in report.sources}
        for name in required:
            if norm(name) not in report.logged and norm(name) not in have:
                missing.append(HParam(name, missing[0].node if missing else ctx.module))
        if not missing:
            return
        names = ", ".join(f"`{hp.name}`" for hp in missing[:8])
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        node = missing[0].node
        yield self.finding(
            ctx, None if node is ctx.module else node,
            f"hyperparameters {names}{more} configure training but are never logged to a tracker"
            f"{ctx.tracker_hint('params')}",
            self._fix(ctx, missing, report.args_vars),
        )

    def _fix(self, ctx: FileContext, missing: list[HParam], args_vars: set[str]) -> Fix | None:
        groups = {g for hp in missing for g in hp.groups}
        if not all(hp.groups for hp in missing) or len(groups) == 0:
            return None
        candidates = [g for g in groups if g in ctx.facts.assigns]
        if len(candidates) != 1:
            return None
        var = candidates[0]
        value = ctx.facts.assigns[var][0]
        if isinstance(value, cst.Dict) or (
            isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == "dict"
        ):
            logged = var  # already a dict
        elif isinstance(value, cst.Call) and (
            var in args_vars or (isinstance(value.func, cst.Name) and value.func.value in ctx.facts.classes)
        ):
            logged = f"vars({var})"  # an argparse namespace or a config class instance
        else:
            return None  # loaded from somewhere: its type is unknown here
        mlflow = ctx.local_name("mlflow")
        if mlflow is None or getattr(ctx.config, "tracker", None) not in (None, "mlflow"):
            return None
        for site in ctx.calls:
            if site.qual == "mlflow.start_run" and site.with_item:
                block = ctx.facts.with_of[id(site.node)].body
                if not isinstance(block, cst.IndentedBlock) or not block.body:
                    return None
                line, _, _, _ = ctx.span(block.body[0])
                text = f"{ctx.indent_of(line)}{mlflow}.log_params({logged})\n"
                return Fix(f"Log `{logged}` when the run starts", (Edit(line, 0, line, 0, text),))
        return None
