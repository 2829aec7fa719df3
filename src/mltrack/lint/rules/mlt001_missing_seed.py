"""## What it does
Flags a training entry point that draws random numbers (torch weight initialisation, dropout,
shuffling `DataLoader`s, `random_split`, NumPy's legacy global functions, Python's `random`,
TensorFlow/Keras layers, TF1 graph initialisers such as `tf.random_normal`, scikit-learn
estimators without `random_state=`) and never seeds any generator. TF1 graph-mode scripts
(`optimizer.minimize(loss)` run by a session) and `tf.estimator` training count as training.

Draws made by helpers of other modules of the linted project (a model or data builder in
`utils.py`) count where the helper is called. Seeds count wherever they are: in `if __name__ == "__main__":`, inside `main()`, under
`if args.seed is not None:`, in a `set_seed()` helper of this file or of another module of the
linted project, or through Lightning `seed_everything`, Hugging Face `set_seed` / `Trainer`,
Keras `set_random_seed`. A `np.random.default_rng(seed)` generator, `random_state=` arguments and
JAX keys are seeded by construction.

## Why is this bad?
Two runs of the same commit on the same data give different models: a metric regression cannot
be told apart from noise, and the best run cannot be rebuilt.

## Example
```python
import torch
model = torch.nn.Linear(10, 1)
for x, y in loader:
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
```

## Use instead
```python
import torch
torch.manual_seed(0)
model = torch.nn.Linear(10, 1)
...
```

## Options
None. The fix inserts seed calls (seed 0) for each generator used, after the imports
(`tf.set_random_seed` in TensorFlow 1 graph code, `tf.random.set_seed` otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable

from mltrack.lint.context import FileContext
from mltrack.lint.rule import Invalid, Rule, Valid
from mltrack.lint.seeding import LABELS, last_leading_import, seed_call, seed_state
from mltrack.model import Finding, Fix

_LOOP = """
for x, y in loader:
    loss = model(x).sum()
    loss.backward()
    opt.step()
"""


class MissingSeed(Rule):
    code = "MLT001"
    name = "missing-seed"
    summary = "Training uses randomness but never seeds it"
    fixable = True
    VALID = (
        "import torch\ntorch.manual_seed(0)\nmodel = torch.nn.Linear(3, 1)\n" + _LOOP,
        "import torch\nmodel = torch.nn.Linear(3, 1)\n" + _LOOP
        + "if __name__ == '__main__':\n    torch.manual_seed(1)\n",
        "import torch\ndef main(args):\n    if args.seed is not None:\n"
        "        torch.manual_seed(args.seed)\n    model = torch.nn.Linear(3, 1)\n",
        "import lightning as L\nimport torch\nL.seed_everything(7)\nnet = torch.nn.Linear(2, 2)\n"
        "trainer = L.Trainer()\ntrainer.fit(net)\n",
        "from transformers import set_seed\nimport torch\nset_seed(3)\n"
        "m = torch.nn.Linear(1, 1)\n" + _LOOP,
        "import numpy as np\nrng = np.random.default_rng(0)\nX = rng.normal(size=(9, 2))\n"
        "from sklearn.linear_model import LogisticRegression\nLogisticRegression().fit(X, X[:, 0] > 0)\n",
        Valid(
            "import torch\nfrom utils import set_seed\nset_seed(0)\nmodel = torch.nn.Linear(3, 1)\n"
            + _LOOP,
            files=(("utils.py", "import torch\ndef set_seed(s):\n    torch.manual_seed(s)\n"),),
        ),
        # an estimator built from a params dict that sets random_state
        "from sklearn.ensemble import RandomForestRegressor\nparams = {'random_state': 42}\n"
        "RandomForestRegressor(**params).fit(X, y)\n",
        # Randomness without training (a data-preparation script) is not this rule's business.
        "import numpy as np\nnp.random.shuffle(rows)\n",
    )
    INVALID = (
        Invalid(
            "import torch\nmodel = torch.nn.Linear(3, 1)\n" + _LOOP,
            fixed="import torch\ntorch.manual_seed(0)\nmodel = torch.nn.Linear(3, 1)\n" + _LOOP,
            line=2,
            message="torch",
        ),
        Invalid(
            "import random\nimport numpy as np\nimport torch\nidx = np.random.permutation(9)\n"
            "random.shuffle(rows)\n" + _LOOP,
            fixed="import random\nimport numpy as np\nimport torch\nnp.random.seed(0)\nrandom.seed(0)\n"
            "idx = np.random.permutation(9)\nrandom.shuffle(rows)\n" + _LOOP,
        ),
        Invalid(
            "from sklearn.ensemble import RandomForestClassifier\nclf = RandomForestClassifier()\n"
            "clf.fit(X, y)\n",
            message="NumPy",
        ),
        # seeding from OS entropy is not a seed
        Invalid(
            "import numpy as np\nimport torch\nnp.random.seed(None)\nidx = np.random.permutation(9)\n"
            "loss.backward()\n",
            line=4, message="NumPy",
        ),
        # a gradient-scaler object that runs backward and the optimizer step (timm's NativeScaler)
        Invalid(
            "import torch\nmodel = torch.nn.Linear(3, 1)\nfor x in loader:\n"
            "    loss = model(x).sum()\n    loss_scaler(loss, optimizer, parameters=model.parameters())\n",
            line=2,
        ),
        # TF1 graph mode: `minimize` builds the training op; initialisers draw from TensorFlow.
        # The fix uses TF1's `tf.set_random_seed` (TF2's `tf.random.set_seed` does not exist there)
        Invalid(
            "import tensorflow as tf\nW = tf.Variable(tf.random_normal([3, 1]))\n"
            "train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)\n"
            "with tf.Session() as sess:\n    sess.run(train_op)\n",
            fixed="import tensorflow as tf\ntf.set_random_seed(0)\nW = tf.Variable(tf.random_normal([3, 1]))\n"
            "train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)\n"
            "with tf.Session() as sess:\n    sess.run(train_op)\n",
            line=2, message="TensorFlow",
        ),
        # TF2 code gets TF2's call
        Invalid(
            "import tensorflow as tf\nmodel = tf.keras.Sequential([tf.keras.layers.Dense(1)])\n"
            "model.fit(x, y)\n",
            fixed="import tensorflow as tf\ntf.random.set_seed(0)\n"
            "model = tf.keras.Sequential([tf.keras.layers.Dense(1)])\nmodel.fit(x, y)\n",
        ),
        # the layers and the toy data are drawn in helpers of other project modules
        Invalid(
            "from tcn import compiled_tcn\nfrom utils import data_generator\n"
            "x, y = data_generator(100)\nmodel = compiled_tcn(24)\nmodel.fit(x, y)\n",
            line=3, message="NumPy's global generator, TensorFlow",
            files=(("tcn.py", "from tensorflow.keras import layers\n\ndef compiled_tcn(n):\n"
                              "    return layers.Dense(n)\n"),
                   ("utils.py", "import numpy as np\n\ndef data_generator(n):\n"
                                "    return np.random.rand(n), np.random.rand(n)\n")),
        ),
        # A seeded local generator shuffles the data; the weights still use the global one.
        Invalid(
            "import torch\ng = torch.Generator().manual_seed(0)\n"
            "loader = torch.utils.data.DataLoader(ds, shuffle=True, generator=g)\n"
            "model = torch.nn.Linear(3, 1)\n" + _LOOP,
            line=4,
        ),
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        if not ctx.trains:
            return
        state = seed_state(ctx)
        if state.seeded or not state.first_use:
            return
        used = [g for g in LABELS if g in state.first_use]
        first = min(state.first_use.values(), key=lambda site: site.order)
        names = ", ".join(LABELS[g] for g in used)
        yield self.finding(
            ctx, first.node,
            f"this file trains with randomness from {names} but never seeds it",
            self._fix(ctx, used),
        )

    def _fix(self, ctx: FileContext, used: list[str]) -> Fix | None:
        anchor = last_leading_import(ctx)
        calls = [seed_call(ctx, g, "0") for g in used]
        if anchor is None or not all(calls):
            return None
        return Fix("Seed every generator the file uses", (ctx.insert_after(anchor, "\n".join(calls)),))  # type: ignore[arg-type]
