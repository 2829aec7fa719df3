"""## What it does
Flags code that tracks runs and reads data (`pandas.read_*`, `np.load`, torchvision / Keras /
TFDS datasets, `tf.data` file datasets, TF1's `read_data_sets`, Ray Data `read_*`,
`datasets.load_dataset` without
`revision=`, a local data file opened for reading such as `open("input.txt")`, a subclass of a
torchvision dataset, a helper of the file that opens the data file it is handed
(`load_pickle("train.pkl")`), a method of a project class that reads data such as a data
module's `setup()`) but logs no hash or version of that data
`mlflow.log_input`, a `data_hash`/`dataset_version`-style param or tag, a W&B artifact
(`use_artifact`), a `hashlib` digest or DVC all count. Logging the data *path* alone does not.
MLflow autologging counts where its integration logs the dataset the training call is given
(scikit-learn, Keras/TensorFlow, XGBoost, LightGBM, unless `log_datasets=False`); Lightning's
accepts `log_datasets` but logs no dataset, a hand-written PyTorch loop gets no integration, and
`autolog(disable=True)` logs nothing (sources cited in `mltrack/lint/autolog.py`).

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

from mltrack.lint import autolog
from mltrack.lint.context import FileContext
from mltrack.lint.rule import Invalid, Rule, Valid
from mltrack.model import Finding


_PICKLE_HELPER = ("def load_pickle(filename):\n    with open(filename, 'rb') as f:\n"
                  "        return pickle.load(f)\n\n")
_DATAMODULE = ("import pandas as pd\n\nclass DataModule:\n    def __init__(self, root):\n"
               "        self.root = root\n\n    def setup(self):\n"
               "        self.df = pd.read_csv(self.root + '/train.csv')\n\n"
               "    def prepare(self):\n        os.makedirs(self.root, exist_ok=True)\n")


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
        # a pickle helper handed a model file, not data
        "import mlflow, pickle\n" + _PICKLE_HELPER +
        "with mlflow.start_run():\n    model = load_pickle('models/trained_model.pkl')\n",
        # a method of a project class that reads nothing
        Valid("import wandb\nfrom dataset import DataModule\nwandb.init()\n"
              "data = DataModule('data')\ndata.prepare()\n", files=(("dataset.py", _DATAMODULE),)),
        # sklearn's autologging logs the dataset `fit` is given (digest, schema, source)
        "import mlflow\nimport pandas as pd\nfrom sklearn.linear_model import Ridge\n"
        "mlflow.autolog()\ndf = pd.read_csv('d.csv')\nRidge(alpha=1.0).fit(df[['x']], df['y'])\n",
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
        # data unpickled by a helper of the file, named at the call
        Invalid("import mlflow, os, pickle\n" + _PICKLE_HELPER +
                "X, y = load_pickle(os.path.join(data_path, 'train.pkl'))\n"
                "with mlflow.start_run():\n    model.fit(X, y)\n", line=6),
        # `autolog(disable=True)` logs nothing, so no dataset digest either
        Invalid("import mlflow\nimport pandas as pd\nmlflow.sklearn.autolog(disable=True)\n"
                "with mlflow.start_run():\n    df = pd.read_csv('d.csv')\n", line=5),
        # autologging has no integration for a hand-written PyTorch loop: no dataset is logged
        Invalid("import mlflow\nimport pandas as pd\nimport torch\nmlflow.autolog()\n"
                "df = pd.read_csv('d.csv')\nx = torch.tensor(df.values)\n"
                "for epoch in range(3):\n    loss = model(x).mean()\n    loss.backward()\n"
                "    opt.step()\n", line=5),
        # Lightning's autologging takes `log_datasets` but logs no dataset
        Invalid("import mlflow\nimport pandas as pd\nimport lightning as L\n"
                "mlflow.pytorch.autolog()\ndf = pd.read_csv('d.csv')\n"
                "L.Trainer(max_epochs=3).fit(model, loader)\n", line=5),
        # sklearn's autologging with datasets turned off
        Invalid("import mlflow\nimport pandas as pd\nfrom sklearn.linear_model import Ridge\n"
                "mlflow.autolog(log_datasets=False)\ndf = pd.read_csv('d.csv')\n"
                "Ridge().fit(df[['x']], df['y'])\n", line=5),
        # a subclass of a torchvision dataset reads the data as its base does
        Invalid("import wandb\nfrom torchvision.datasets import CelebA\n\n"
                "class MyCelebA(CelebA):\n    def _check_integrity(self):\n        return True\n\n"
                "wandb.init()\nds = MyCelebA('data', split='train')\n", line=9),
        # a method of a project class (a Lightning-style data module's `setup()`) reads the data
        Invalid("from dataset import DataModule\nfrom pytorch_lightning.loggers import TensorBoardLogger\n"
                "logger = TensorBoardLogger('logs')\ndata = DataModule('data')\ndata.setup()\n",
                line=5, files=(("dataset.py", _DATAMODULE),)),
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        effects = ctx.file_effects
        if "track" not in effects or "log:data" in effects or "read:data" not in effects:
            return
        if autolog.DATASETS in effects and autolog.logs_datasets(ctx):
            return  # autologging records the dataset the framework's training call is given
        reads = [s for s in ctx.calls if "read:data" in ctx.direct(s)]
        site = reads[0] if reads else next(iter(ctx.sites_with("read:data")))
        yield self.finding(
            ctx, site.node,
            f"`{site.raw or site.name}` reads data in tracked code, but no hash or version of the "
            "data is logged (a path is not a version)",
        )
