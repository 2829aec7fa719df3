"""## What it does
Flags code that tracks runs with a tracker that records no git commit - TensorBoard
(`SummaryWriter`, TF1's `tf.summary.FileWriter`, Keras' `TensorBoard` callback, Lightning's
`TensorBoardLogger`/`CSVLogger`, or a project helper wrapping one of them), runs created with
`MlflowClient.create_run`, W&B with git capture disabled (`Settings(disable_git=True)`,
`WANDB_DISABLE_GIT`) - and logs no code version itself (a `git_commit` tag, `git rev-parse`).
MLflow's fluent `start_run` and W&B record the commit on their own when the script runs from a
git checkout (MLflow: `start_run` resolves the `mlflow.source.git.commit` tag through
`context_registry.resolve_tags`, `mlflow/tracking/context/git_context.py`; W&B: unless
`disable_git`); `MlflowClient.create_run` resolves no context tags, so it records none.

## Why is this bad?
A run that cannot name the commit that produced it cannot be rebuilt: months later nobody knows
which version of the training code made the model in production.

## Example
```python
writer = SummaryWriter()
writer.add_scalar("loss", loss, step)
```

## Use instead
```python
commit = subprocess.check_output(["git", "rev-parse", "HEAD"], text=True).strip()
writer = SummaryWriter()
writer.add_text("git_commit", commit)
```

## Options
None.
"""

from __future__ import annotations

from collections.abc import Iterable

from mltrack.lint.context import FileContext
from mltrack.lint.rule import Invalid, Rule
from mltrack.model import Finding

_GIT_OFF = ("WANDB_DISABLE_GIT", "WANDB_DISABLE_CODE")


class MissingCodeVersion(Rule):
    code = "MLT006"
    name = "missing-code-version"
    summary = "Runs are tracked but no code version is recorded"
    VALID = (
        "import mlflow\nwith mlflow.start_run():\n    mlflow.log_metric('loss', 1.0)\n",
        "import subprocess\nfrom torch.utils.tensorboard import SummaryWriter\nw = SummaryWriter()\n"
        "sha = subprocess.check_output(['git', 'rev-parse', 'HEAD'])\nw.add_text('git_commit', sha)\n",
        "import wandb\nrun = wandb.init(project='p')\nrun.finish()\n",
    )
    INVALID = (
        "from torch.utils.tensorboard import SummaryWriter\nw = SummaryWriter('runs/x')\n"
        "w.add_scalar('loss', 0.1, 1)\n",
        "import tensorflow as tf\nwriter = tf.summary.FileWriter('logs', graph=tf.get_default_graph())\n",
        "from tensorflow import keras\ncb = keras.callbacks.TensorBoard(log_dir='logs')\n"
        "model.fit(x, y, callbacks=[cb])\n",
        Invalid(
            "from logger import Logger\nlog = Logger('./logs')\nlog.scalar_summary('loss', 0.1, 1)\n",
            files=(("logger.py", "import tensorflow as tf\nclass Logger:\n    def __init__(self, d):\n"
                    "        self.writer = tf.summary.FileWriter(d)\n"
                    "    def scalar_summary(self, tag, value, step):\n        pass\n"),),
            line=2),
        "from mlflow import MlflowClient\nclient = MlflowClient()\nrun = client.create_run('1')\n"
        "client.log_metric(run.info.run_id, 'loss', 0.1)\n",
        "import wandb\nrun = wandb.init(settings=wandb.Settings(disable_git=True))\n",
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        effects = ctx.file_effects
        if "track" not in effects or "log:code" in effects or "git" in effects:
            return
        git_off = "nogit" in effects or any(
            key in _GIT_OFF for _t, key, _v, _s in ctx.facts.attr_assigns if key
        )
        records_commit = ("track:mlflow" in effects or "track:wandb" in effects) and not git_off
        if records_commit:
            return
        trackers = [
            s for s in ctx.calls
            if {"track:tensorboard", "track:client", "track:wandb", "nogit"} & ctx.direct(s)
        ]
        if not trackers:  # a project helper that wraps the writer (`Logger("./logs")`)
            trackers = [s for s in ctx.calls
                        if {"track:tensorboard", "track:client"} & ctx.effects(s)][:1]
        if not trackers:
            return
        site = trackers[0]
        why = "git capture is disabled" if git_off else "this tracker records no git commit"
        yield self.finding(
            ctx, site.node,
            f"runs are tracked with `{site.raw or site.name}` but {why} and no code version is logged",
        )
