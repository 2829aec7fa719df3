"""## What it does
Flags loss, accuracy and similar metrics printed (`print`, `logger.info`) inside a loop of a
training file when that metric never reaches a tracker (`mlflow.log_metric(s)`, `wandb.log`,
`SummaryWriter.add_scalar`, Lightning `self.log`, autologging, or a helper that logs).

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

from mltrack.lint.context import FileContext
from mltrack.lint.facts import literal_string, names_in
from mltrack.lint.rule import Rule
from mltrack.model import Finding

_METRIC = re.compile(r"loss|acc|f1|auc|precision|recall|mse|mae|rmse|perplexity|ppl|bleu|rouge|"
                     r"iou|dice|score|metric", re.I)
_PRINTERS = {"print", "info", "write", "set_postfix", "set_description"}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


class MetricsNotLogged(Rule):
    code = "MLT009"
    name = "metrics-not-logged"
    summary = "Loss or accuracy printed in a training loop and never logged"
    VALID = (
        "import mlflow\nfor epoch in range(3):\n    loss.backward()\n"
        "    mlflow.log_metric('loss', loss.item(), step=epoch)\n    print(f'loss {loss.item()}')\n",
        "import torch\nloss.backward()\nprint('final loss', loss)\n",  # not in a loop
        "import wandb\nfor batch in loader:\n    loss.backward()\n    wandb.log({'train_loss': loss})\n"
        "    print(f'loss={loss:.3f}')\n",
        "import torch\nfor epoch in range(3):\n    loss.backward()\n    print(f'epoch {epoch} done')\n",
    )
    INVALID = (
        "import torch\nfor epoch in range(3):\n    loss.backward()\n    print(f'loss {loss.item()}')\n",
        "import mlflow\nfor epoch in range(3):\n    loss.backward()\n"
        "    mlflow.log_metric('loss', loss.item())\n    print('val acc', val_acc)\n",
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        if not ctx.trains:
            return
        logged, everything = self._logged(ctx)
        if everything:
            return
        for site in ctx.calls:
            if site.loops == 0 or site.name not in _PRINTERS:
                continue
            if site.name != "print" and not re.search(r"log|tqdm|bar|pbar", site.raw or ""):
                continue
            printed = set()
            for arg in site.node.args:
                printed |= {n for n in names_in(arg.value) if _METRIC.search(n)}
                text = literal_string(arg.value) or ""
                printed |= {w for w in re.findall(r"[A-Za-z_]+", text) if _METRIC.search(w)}
            missing = sorted(n for n in printed if not _covered(n, logged))
            if missing:
                yield self.finding(
                    ctx, site.node,
                    f"`{missing[0]}` is printed in a training loop but never logged to a tracker"
                    f"{ctx.tracker_hint('metrics')}",
                )

    @staticmethod
    def _logged(ctx: FileContext) -> tuple[set[str], bool]:
        logged: set[str] = set()
        for site in ctx.calls:
            effects = ctx.effects(site)
            if "log:metric" not in effects:
                continue
            if "log:params:all" in effects and site.name in ("autolog", "TrainingArguments"):
                return logged, True
            if "log:metric" not in ctx.direct(site):
                return logged, True  # a helper logs metrics: trust it with what it is given
            for arg in site.node.args:
                logged |= {_norm(n) for n in names_in(arg.value)}
                if isinstance(arg.value, cst.Name) and arg.value.value in ctx.facts.assigns:
                    for value in ctx.facts.assigns[arg.value.value]:
                        logged |= {_norm(n) for n in names_in(value)}
        return logged, False


def _covered(name: str, logged: set[str]) -> bool:
    key = _norm(name)
    return any(key == other or (len(other) >= 3 and (other in key or key in other)) for other in logged)
