"""## What it does
Reports a file that cannot be parsed, with the position of the error, instead of a traceback.
Every other rule needs a parsed file, so nothing else is reported for it.

## Why is this bad?
A training script that does not parse cannot have run the code that is committed: whatever
produced the tracked runs is not what is in the repository.

## Example
```python
def train(:
    ...
```

## Use instead
```python
def train():
    ...
```

## Options
None.
"""

from __future__ import annotations

from collections.abc import Iterable

from mltrack.lint.builtin_codes import SYNTAX_ERROR
from mltrack.lint.context import FileContext
from mltrack.lint.rule import Invalid, Rule
from mltrack.model import Finding


class SyntaxErrorRule(Rule):
    # A rule only so it is listed, selected and explained like one (the module docstring is its
    # doc): code, name and summary are the built-in table's, and the pipeline reports it.
    code = SYNTAX_ERROR.code
    name = SYNTAX_ERROR.name
    summary = SYNTAX_ERROR.summary
    VALID = ("import torch\nx = torch.zeros(3)\n",)
    INVALID = (
        Invalid("import torch\ndef train(:\n    pass\n", line=2),
        Invalid("x = (1,\n", line=1, message="never closed"),
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        return ()  # analyze.analyze_source reports parse failures before any rule runs
