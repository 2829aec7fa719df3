"""## What it does
Flags `mlflow.start_run()` and `wandb.init()` that are neither used as a context manager nor
ended in a `finally:` block (`mlflow.end_run()`, `run.finish()`, `wandb.finish()`).

## Why is this bad?
What happens depends on the tracker (checked against mlflow 3.17 and wandb 0.31):

- **MLflow** ends a run that is still active when the process exits with an `atexit` hook that
  calls `end_run()` with its default status, **FINISHED** (`mlflow/tracking/fluent.py`,
  `_safe_end_run`). A script that crashes mid-training therefore leaves a run that looks
  complete, with partial metrics and perhaps no model: the crash is hidden. A `with` block ends
  the run as **FAILED** when an exception escapes it (`ActiveRun.__exit__`). An error caught
  inside the process (a loop over trials) leaves the run active, and the next `start_run()`
  raises because a run is already active.
- **W&B** finishes an unfinished run when the process exits, with the exit code its exception
  hook recorded, so a crashed script's run is marked **failed** (`wandb/sdk/lib/exit_hooks.py`,
  `service_connection.py`'s `teardown_atexit`). The harm is inside one process: after an error
  that is caught (a loop over trials, a notebook cell) the run stays open, and in a script the
  next `wandb.init()` returns that same unfinished run (`reinit="default"` means
  `"return_previous"` outside notebooks), so the next trial's config and metrics are written
  into the previous run.

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
# What each tracker really does with a run left open (see the docstring for the source lines;
# tests/lint/test_unclosed_run_claims.py checks both against the installed libraries).
_MLFLOW_HARM = ("if training crashes, MLflow's atexit hook still ends the run as FINISHED, "
                "hiding the crash")
_WANDB_HARM = ("after an error caught in this process the run stays open, and the next "
               "`wandb.init()` in a script returns that same run")


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
            message="ends the run as FINISHED",
        ),
        Invalid(
            "import wandb\nrun = wandb.init(project='p')\nrun.log({'a': 1})\n",
            fixed="import wandb\nwith wandb.init(project='p') as run:\n    run.log({'a': 1})\n",
            message="returns that same run",
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
                + (_WANDB_HARM if site.qual == "wandb.init" else _MLFLOW_HARM),
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
