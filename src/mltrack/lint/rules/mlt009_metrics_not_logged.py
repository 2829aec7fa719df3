"""## What it does
Flags loss, accuracy and similar metrics printed in a training loop, or after it in the function
that runs it, when that metric never reaches a tracker (`mlflow.log_metric(s)`, `wandb.log`,
`SummaryWriter.add_scalar`, Lightning `self.log` (sent to the Trainer's loggers: TensorBoard's by
default, a CSV logger when TensorBoard is not installed; `logger=False` sends it to none),
MLflow autologging of a framework it patches, or a helper that logs). Printing
counts in its usual forms: `print`, `logging` / `logger.info`, `sys.stdout.write`, tqdm's
`set_postfix` / `set_description`, meter objects (`AverageMeter`, `ProgressMeter.display()`)
and a local `log()`-style helper that prints what it is given; Lightning's
`self.log(..., prog_bar=True, logger=False)` shows a metric in the progress bar only. A trainer
of another project module that trains and prints its metrics in its loop is reported where the
entry point calls it.

MLflow autologging records the metrics of scikit-learn, Keras, XGBoost/LightGBM, Lightning and
the Hugging Face Trainer; it does not patch a hand-written PyTorch loop (`mlflow.autolog()` has
no plain-torch integration; `mlflow.pytorch.autolog()` patches Lightning's `Trainer.fit` and
TensorBoard writers), so what such a loop prints stays unlogged.

## Why is this bad?
Printed numbers vanish with the terminal: runs cannot be compared, plotted or audited, and the
"best run" is whatever someone remembers.

## Example
```python
for epoch in range(epochs):
    ...
    print(f"epoch {epoch} loss {loss.item():.4f}")
```

## Use instead
```python
for epoch in range(epochs):
    ...
    mlflow.log_metric("loss", loss.item(), step=epoch)
```

## Options
`tracker` in `[tool.mltrack.lint]`: the message names the call to use with your team's tracker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import libcst as cst

from mltrack.lint import autolog
from mltrack.lint.context import FileContext
from mltrack.lint.effects import METRIC_WORDS
from mltrack.lint.facts import literal_string, names_in
from mltrack.lint.rule import Invalid, Rule, Valid
from mltrack.lint.trackers import lightning_logs
from mltrack.model import Finding

_METRIC = METRIC_WORDS
_TRAINER = ("import torch\n\ndef fit(model, loader, opt, epochs):\n    for epoch in range(epochs):\n"
            "        for x, y in loader:\n            loss = model(x, y)\n            loss.backward()\n"
            "            opt.step()\n        print(f'epoch {epoch} loss {loss.item():.4f}')\n")
_ENTRY = ("import torch\nfrom trainer import fit\nmodel = torch.nn.Linear(3, 1)\n"
          "opt = torch.optim.SGD(model.parameters(), lr=0.1)\nfit(model, loader, opt, epochs=5)\n")
_PRINTERS = {"print", "info", "write", "set_postfix", "set_description", "set_postfix_str",
             "display", "debug", "warning", "pprint"}
# Methods only progress bars have (tqdm): any receiver name will do.
_BAR_METHODS = {"set_postfix", "set_description", "set_postfix_str"}
# Receivers of `info`/`write`/`debug`/`warning` that print or log text, not a tracker.
_TEXT_SINK = re.compile(r"log|tqdm|bar|stdout|stderr|console")
# Helper objects that accumulate and print metrics (`AverageMeter`, `ProgressMeter`, `Meter`).
_METER_CLASS = re.compile(r"meter|progress", re.I)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


class MetricsNotLogged(Rule):
    code = "MLT009"
    name = "metrics-not-logged"
    summary = "Loss or accuracy printed in a training loop and never logged"
    VALID = (
        # the project trainer logs its metrics itself
        Valid(_ENTRY, files=(("trainer.py", _TRAINER.replace(
            "import torch\n", "import torch\nimport mlflow\n").replace(
            "        print(", "        mlflow.log_metric('loss', loss.item())\n        print(")),)),
        # the trainer module prints progress, not a metric
        Valid(_ENTRY, files=(("trainer.py", _TRAINER.replace(
            "print(f'epoch {epoch} loss {loss.item():.4f}')", "print(f'epoch {epoch} done')")),)),
        "import mlflow\nfor epoch in range(3):\n    loss.backward()\n"
        "    mlflow.log_metric('loss', loss.item(), step=epoch)\n    print(f'loss {loss.item()}')\n",
        "import torch\nloss.backward()\nprint('final loss', loss)\n",  # not in a loop
        "import wandb\nfor batch in loader:\n    loss.backward()\n    wandb.log({'train_loss': loss})\n"
        "    print(f'loss={loss:.3f}')\n",
        "import torch\nfor epoch in range(3):\n    loss.backward()\n    print(f'epoch {epoch} done')\n",
        # a meter whose average is logged
        "import wandb\nlosses = AverageMeter('Loss')\nprogress = ProgressMeter(9, [losses])\n"
        "for x in loader:\n    loss.backward()\n    losses.update(loss.item())\n    progress.display(1)\n"
        "    wandb.log({'loss': losses.avg})\n",
        # a project logger object around a TensorBoard writer logs what it is given
        Valid(
            "import torch\nfrom logger import Logger\nlogger = Logger('./logs')\nfor x in loader:\n"
            "    loss.backward()\n    logger.scalar_summary('loss', loss.item(), 1)\n    print(f'loss {loss}')\n",
            files=(("logger.py", "import tensorflow as tf\nclass Logger:\n    def __init__(self, d):\n"
                    "        self.writer = tf.summary.FileWriter(d)\n"),),
        ),
        # TF1 summaries written by a FileWriter
        "import tensorflow as tf\ntf.summary.scalar('loss', cost)\nmerged = tf.summary.merge_all()\n"
        "train_op = opt.minimize(cost)\nwriter = tf.summary.FileWriter('logs')\nfor i in range(9):\n"
        "    _, c, s = sess.run([train_op, cost, merged])\n    writer.add_summary(s, i)\n"
        "    print('cost', c)\n",
        # sklearn autologging records the fitted model's scores
        "import mlflow\nfrom sklearn.linear_model import LogisticRegression\nmlflow.autolog()\n"
        "for C in [0.1, 1.0]:\n    with mlflow.start_run():\n        clf = LogisticRegression(C=C).fit(X, y)\n"
        "        print('val acc', clf.score(Xv, yv))\n",
        # shown in the progress bar only, but the same loss is logged by another self.log
        "import pytorch_lightning as pl\nclass Lit(pl.LightningModule):\n    def training_step(self, b, i):\n"
        "        loss = self.model(b)\n        self.log('train_loss', loss)\n"
        "        self.log('loss', loss, prog_bar=True, logger=False)\n        return loss\n"
        "pl.Trainer().fit(Lit())\n",
        "import pytorch_lightning as pl\nclass Lit(pl.LightningModule):\n    def training_step(self, b, i):\n"
        "        loss = self.model(b)\n        self.log('train_loss', loss, prog_bar=True, logger=True)\n"
        "        return loss\npl.Trainer().fit(Lit())\n",
        # MLflow's Lightning autologging logs trainer.callback_metrics, logger=False ones included
        "import mlflow\nimport pytorch_lightning as pl\nclass Lit(pl.LightningModule):\n"
        "    def training_step(self, b, i):\n        loss = self.model(b)\n"
        "        self.log('train_loss', loss, prog_bar=True, logger=False)\n        return loss\n"
        "mlflow.pytorch.autolog()\npl.Trainer().fit(Lit())\n",
        # a helper that logs to a tracker is not a printer
        "import mlflow\ndef log(step, loss):\n    print(loss)\n    mlflow.log_metric('loss', loss, step)\n"
        "for step in range(3):\n    loss.backward()\n    log(step, loss)\n",
    )
    INVALID = (
        # the loop and its prints are in a trainer module the entry point calls
        Invalid(_ENTRY, line=5, message="`fit` trains and prints its metrics", files=(("trainer.py", _TRAINER),)),
        "import torch\nfor epoch in range(3):\n    loss.backward()\n    print(f'loss {loss.item()}')\n",
        "import mlflow\nfor epoch in range(3):\n    loss.backward()\n"
        "    mlflow.log_metric('loss', loss.item())\n    print('val acc', val_acc)\n",
        Invalid(
            "import torch\nfrom tqdm import tqdm\nfor x in (bar := tqdm(loader)):\n    loss.backward()\n"
            "    bar.set_postfix(loss=loss.item())\n", message="`loss`"),
        Invalid(
            "import torch\nimport sys\nfor x in loader:\n    loss.backward()\n"
            "    sys.stdout.write(f'\\rloss {loss.item():.3f}')\n", line=5),
        Invalid(
            "import torch\nimport logging\nlog = logging.getLogger(__name__)\nfor x in loader:\n"
            "    loss.backward()\n    log.info('train loss %.3f', loss.item())\n", line=6),
        Invalid(
            "import torch\nlosses = AverageMeter('Loss', ':.4e')\n"
            "progress = ProgressMeter(9, [batch_time, losses])\nfor i, x in enumerate(loader):\n"
            "    loss.backward()\n    losses.update(loss.item())\n    progress.display(i)\n",
            line=7, message="`losses`"),
        Invalid(
            "import torch\ndef log_string(text):\n    print(text)\n"
            "for x in loader:\n    loss.backward()\n    log_string('loss: %f' % loss)\n", line=6),
        # a training function called once per epoch prints its result
        Invalid(
            "import torch\ndef train(epoch):\n    loss = model(x).sum()\n    loss.backward()\n"
            "    print('loss_train: {:.4f}'.format(loss.item()))\nfor epoch in range(9):\n    train(epoch)\n",
            line=5),
        # a progress-bar helper of the project that writes to stdout
        Invalid(
            "import torch\nfrom utils import progress_bar\nfor i, x in enumerate(loader):\n    loss.backward()\n"
            "    progress_bar(i, 9, 'Loss: %.3f' % loss.item())\n",
            files=(("utils.py", "import sys\nimport torch\ndef progress_bar(i, n, msg):\n"
                    "    torch.cuda.synchronize()\n    sys.stdout.write(msg)\n"),),
            line=5),
        # the epoch's result printed after its loop, in the function that trains
        Invalid(
            "import torch\ndef train(model):\n    total = 0\n    for x in loader:\n"
            "        loss = model(x).sum()\n        loss.backward()\n        total += loss.item()\n"
            "    print(f'avg loss {total / len(loader)}')\ntrain(net)\n", line=8),
        # mlflow.autolog() does not patch a hand-written PyTorch loop
        Invalid(
            "import mlflow\nimport torch\nmlflow.autolog()\nfor epoch in range(3):\n    loss.backward()\n"
            "    print(f'loss {loss.item()}')\n", line=6, message="`loss`"),
        # logger=False: shown in the progress bar, sent to no logger
        Invalid(
            "import pytorch_lightning as pl\nclass Lit(pl.LightningModule):\n    def training_step(self, b, i):\n"
            "        loss = self.model(b)\n        self.log('train_loss', loss, prog_bar=True, logger=False)\n"
            "        return loss\npl.Trainer().fit(Lit())\n", line=5, message="`train_loss`"),
        Invalid(
            "import pytorch_lightning as pl\nclass Lit(pl.LightningModule):\n    def validation_step(self, b, i):\n"
            "        metrics = {'val_loss': self.model(b), 'val_acc': self.acc(b)}\n"
            "        self.log_dict(metrics, prog_bar=True, logger=False)\npl.Trainer().fit(Lit())\n",
            line=5, message="`val_"),
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        if not ctx.trains:
            return
        logged, everything = self._logged(ctx)
        if everything:
            return
        printers = _printing_helpers(ctx) | _project_printers(ctx)
        meters = _meters(ctx)
        after_loop = _trains_in_loop(ctx)
        for site in ctx.calls:
            if site.loops == 0 and not (after_loop and site.function in after_loop):
                continue
            if site.raw in printers:
                pass  # a local `log()` helper that prints what it is given
            elif site.name not in _PRINTERS:
                continue
            elif site.name == "display":
                if _receiver(site) not in meters:
                    continue
            elif site.name not in ("print", "pprint") and site.name not in _BAR_METHODS and \
                    not _TEXT_SINK.search((site.raw or "").lower()):
                continue
            printed = set()
            for arg in site.node.args:
                value_names = names_in(arg.value)
                printed |= {n for n in value_names if _METRIC.search(n)}
                for name in value_names & set(meters):
                    printed |= meters[name]  # printing a meter prints the metric it holds
                if arg.keyword is not None and _METRIC.search(arg.keyword.value):
                    printed.add(arg.keyword.value)  # tqdm's set_postfix(loss=...)
                printed |= {w for w in re.findall(r"[A-Za-z_]+", _text(arg.value)) if _METRIC.search(w)}
            if site.name == "display":
                printed |= meters.get(_receiver(site), set())
            missing = sorted(n for n in printed if not _covered(n, logged))
            if missing:
                yield self.finding(
                    ctx, site.node,
                    f"`{missing[0]}` is printed in a training loop but never logged to a tracker"
                    f"{ctx.tracker_hint('metrics')}",
                )
        yield from self._shown_not_logged(ctx, logged)
        if not autolog.metrics_logged(ctx):
            yield from self._trainer_modules(ctx)

    def _shown_not_logged(self, ctx: FileContext, logged: set[str]) -> Iterable[Finding]:
        """Lightning's `self.log(name, value, prog_bar=True, logger=False)` (or `log_dict`) shows
        a metric in the progress bar at every step and sends it to no logger
        (mltrack.lint.trackers.lightning_logs cites the source): printed, in effect. Names
        logged by other `self.log` calls count; one with a name chosen at run time may log
        anything, so nothing is reported then."""
        shown: list[tuple[cst.CSTNode, str]] = []
        for site in ctx.calls:
            if site.name not in ("log", "log_dict") or _receiver(site) != "self" or not site.node.args:
                continue
            names = _lightning_names(ctx, site.node.args[0].value)
            if names is None and lightning_logs(site):
                return  # a logged name chosen at run time
            if not lightning_logs(site) and site.kwarg_is("prog_bar", "True"):
                shown.extend((site.node, name) for name in names or () if _METRIC.search(name))
        for node, name in shown:
            if not _covered(name, logged):
                yield self.finding(
                    ctx, node,
                    f"`{name}` is shown in the progress bar with `logger=False`, so it is never "
                    f"logged to a tracker{ctx.tracker_hint('metrics')}",
                )
                return

    def _trainer_modules(self, ctx: FileContext) -> Iterable[Finding]:
        """A trainer of another project module that trains and prints its metrics in the loop
        (`fit(model, loader, opt)` in trainer.py), called from here with no tracker anywhere:
        reported where it is called - the entry point is where a run would be opened."""
        for site in ctx.calls:
            effects = ctx.effects(site)
            if site.imported and {"train", "print:metric"} <= effects - ctx.direct(site) and not (
                    effects & {"log:metric", "track"}):
                yield self.finding(
                    ctx, site.node,
                    f"`{site.raw or site.name}` trains and prints its metrics in the loop, but they "
                    f"are never logged to a tracker{ctx.tracker_hint('metrics')}",
                )
                return

    @staticmethod
    def _logged(ctx: FileContext) -> tuple[set[str], bool]:
        logged: set[str] = set()
        wrappers = _tracker_wrappers(ctx)
        for site in ctx.calls:
            if wrappers and _receiver(site) in wrappers and site.node.args:  # logger.scalar_summary
                if literal_string(site.node.args[0].value) is None:
                    return logged, True  # tags chosen at run time (`for tag, v in info.items()`)
                for arg in site.node.args:
                    logged |= {_norm(n) for n in names_in(arg.value)}
            effects = ctx.effects(site)
            if "log:metric" not in effects:
                continue
            if "log:params:all" in effects and site.name == "TrainingArguments":
                return logged, True
            if any(e.startswith(autolog.EFFECT) for e in ctx.direct(site)):
                if autolog.logs_metrics(ctx):
                    return logged, True
                continue  # e.g. `mlflow.autolog()` over a hand-written PyTorch loop: nothing
            if "log:metric" not in ctx.direct(site):
                return logged, True  # a helper logs metrics: trust it with what it is given
            for arg in site.node.args:
                logged |= {_norm(n) for n in names_in(arg.value)}
                if isinstance(arg.value, cst.Name) and arg.value.value in ctx.facts.assigns:
                    for value in ctx.facts.assigns[arg.value.value]:
                        logged |= {_norm(n) for n in names_in(value)}
        return logged, False


def _lightning_names(ctx: FileContext, first: cst.BaseExpression) -> set[str] | None:
    """The metric names a `self.log` (a string) or `self.log_dict` (a dict literal, or a
    variable holding one) call writes; None when they are chosen at run time."""
    text = literal_string(first)
    if text is not None:
        return {text}
    values = ctx.facts.assigns.get(first.value, ()) if isinstance(first, cst.Name) else (first,)
    names: set[str] = set()
    for value in values:
        if not isinstance(value, cst.Dict):
            return None
        for element in value.elements:
            key = literal_string(element.key) if isinstance(element, cst.DictElement) else None
            if key is None:
                return None
            names.add(key)
    return names or None


def _text(expr: cst.BaseExpression) -> str:
    """The literal text of a string, an f-string's text parts, or a `"...".format()` template."""
    if isinstance(expr, cst.FormattedString):
        return " ".join(p.value for p in expr.parts if isinstance(p, cst.FormattedStringText))
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "format":
        return _text(expr.func.value)  # type: ignore[arg-type]
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Modulo):
        return _text(expr.left)
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        return f"{_text(expr.left)} {_text(expr.right)}"
    return literal_string(expr) or ""


def _receiver(site) -> str:
    func = site.node.func
    return func.value.value if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) else ""


def _printing_helpers(ctx: FileContext) -> set[str]:
    """Local functions named like a logger (`log`, `log_string`, `print_stats`) whose body
    prints: calls to them print their arguments."""
    printing = {s.function for s in ctx.calls if s.function and s.name in ("print", "write")}
    return {name for name in printing if "." not in name and re.search(r"log|print|report", name)
            and not ctx.function_effects.get(name, frozenset()) & {"log:metric", "track"}}


def _meters(ctx: FileContext) -> dict[str, set[str]]:
    """Variables holding a meter or progress object -> the metric names it holds
    (`losses = AverageMeter("Loss")` -> {losses, Loss}; `ProgressMeter(n, [losses, top1])`)."""
    meters: dict[str, set[str]] = {}
    for name, values in ctx.facts.assigns.items():
        for value in values:
            if isinstance(value, cst.Call) and _METER_CLASS.search(_callee(value)):
                held = {name} if _METRIC.search(name) else set()
                for arg in value.args:
                    held |= {n for n in names_in(arg.value) if _METRIC.search(n)}
                    text = literal_string(arg.value) or ""
                    held |= {w for w in re.findall(r"[A-Za-z_]+", text) if _METRIC.search(w)}
                meters.setdefault(name, set()).update(held)
    return meters


def _callee(call: cst.Call) -> str:
    func = call.func
    return func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""


def _trains_in_loop(ctx: FileContext) -> set[str | None]:
    """Scopes (function names, None for module level) with a training step inside a loop, and
    training functions called from a loop (`for epoch in ...: train(epoch)`): a metric printed
    there, after the loop or once per call, is the loop's result."""
    scopes: set[str | None] = set()
    functions = ctx.function_effects
    for site in ctx.calls:
        if site.loops and "train" in ctx.direct(site):
            scopes.add(site.function)
        elif site.loops and site.raw in functions and "train" in functions[site.raw]:
            scopes.add(site.raw)
    return scopes


def _tracker_wrappers(ctx: FileContext) -> set[str]:
    """Variables holding a project object whose constructor opens a tracker (a `Logger` class
    around a TensorBoard writer): its methods log what they are given."""
    opening = {id(site.node) for site in ctx.calls
               if site.imported and "track" in ctx.effects(site) and "track" not in ctx.direct(site)}
    if not opening:
        return set()
    return {name for name, values in ctx.facts.assigns.items() if any(id(v) in opening for v in values)}


def _project_printers(ctx: FileContext) -> set[str]:
    """Helpers imported from the linted project, named like printers (`progress_bar`,
    `print_log`), that log nothing to a tracker."""
    found = set()
    for site in ctx.calls:
        if site.imported and site.raw and re.search(r"progress|print|(^|_)log($|_)|display", site.name) \
                and ctx.project is not None and ctx._external(site) is not None \
                and not ctx.effects(site) & {"log:metric", "track"}:
            found.add(site.raw)
    return found


def _covered(name: str, logged: set[str]) -> bool:
    key = _norm(name).replace("cost", "loss")  # a "cost" is the loss under another name
    logged = {other.replace("cost", "loss") for other in logged}
    return any(key == other or (len(other) >= 3 and (other in key or key in other)) for other in logged)
