"""## What it does
Flags a generator the training code draws from but never seeds, when it does seed another one
(e.g. `torch.manual_seed` is called but NumPy's global functions are used unseeded). A generator
the code never uses is not reported. NumPy's `default_rng(seed)` generators are seeded by
construction; only the legacy global functions (`np.random.rand`, `np.random.shuffle`, ...)
need `np.random.seed`, as ruff's NPY002 recommends.

Draws made by helpers of other modules of the linted project count where the helper is called
(`x, y = data_generator(n)` in `utils.py` drawing from NumPy).

Also flags a draw that comes before the generator's seed in the same function (or at module
level), e.g. a model built before `torch.manual_seed`: that draw differs on every run; and
`np.random.seed(None)` / `random.seed()` followed by more draws: they re-seed from OS entropy.

## Why is this bad?
The author asked for reproducibility and only got part of it: the unseeded generator still makes
every run different (data order, augmentation, splits), which is harder to notice than no seed.

## Example
```python
torch.manual_seed(args.seed)
idx = np.random.permutation(len(ds))
```

## Use instead
```python
torch.manual_seed(args.seed)
np.random.seed(args.seed)
idx = np.random.permutation(len(ds))
```

## Options
None. The fix seeds the missing generator next to the existing seed call, with the same value.
"""

from __future__ import annotations

from collections.abc import Iterable

from mltrack.lint.context import FileContext
from mltrack.lint.facts import CallSite
from mltrack.lint.rule import Invalid, Rule, Valid
from mltrack.lint.seeding import LABELS, late_seeds, reseeds, seed_call, seed_state
from mltrack.model import Finding, Fix

_TRAIN = "loss.backward()\nopt.step()\n"
_AUGMENT = ("import random\n\ndef build_dataset(split):\n"
            "    return [x for x in range(9) if random.random() < 0.5]\n")


class PartialSeed(Rule):
    code = "MLT002"
    name = "partial-seed"
    summary = "Some generators the code uses are seeded, others are not"
    fixable = True
    VALID = (
        # TensorFlow's graph seed makes read_data_sets' NumPy shuffles repeat
        "import tensorflow as tf\nfrom tensorflow.examples.tutorials.mnist import input_data\n"
        "tf.set_random_seed(1)\nmnist = input_data.read_data_sets('/tmp/data/')\n"
        "train_op = tf.train.AdamOptimizer(0.01).minimize(loss)\n",
        # the helper that draws is seeded where it is called
        Valid("import torch\nimport random\nfrom util import build_dataset\ntorch.manual_seed(0)\n"
              "random.seed(0)\nds = build_dataset('train')\nloss.backward()\n",
              files=(("util.py", _AUGMENT),)),
        # Lightning's seed_everything seeds torch, NumPy and Python's random
        "import numpy as np\nimport random\nimport lightning as L\nL.seed_everything(7)\n"
        "idx = np.random.permutation(10)\nrandom.shuffle(items)\nm = torch.nn.Linear(3, 1)\n" + _TRAIN,
        "import torch\nimport numpy as np\ntorch.manual_seed(0)\nnp.random.seed(0)\n"
        "x = np.random.rand(3)\nm = torch.nn.Linear(3, 1)\n" + _TRAIN,
        # NumPy is imported but only its seeded Generator API is used.
        "import torch\nimport numpy as np\ntorch.manual_seed(0)\nrng = np.random.default_rng(0)\n"
        "x = rng.random(3)\nm = torch.nn.Linear(3, 1)\n" + _TRAIN,
        "import random\nimport numpy as np\nimport pytorch_lightning as pl\npl.seed_everything(1)\n"
        "random.shuffle(rows)\nx = np.random.rand(2)\ntrainer.fit(model)\n",
        "import torch\nimport random\ntorch.manual_seed(0)\nm = torch.nn.Linear(3, 1)\n" + _TRAIN,
        # the seed comes first in the function that draws; a draw in another function is not
        # ordered against it here
        "import torch\ndef build():\n    return torch.nn.Linear(3, 1)\ndef main():\n"
        "    torch.manual_seed(0)\n    m = build()\n    loss.backward()\nmain()\n",
    )
    INVALID = (
        # read_data_sets re-seeds NumPy from TensorFlow's graph seed: seeding NumPy is not enough
        Invalid("import numpy as np\nimport tensorflow as tf\n"
                "from tensorflow.examples.tutorials.mnist import input_data\nnp.random.seed(0)\n"
                "mnist = input_data.read_data_sets('/tmp/data/')\n"
                "train_op = tf.train.AdamOptimizer(0.01).minimize(loss)\n", line=5,
                message="TensorFlow is used here but never seeded"),
        # a helper of another project module draws from Python's random (timm-style augmentation)
        Invalid("import torch\nimport numpy as np\nfrom util import build_dataset\ntorch.manual_seed(0)\n"
                "np.random.seed(0)\nds = build_dataset('train')\nloss.backward()\n", line=6,
                message="Python's `random` is used here by `build_dataset`",
                files=(("util.py", _AUGMENT),)),
        # accelerate's set_seed seeds random, NumPy and torch, but not TensorFlow
        Invalid("import tensorflow as tf\nfrom accelerate.utils import set_seed\nset_seed(0)\n"
                "noise = tf.random.normal([4])\nmodel.fit(x + noise, y)\n", line=4),
        # flow: the seed is thrown away before the data is shuffled
        Invalid(
            "import numpy as np\nimport torch\ntorch.manual_seed(0)\nnp.random.seed(10101)\n"
            "np.random.shuffle(lines)\nnp.random.seed(None)\nnp.random.shuffle(batch)\nloss.backward()\n",
            line=6, message="re-seeds NumPy's global generator from OS entropy",
        ),
        # flow: the weights are initialised before the seed is set
        Invalid(
            "import torch\nmodel = torch.nn.Linear(3, 1)\ntorch.manual_seed(0)\n" + _TRAIN,
            line=2, message="before it is seeded (line 3)",
        ),
        Invalid(
            "import numpy as np\nimport torch\ndef main():\n    torch.manual_seed(0)\n"
            "    idx = np.random.permutation(9)\n    np.random.seed(0)\n    loss.backward()\nmain()\n",
            line=5, message="NumPy's global generator is drawn from here before it is seeded",
        ),
        Invalid(
            "import torch\nimport numpy as np\n\ndef main(seed):\n    torch.manual_seed(seed)\n"
            "    x = np.random.rand(3)\n    m = torch.nn.Linear(3, 1)\n    loss.backward()\n\nmain(0)\n",
            fixed="import torch\nimport numpy as np\n\ndef main(seed):\n    torch.manual_seed(seed)\n"
            "    np.random.seed(seed)\n    x = np.random.rand(3)\n    m = torch.nn.Linear(3, 1)\n"
            "    loss.backward()\n\nmain(0)\n",
            line=6,
            message="NumPy's global generator",
        ),
        Invalid(
            "import random\nimport torch\ntorch.manual_seed(1)\nrandom.shuffle(rows)\n"
            "m = torch.nn.Linear(3, 1)\n" + _TRAIN,
            fixed="import random\nimport torch\ntorch.manual_seed(1)\nrandom.seed(1)\n"
            "random.shuffle(rows)\nm = torch.nn.Linear(3, 1)\n" + _TRAIN,
        ),
        Invalid(
            "import numpy as np\nfrom sklearn.model_selection import train_test_split\n"
            "from sklearn.svm import SVC\nimport torch\ntorch.manual_seed(0)\n"
            "a, b = train_test_split(X)\nSVC().fit(a, b)\n",
            message="NumPy",
        ),
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        if not ctx.trains:
            return
        state = seed_state(ctx)
        if not state.seeded:
            return  # nothing seeded at all: that is missing-seed
        seeded = ", ".join(LABELS[g] for g in LABELS if g in state.seeded)
        anchor = self._seed_statement(ctx)
        for generator in state.unseeded:
            site = state.first_use[generator]
            user = "" if f"rand:{generator}" in ctx.direct(site) else f" by `{site.raw or site.name}`"
            yield self.finding(
                ctx, site.node,
                f"{LABELS[generator]} is used here{user} but never seeded (the file seeds {seeded})",
                self._fix(ctx, generator, anchor),
            )
        for generator, site in reseeds(ctx):
            yield self.finding(
                ctx, site.node,
                f"this re-seeds {LABELS[generator]} from OS entropy, throwing the seed away: "
                "draws after it differ on every run",
            )
        for generator, (draw, seed) in late_seeds(ctx).items():
            line = ctx.span(seed.node)[0]
            yield self.finding(
                ctx, draw.node,
                f"{LABELS[generator]} is drawn from here before it is seeded (line {line}): "
                "this draw differs on every run",
            )

    @staticmethod
    def _seed_statement(ctx: FileContext) -> CallSite | None:
        """The first direct seed call that is a statement of its own with one argument."""
        for site in ctx.calls:
            direct = ctx.direct(site)
            if (
                site.statement is not None
                and any(e.startswith("seed:") for e in direct)
                and len(direct) == 1
                and len(site.node.args) == 1
                and site.node.args[0].keyword is None
            ):
                return site
        return None

    def _fix(self, ctx: FileContext, generator: str, anchor: CallSite | None) -> Fix | None:
        if anchor is None or anchor.statement is None:
            return None
        call = seed_call(ctx, generator, ctx.code(anchor.node.args[0].value))
        if call is None:
            return None
        return Fix(f"Seed {LABELS[generator]} too", (ctx.insert_after(anchor.statement, call),))
