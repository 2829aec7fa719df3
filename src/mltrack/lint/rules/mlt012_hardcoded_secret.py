"""## What it does
Flags API keys, tokens and passwords written in code: `wandb.login(key="...")`, `api_key=` /
`token=` / `password=` arguments, tracking URIs with a password (`https://user:pw@host`),
`os.environ["WANDB_API_KEY"] = "..."` (and `MLFLOW_TRACKING_TOKEN`, `MLFLOW_TRACKING_PASSWORD`,
`AWS_SECRET_ACCESS_KEY`, `HF_TOKEN`, ...), and `API_KEY = "..."`-style constants. Placeholders
(`"<your key>"`, `"xxx"`, `"changeme"`) and empty strings are not reported. The message never
repeats the secret.

## Why is this bad?
Code is copied, committed, pushed and pasted into notebooks: a key in code is a key leaked, and
every run logged with it can be tampered with.

## Example
```python
wandb.login(key="8c1f0e2a9d...")
```

## Use instead
```python
wandb.login()  # reads WANDB_API_KEY from the environment or ~/.netrc
```

## Options
None.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mltrack.lint.context import FileContext
from mltrack.lint.facts import literal_string
from mltrack.lint.rule import Rule
from mltrack.model import Finding
from mltrack.uri import redact

_SECRET_KEYWORDS = {"api_key", "token", "password", "secret", "access_token", "auth_token",
                    "hf_token", "apikey", "secret_key", "aws_secret_access_key"}
_SECRET_NAME = re.compile(r"(api_?key|token|secret|passw(or)?d|pwd)$", re.I)
_URI_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/:@\s]+:[^@/\s]+@", re.I)
_PLACEHOLDER = re.compile(r"^$|your|<|>|\$\{|xxx|\*\*\*|changeme|example|dummy|placeholder|todo|"
                          r"^none$|^null$", re.I)


_NAME_LIKE = re.compile(r"^[A-Za-z_.-]+$")  # `"HF_TOKEN"`, `"gateway_secret"`: names, not secrets


def _is_secret_value(value: str | None) -> bool:
    """Long enough, no whitespace, not a placeholder, and not merely a word or an env var name."""
    return (
        value is not None
        and len(value) >= 8
        and not any(c.isspace() for c in value)
        and not _PLACEHOLDER.search(value)
        and not _NAME_LIKE.match(value)
    )


class HardcodedSecret(Rule):
    code = "MLT012"
    name = "hardcoded-secret"
    summary = "API key, token or password written in code"
    VALID = (
        "import wandb\nwandb.login()\n",
        "import os, mlflow\nos.environ['MLFLOW_TRACKING_TOKEN'] = os.environ['CI_TOKEN']\n",
        "import wandb\nwandb.login(key='<your-api-key>')\n",
        "import mlflow\nmlflow.set_tracking_uri('https://mlflow.example.org')\n",
    )
    INVALID = (
        "import wandb\nwandb.login(key='0123456789abcdef0123')\n",
        "import mlflow\nmlflow.set_tracking_uri('https://bob:s3cretpass@mlflow.corp:5000')\n",
        "import os\nimport mlflow\nos.environ['MLFLOW_TRACKING_TOKEN'] = 'dapi0123456789abcdef'\n",
        "import wandb\nWANDB_API_KEY = 'f00dfeedf00dfeedf00d'\n",
        # a settings module with no ML import is still checked for tracker credentials
        "import os\nos.environ['MLFLOW_TRACKING_URI'] = 'https://ci:Zx9!k2lm@mlflow.corp'\n",
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        for site in ctx.calls:
            for arg in site.node.args:
                value = literal_string(arg.value)
                if value is None:
                    continue
                keyword = arg.keyword.value if arg.keyword is not None else None
                if value and _URI_WITH_PASSWORD.search(value):
                    yield self.finding(ctx, arg.value, f"`{redact(value)}` has a password in it")
                elif keyword in _SECRET_KEYWORDS and _is_secret_value(value):
                    yield self.finding(ctx, arg, f"`{keyword}=` is given a literal secret")
                elif (site.name == "login" and (keyword == "key" or site.positional(0) is arg)
                      and _is_secret_value(value)):
                    yield self.finding(ctx, arg, "`wandb.login` is given a literal API key")
                elif (site.name in ("setdefault", "putenv") and site.positional(1) is arg
                      and _SECRET_NAME.search(literal_string(site.node.args[0].value) or "")
                      and _is_secret_value(value)):
                    yield self.finding(ctx, arg, "a secret environment variable is set to a literal")
        for target, key, value, statement in ctx.facts.attr_assigns:
            text = literal_string(value)
            name = key if key is not None else target.rsplit(".", 1)[-1]
            if text is None:
                continue
            if _URI_WITH_PASSWORD.search(text):
                yield self.finding(ctx, statement, f"`{redact(text)}` has a password in it")
            elif _SECRET_NAME.search(name) and _is_secret_value(text):
                yield self.finding(ctx, statement, f"`{name}` is assigned a literal secret")
        for name, values in ctx.facts.assigns.items():
            for value in values:
                text = literal_string(value)
                if text is None:
                    continue
                if _URI_WITH_PASSWORD.search(text):
                    yield self.finding(ctx, value, f"`{redact(text)}` has a password in it")
                elif _SECRET_NAME.search(name) and _is_secret_value(text):
                    yield self.finding(ctx, value, f"`{name}` is assigned a literal secret")
