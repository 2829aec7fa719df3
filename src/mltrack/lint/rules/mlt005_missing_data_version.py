"""## What it does
Flags code that tracks runs and reads data (`pandas.read_*`, `np.load`, torchvision / Keras /
TFDS datasets, `tf.data` file datasets, TF1's `read_data_sets`, Ray Data `read_*`,
`datasets.load_dataset` without
`revision=`, a local data file opened for reading such as `open("input.txt")`) but logs no
hash or version of that
data: `mlflow.log_input`, a `data_hash`/`dataset_version`-style param or tag, a W&B artifact
(`use_artifact`), a `hashlib` digest or DVC all count. Logging the data *path* alone does not.

## Why is this bad?
"The data changed - which runs are affected?" cannot be answered: the same path holds different
bytes over time, so two runs that look alike may have trained on different data.

## Example
```python
with mlflow.start_run():
    df = pd.read_csv("train.csv")
    mlflow.log_param("data_path", "train.csv")
```

## Use instead
```python
with mlflow.start_run():
    df = pd.read_csv("train.csv")
    mlflow.log_input(mlflow.data.from_pandas(df, source="train.csv"), context="training")
```

## Options
None.
"""

from __future__ import annotations

from collections.abc import Iterable

from mltrack.lint.context import FileContext
from mltrack.lint.rule import Rule
from mltrack.model import Finding


class MissingDataVersion(Rule):
    code = "MLT005"
    name = "missing-data-version"
    summary = "Data is read in tracked code but no hash or version of it is logged"
    VALID = (
        "import mlflow\nimport pandas as pd\nwith mlflow.start_run():\n"
        "    df = pd.read_csv('d.csv')\n"
        "    mlflow.log_input(mlflow.data.from_pandas(df), context='training')\n",
        "import mlflow, hashlib\nimport pandas as pd\nraw = open('d.csv', 'rb').read()\n"
        "with mlflow.start_run():\n    df = pd.read_csv('d.csv')\n"
        "    mlflow.set_tag('data_sha256', hashlib.sha256(raw).hexdigest())\n",
        "import pandas as pd\ndf = pd.read_csv('d.csv')\n",  # no tracking: nothing to attach to
        "import wandb\nimport numpy as np\nrun = wandb.init()\nart = run.use_artifact('ds:v3')\n"
        "x = np.load(art.download() + '/x.npy')\nrun.finish()\n",
        # a config file read, an output file written: not training data
        "import wandb\nrun = wandb.init()\nsettings = open('config.yaml').read()\n"
        "open('input.txt', 'w').write('x')\n",
    )
    INVALID = (
        "import mlflow\nimport pandas as pd\nwith mlflow.start_run():\n"
        "    df = pd.read_csv('d.csv')\n    mlflow.log_param('data_path', 'd.csv')\n",
        "import wandb\nfrom torchvision import datasets\nwandb.init(project='p')\n"
        "train = datasets.MNIST('data', download=True)\n",
        "import wandb\nrun = wandb.init()\nwith open('input.txt', 'r') as f:\n    text = f.read()\n",
        "import tensorflow as tf\nmnist = tf.keras.datasets.mnist\n"
        "writer = tf.summary.create_file_writer('logs')\n(x, y), _ = mnist.load_data()\n",
        "import tensorflow as tf\nfrom tensorflow.examples.tutorials.mnist import input_data\n"
        "mnist = input_data.read_data_sets('/tmp/data/', one_hot=True)\n"
        "writer = tf.summary.FileWriter('logs')\n",
        "import mlflow\nimport ray\nwith mlflow.start_run():\n    ds = ray.data.read_csv(loc)\n",
        "import ray\nfrom ray.air.integrations.mlflow import MLflowLoggerCallback\n"
        "cb = MLflowLoggerCallback(experiment_name='x')\nds = ray.data.read_csv(loc)\n",
        "import tensorflow as tf\nds = tf.data.TFRecordDataset(['train.tfrecord'])\n"
        "model.fit(ds, callbacks=[tf.keras.callbacks.TensorBoard('logs')])\n",
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        effects = ctx.file_effects
        if "track" not in effects or "log:data" in effects or "read:data" not in effects:
            return
        reads = [s for s in ctx.calls if "read:data" in ctx.direct(s)]
        site = reads[0] if reads else next(ctx.sites_with("read:data"))
        yield self.finding(
            ctx, site.node,
            f"`{site.raw or site.name}` reads data in tracked code, but no hash or version of the "
            "data is logged (a path is not a version)",
        )
