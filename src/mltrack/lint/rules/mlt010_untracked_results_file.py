"""## What it does
Flags results appended by hand to a text or CSV file (`open(path, "a")`, `to_csv(..., mode="a")`,
the path written there or held in a variable) in a training file that logs no metrics to a
tracker (MLflow autologging counts where it logs the framework's metrics - not over a
hand-written PyTorch loop, which no integration patches). A sweep driver whose training happens in a function it calls counts as a training file,
and so does a script calling a method (`algorithm.update(batch)`) that classes of a project module
it imports define and train in. An append made by a helper - a function or a small logger class
of the project that opens the file its caller names with mode `"a"` - is reported where the
caller names a results file.

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

import libcst as cst

from mltrack.lint import autolog
from mltrack.lint.context import FileContext
from mltrack.lint.effects import local_target
from mltrack.lint.facts import CallSite, literal_string
from mltrack.lint.rule import Invalid, Rule, Valid
from mltrack.lint.saves import decode_append, helper_appends
from mltrack.model import Finding

_TRAIN_HELPER = (
    "import torch\n\ndef train_n_test(output_file, lr=0.01):\n    out = open(output_file, 'a')\n"
    "    loss.backward()\n    out.write(f'{lr} {acc}\\n')\n"
)
_LOGGER = (
    "class Logger:\n    def __init__(self, fpath, resume=False):\n"
    "        self.file = open(fpath, 'a') if resume else open(fpath, 'w')\n\n"
    "    def append(self, values):\n        self.file.write('\\t'.join(map(str, values)))\n"
)
_ALGORITHMS = ("import torch\n\nclass ERM:\n    def update(self, batch):\n"
               "        loss = self.net(batch).mean()\n        loss.backward()\n        self.opt.step()\n")
_METERS = ("class Meter:\n    def update(self, value):\n        self.total += value\n")
_SWEEP_STEP = ("import json\nimport algorithms\nalgorithm = algorithm_class(hparams)\n"
               "for step in range(100):\n    algorithm.update(next(batches))\n"
               "    with open('out/results.jsonl', 'a') as f:\n        f.write(json.dumps(results))\n")
_RESULTS = re.compile(r"\.(csv|tsv|txt|jsonl?|log)\b|result|metric|score|eval|acc", re.I)


class UntrackedResultsFile(Rule):
    code = "MLT010"
    name = "untracked-results-file"
    summary = "Results appended by hand to a file instead of a tracker"
    VALID = (
        # the helper appends to a file, but the caller names a data file, not results
        Valid("from train import train_n_test\ntrain_n_test(output_file='images.bin')\n",
              files=(("train.py", _TRAIN_HELPER),)),
        "import mlflow\nloss.backward()\nmlflow.log_metric('acc', acc)\n"
        "with open('results.csv', 'a') as f:\n    f.write('x')\n",
        # sklearn's autologging records the fitted model's training scores
        "import mlflow\nfrom sklearn.linear_model import Ridge\nmlflow.autolog()\n"
        "Ridge().fit(X, y)\nwith open('results.csv', 'a') as f:\n    f.write('x')\n",
        "import torch\nloss.backward()\nwith open('results.csv', 'w') as f:\n    f.write('x')\n",
        "import torch\nwith open('results.csv', 'a') as f:\n    f.write('x')\n",  # no training
        # `model.train()` only switches the mode: nothing is trained here
        "import torch\nmodel.train()\nwith open('results.csv', 'a') as f:\n    f.write('x')\n",
        # the imported module's `update` only averages numbers: nothing here trains
        Valid(_SWEEP_STEP, files=(("algorithms.py", _METERS),)),
        # a variable holding a cache path, not results
        "import torch\nloss.backward()\ncache = os.path.join(root, 'images.bin')\n"
        "with open(cache, 'ab') as f:\n    f.write(blob)\n",
    )
    INVALID = (
        # a sweep driver: training and the append happen in a helper of another module
        Invalid("from train import train_n_test\nfor lr in [0.01, 0.1]:\n"
                "    out = 'report_' + str(lr) + '.txt'\n    train_n_test(output_file=out, lr=lr)\n",
                line=4, message="`train_n_test` appends results by hand to `out`",
                files=(("train.py", _TRAIN_HELPER),)),
        # results written through a small logger class of the project
        Invalid("import torch\nfrom utils import Logger\nlogger = Logger('checkpoint/log.txt')\n"
                "for epoch in range(3):\n    loss.backward()\n    logger.append([epoch, acc])\n",
                line=3, files=(("utils.py", _LOGGER),)),
        "import torch\n\ndef train(lr):\n    loss.backward()\n    return acc\n\n"
        "for lr in (0.1, 0.01):\n    acc = train(lr)\n    with open('results.txt', 'a') as f:\n"
        "        f.write(f'{lr} {acc}\\n')\n",
        "import torch\nloss.backward()\nwith open('results.csv', 'a') as f:\n    f.write(f'{acc}')\n",
        "import pandas as pd\nclf.fit(X, y)\nrow.to_csv('scores.csv', mode='a', header=False)\n",
        # autologging over a hand-written PyTorch loop logs no metric (mltrack/lint/autolog.py)
        "import mlflow\nimport torch\nmlflow.autolog()\nloss.backward()\n"
        "with open('results.csv', 'a') as f:\n    f.write(f'{acc}')\n",
        # the algorithm class is picked at run time; the imported module's `update` methods train
        Invalid(_SWEEP_STEP, line=6, files=(("algorithms.py", _ALGORITHMS),)),
        # the results file is named through a variable
        Invalid("import os\nimport torch\n\ndef main():\n"
                "    log_path = os.path.join(args.save, args.model + '_training_log.csv')\n"
                "    for epoch in range(3):\n        loss.backward()\n"
                "        with open(log_path, 'a') as f:\n            f.write(f'{epoch},{acc}')\n\n"
                "main()\n", line=8),
        # an engine handed the optimizer trains (torchnet's `engine.train(h, it, n, optimizer)`)
        Invalid("import json, torch\nfrom torchnet.engine import Engine\nengine = Engine()\n"
                "engine.train(h, loader, 10, optimizer)\n"
                "with open('log.txt', 'a') as f:\n    f.write(json.dumps(stats))\n", line=5),
        Invalid("import fasttext\nmodel = fasttext.train_supervised(input='train', lr=0.2)\n"
                "out = open('results', 'a+')\nout.write(str(model.test('valid')))\n", line=3),
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        if not ctx.trains:
            return
        if autolog.metrics_logged(ctx):
            return  # (autologging over a hand-written PyTorch loop logs none)
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
            if not _RESULTS.search(_path_text(ctx, target.value)):
                continue
            yield self.finding(
                ctx, site.node,
                f"results are appended by hand to `{ctx.code(target.value)}` instead of logged to a tracker",
            )
        yield from self._helper_appends(ctx)

    def _helper_appends(self, ctx: FileContext) -> Iterable[Finding]:
        """Calls to project or local helpers that append to the file their caller names."""
        local: dict[str, tuple[tuple[int, str, str], ...]] | None = None
        for site in ctx.calls:
            if site.imported:
                if ctx.project is None:
                    continue
                module, _, function = site.qual.rpartition(".")
                effects = ctx.project.effects_of(module, function, ctx.module_name) or ()
                appends = [a for a in map(decode_append, sorted(effects)) if a is not None]
            else:
                if local is None:
                    local = helper_appends(ctx.facts)
                target = local_target(site, ctx.facts) or site.raw or ""
                appends = list(local.get(target.removesuffix(".__init__"), ()))
            for index, name, default in appends:
                named = _named_file(ctx, site, index, name, default)
                if named is not None:
                    yield self.finding(
                        ctx, site.node,
                        f"`{site.raw or site.name}` appends results by hand to `{named}` instead "
                        "of logging them to a tracker",
                    )
                    break


def _named_file(ctx: FileContext, site: CallSite, index: int, name: str, default: str) -> str | None:
    """The file a call has its helper append to, when it looks like a results file."""
    arg = (site.positional(index) if index >= 0 else None) or site.kwarg(name)
    if arg is None:
        return default if default and _RESULTS.search(default) else None
    shown = ctx.code(arg.value)
    return shown if _RESULTS.search(_path_text(ctx, arg.value)) else None


def _path_text(ctx: FileContext, path: cst.BaseExpression) -> str:
    """A path expression's code, with what a variable holding it was assigned
    (`log_path = os.path.join(save, name + '_training_log.csv')`; `open(log_path, 'a')`)."""
    text = ctx.code(path)
    if isinstance(path, cst.Name):
        text += " " + " ".join(ctx.code(v) for v in ctx.facts.assigns.get(path.value, ()))
    return text
