"""## What it does
Flags `mlflow.start_run()` and `wandb.init()` that are neither used as a context manager nor
ended in a `finally:` block (`mlflow.end_run()`, `run.finish()`, `wandb.finish()`).

## Why is this bad?
When training crashes, the run is never ended: it stays RUNNING in the tracking store forever,
looks alive on every dashboard, and audits cannot tell a crashed run from a live one.

## Example
```python
mlflow.start_run()
train()
mlflow.end_run()
```

## Use instead
```python
with mlflow.start_run():
    train()
```

## Options
None. The fix turns the call into a `with` block around the statements that follow it in the
same block (up to the matching end call, which it removes).
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from mltrack.lint.context import FileContext
from mltrack.lint.facts import CallSite
from mltrack.lint.rule import Invalid, Rule
from mltrack.model import Edit, Finding, Fix

_STARTS = {"mlflow.start_run", "wandb.init"}
_ENDS = {"end_run", "finish", "set_terminated"}


class UnclosedRun(Rule):
    code = "MLT011"
    name = "unclosed-run"
    summary = "Run started without a context manager or an end on every path"
    fixable = True
    VALID = (
        "import mlflow\nwith mlflow.start_run():\n    train()\n",
        "import wandb\nrun = wandb.init()\ntry:\n    train()\nfinally:\n    run.finish()\n",
        "import wandb\nrun = wandb.init()\nwith run:\n    train()\n",
        "import mlflow as mf\nwith mf.start_run() as run, open('x') as f:\n    train()\n",
        "import mlflow\ndef main():\n    mlflow.start_run()\n    try:\n        train()\n"
        "    finally:\n        mlflow.end_run()\n",
    )
    INVALID = (
        Invalid(
            "import mlflow\n\ndef main():\n    mlflow.start_run()\n    train()\n    # done\n"
            "    mlflow.log_metric('a', 1)\n    mlflow.end_run()\n    print('bye')\n",
            fixed="import mlflow\n\ndef main():\n    with mlflow.start_run():\n        train()\n"
            "        # done\n        mlflow.log_metric('a', 1)\n    print('bye')\n",
            line=4,
        ),
        Invalid(
            "import wandb\nrun = wandb.init(project='p')\nrun.log({'a': 1})\n",
            fixed="import wandb\nwith wandb.init(project='p') as run:\n    run.log({'a': 1})\n",
        ),
        "import mlflow as mf\nrun = mf.start_run()\ntrain()\nmf.end_run()\n",
        # an end in another function's `finally` does not end this run
        "import mlflow\ndef a():\n    mlflow.start_run()\ndef b():\n    try:\n        pass\n"
        "    finally:\n        mlflow.end_run()\n",
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        starts = [s for s in ctx.calls if s.qual in _STARTS and s.imported]
        if not starts:
            return
        # functions (None: module level) that end a run in a `finally:` block
        ended_in_finally = {s.function for s in ctx.calls if s.in_finally and s.name in _ENDS}
        for site in starts:
            if site.with_item or site.function in ended_in_finally or (
                self._bound_name(site) in ctx.facts.with_names
            ):
                continue
            if site.statement is None:
                continue  # returned or passed on (`return mlflow.start_run()`): the caller owns it
            yield self.finding(
                ctx, site.node,
                f"`{site.raw}()` is not a context manager and the run is not ended in `finally`: "
                "it stays RUNNING if training crashes",
                self._fix(ctx, site),
            )

    @staticmethod
    def _bound_name(site: CallSite) -> str | None:
        statement = site.statement
        if statement is None or not isinstance(statement.body[0], cst.Assign):
            return None
        targets = statement.body[0].targets
        if len(targets) == 1 and isinstance(targets[0].target, cst.Name):
            return targets[0].target.value
        return None

    def _fix(self, ctx: FileContext, site: CallSite) -> Fix | None:
        statement = site.statement
        if statement is None or len(statement.body) != 1 or id(statement) not in ctx.facts.blocks:
            return None
        if ctx.path.endswith(".ipynb"):
            return None  # a `with` block cannot span notebook cells
        small = statement.body[0]
        name = self._bound_name(site)
        if isinstance(small, cst.Assign) and name is None:
            return None
        body, index, _block = ctx.facts.blocks[id(statement)]
        following = list(body[index + 1 :])
        end_statement = None
        for position, later in enumerate(following):
            if _is_end_call(later):
                end_statement, following = later, following[:position]
                break
        if not following:
            return None
        start_line, start_col, end_line, end_col = ctx.span(small)
        last_line = ctx.span(following[-1])[2]
        region = "".join(ctx.lines[end_line:last_line])
        if '"""' in region or "'''" in region:
            return None  # indenting would change a multi-line string
        header = f"with {ctx.code(site.node)}{f' as {name}' if name else ''}:"
        edits = [Edit(start_line, start_col, end_line, end_col, header)]
        indent = ctx.module.default_indent
        for line in range(end_line + 1, last_line + 1):
            if ctx.lines[line - 1].strip():
                edits.append(Edit(line, 0, line, 0, indent))
        if end_statement is not None:
            first, _, last, _ = ctx.span(end_statement)
            edits.append(Edit(first, 0, last + 1, 0, ""))
        return Fix("Use the run as a context manager", tuple(edits))


def _is_end_call(statement: cst.BaseStatement) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    return (
        isinstance(small, cst.Expr)
        and isinstance(small.value, cst.Call)
        and isinstance(small.value.func, cst.Attribute)
        and small.value.func.attr.value in _ENDS
    )
