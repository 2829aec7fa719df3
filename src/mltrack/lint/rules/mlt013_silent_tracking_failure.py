"""## What it does
Flags a bare `except:` or an `except Exception:` whose body only passes (`pass`, `...`,
`continue`) around tracking calls (MLflow, W&B, TensorBoard writers, metric logging) or git calls.

## Why is this bad?
When the tracking server is down or a credential expired, the run is silently lost: training
"succeeds", nothing is recorded, and nobody notices until the run is needed.

## Example
```python
try:
    mlflow.log_metric("loss", loss)
except Exception:
    pass
```

## Use instead
```python
try:
    mlflow.log_metric("loss", loss)
except mlflow.exceptions.MlflowException:
    logger.exception("could not log to MLflow")
    raise
```

## Options
None.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import libcst as cst

from mltrack.lint.context import FileContext
from mltrack.lint.facts import CallSite, _children
from mltrack.lint.rule import Rule
from mltrack.model import Finding

_TRACKING = ("track", "log:", "git")
_LOGGING_HELPER = re.compile(r"log|track|wandb|mlflow|git|commit|run", re.I)


class SilentTrackingFailure(Rule):
    code = "MLT013"
    name = "silent-tracking-failure"
    summary = "Tracking or git failures swallowed by a bare or silent except"
    VALID = (
        "import mlflow\ntry:\n    mlflow.log_metric('a', 1)\nexcept Exception:\n"
        "    logger.exception('lost')\n    raise\n",
        "import mlflow\ntry:\n    x = int(s)\nexcept Exception:\n    pass\n",
        "import mlflow\ntry:\n    mlflow.log_metric('a', 1)\nexcept ConnectionError:\n"
        "    log.warning('offline')\n",
    )
    INVALID = (
        "import mlflow\ntry:\n    mlflow.log_metric('a', 1)\nexcept Exception:\n    pass\n",
        "import wandb\ntry:\n    wandb.log({'a': 1})\nexcept:\n    print('oops')\n",
        "import subprocess, mlflow\ntry:\n    sha = subprocess.check_output(['git', 'rev-parse', 'HEAD'])\n"
        "except Exception as e:\n    ...\n",
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        if not ctx.facts.tries:
            return
        by_node: dict[int, CallSite] = {id(s.node): s for s in ctx.calls}
        for try_node in ctx.facts.tries:
            silent = [h for h in try_node.handlers if _is_silent(h)]
            if not silent:
                continue
            tracked = self._tracking_call(ctx, try_node.body, by_node)
            if tracked is None:
                continue
            for handler in silent:
                kind = "bare `except:`" if handler.type is None else "`except Exception: pass`"
                yield self.finding(
                    ctx, handler,
                    f"{kind} around `{tracked.raw or tracked.name}` hides tracking failures: "
                    "a lost run goes unnoticed",
                )

    @staticmethod
    def _tracking_call(ctx: FileContext, body: cst.CSTNode, by_node) -> CallSite | None:
        stack = [body]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Call):
                site = by_node.get(id(node))
                # the call itself tracks, or a local helper whose name says it does
                effects = ctx.direct(site) if site is not None else ()
                if site is not None and _LOGGING_HELPER.search(site.name):
                    effects = ctx.effects(site)
                if any(e.startswith(_TRACKING) for e in effects):
                    return site
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                continue
            stack.extend(_children(node))
        return None


def _is_silent(handler: cst.ExceptHandler) -> bool:
    statements = handler.body.body if isinstance(handler.body, cst.IndentedBlock) else ()
    smalls = [s for line in statements if isinstance(line, cst.SimpleStatementLine) for s in line.body]
    reraises = any(isinstance(s, cst.Raise) for s in smalls)
    if handler.type is None:
        return not reraises
    broad = isinstance(handler.type, cst.Name) and handler.type.value in ("Exception", "BaseException")
    only_pass = len(smalls) == len(statements) and all(
        isinstance(s, (cst.Pass, cst.Continue))
        or (isinstance(s, cst.Expr) and isinstance(s.value, cst.Ellipsis))
        or (isinstance(s, cst.Return) and s.value is None)
        for s in smalls
    )
    return broad and only_pass
