"""## What it does
Flags `torch.backends.cudnn.benchmark = True`, `torch.backends.cudnn.deterministic = False` and
`torch.use_deterministic_algorithms(False)` in code that seeds its generators.

## Why is this bad?
The code asked for reproducibility by seeding, then gave it away: cuDNN autotuning picks
algorithms per run and non-deterministic kernels make two seeded runs differ anyway.

## Example
```python
torch.manual_seed(0)
torch.backends.cudnn.benchmark = True
```

## Use instead
```python
torch.manual_seed(0)
torch.backends.cudnn.benchmark = False
torch.use_deterministic_algorithms(True)
```

## Options
None.
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from mltrack.lint.context import FileContext
from mltrack.lint.rule import Rule
from mltrack.model import Finding

_BAD_ASSIGNMENTS = {
    "torch.backends.cudnn.benchmark": "True",
    "torch.backends.cudnn.deterministic": "False",
}


class NondeterministicOps(Rule):
    code = "MLT003"
    name = "nondeterministic-ops"
    summary = "Non-deterministic kernels enabled in code that seeds"
    VALID = (
        "import torch\ntorch.manual_seed(0)\ntorch.backends.cudnn.benchmark = False\n",
        # No seed anywhere: speed was the point, missing-seed covers the rest.
        "import torch\ntorch.backends.cudnn.benchmark = True\n",
        "import torch\ntorch.manual_seed(0)\ntorch.use_deterministic_algorithms(True)\n",
    )
    INVALID = (
        "import torch\ntorch.manual_seed(0)\ntorch.backends.cudnn.benchmark = True\n",
        "import torch\nfrom torch.backends import cudnn\ndef main():\n    torch.manual_seed(0)\n"
        "    cudnn.deterministic = False\n",
        "import torch as T\nT.manual_seed(0)\nT.use_deterministic_algorithms(False)\n",
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        if not any(e.startswith("seed:") for e in ctx.file_effects):
            return
        imports = ctx.facts.imports
        for target, key, value, statement in ctx.facts.attr_assigns:
            if key is not None:
                continue
            resolved = imports.resolve(target) or target
            bad = _BAD_ASSIGNMENTS.get(resolved)
            if bad is not None and isinstance(value, cst.Name) and value.value == bad:
                yield self.finding(
                    ctx, statement,
                    f"`{resolved.rsplit('.', 1)[-1]} = {bad}` makes seeded runs non-deterministic",
                )
        for site in ctx.calls:
            if site.qual == "torch.use_deterministic_algorithms" and site.node.args:
                value = site.node.args[0].value
                if isinstance(value, cst.Name) and value.value == "False":
                    yield self.finding(
                        ctx, site.node,
                        "deterministic algorithms are switched off in code that seeds",
                    )
