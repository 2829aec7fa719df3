"""## What it does
Flags API keys, tokens and passwords written in code: `wandb.login(key="...")`, `api_key=` /
`token=` / `password=` arguments, tracking URIs with a password (`https://user:pw@host`),
`os.environ["WANDB_API_KEY"] = "..."` (and `MLFLOW_TRACKING_TOKEN`, `MLFLOW_TRACKING_PASSWORD`,
`AWS_SECRET_ACCESS_KEY`, `HF_TOKEN`, ...), `API_KEY = "..."`-style constants, and well-known
token shapes (`ghp_...`, `sk-...`, `AKIA...`, JWTs) under any name. Placeholders
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

from collections.abc import Iterable

from mltrack import secrets
from mltrack.lint.context import FileContext
from mltrack.lint.facts import literal_string
from mltrack.lint.rule import Rule
from mltrack.model import Finding
from mltrack.uri import redact

# What counts as a secret name, a secret value and a well-known token shape is defined once in
# mltrack.secrets, shared with the reports' masking of secret-looking params and tags.


def _is_secret_value(value: str | None) -> bool:
    """Long enough, no whitespace, not a placeholder, not merely a name, a URL or a path."""
    return (
        value is not None
        and secrets.looks_like_secret_value(value)
        and "://" not in value
        and not value.startswith(("/", "./", "~"))
    )


def _secret_named(name: str | None) -> bool:
    return name is not None and secrets.is_secret_identifier(name)


class HardcodedSecret(Rule):
    code = "MLT012"
    name = "hardcoded-secret"
    summary = "API key, token or password written in code"
    VALID = (
        "import wandb\nwandb.login()\n",
        "import os, mlflow\nos.environ['MLFLOW_TRACKING_TOKEN'] = os.environ['CI_TOKEN']\n",
        "import wandb\nwandb.login(key='<your-api-key>')\n",
        "import mlflow\nmlflow.set_tracking_uri('https://mlflow.example.org')\n",
        # a path under a `Key` (boto3) or `*_KEY` name is not a secret
        "import boto3, mlflow\nboto3.client('s3').download_file(Bucket='b', Key='models/v1/model.pt', Filename='m.pt')\n",
        "import mlflow\nS3_KEY = 'datasets/2024-05/train.csv'\n",
    )
    INVALID = (
        "import wandb\nwandb.login(key='0123456789abcdef0123')\n",
        "import mlflow\nmlflow.set_tracking_uri('https://bob:s3cretpass@mlflow.corp:5000')\n",
        "import os\nimport mlflow\nos.environ['MLFLOW_TRACKING_TOKEN'] = 'dapi0123456789abcdef'\n",
        "import wandb\nWANDB_API_KEY = 'f00dfeedf00dfeedf00d'\n",
        # a settings module with no ML import is still checked for tracker credentials
        "import os\nos.environ['MLFLOW_TRACKING_URI'] = 'https://ci:Zx9!k2lm@mlflow.corp'\n",
        # a well-known token shape is a secret whatever the variable is called
        "import mlflow\nGITHUB = 'ghp_0123456789abcdefghijABCDEFGHIJ012345'\n",
    )

    def check(self, ctx: FileContext) -> Iterable[Finding]:
        for site in ctx.calls:
            for arg in site.node.args:
                value = literal_string(arg.value)
                if value is None:
                    continue
                keyword = arg.keyword.value if arg.keyword is not None else None
                if value and secrets.has_uri_password(value):
                    yield self.finding(ctx, arg.value, f"`{redact(value)}` has a password in it")
                elif (kind := secrets.token_shape(value)) is not None:
                    yield self.finding(ctx, arg.value, f"a literal {kind} is written in code")
                elif _secret_named(keyword) and _is_secret_value(value):
                    yield self.finding(ctx, arg, f"`{keyword}=` is given a literal secret")
                elif (site.name == "login" and (keyword == "key" or site.positional(0) is arg)
                      and _is_secret_value(value)):
                    yield self.finding(ctx, arg, "`wandb.login` is given a literal API key")
                elif (site.name in ("setdefault", "putenv") and site.positional(1) is arg
                      and _secret_named(literal_string(site.node.args[0].value))
                      and _is_secret_value(value)):
                    yield self.finding(ctx, arg, "a secret environment variable is set to a literal")
        for target, key, assigned, statement in ctx.facts.attr_assigns:
            text = literal_string(assigned)
            name = key if key is not None else target.rsplit(".", 1)[-1]
            if text is None:
                continue
            if secrets.has_uri_password(text):
                yield self.finding(ctx, statement, f"`{redact(text)}` has a password in it")
            elif secrets.token_shape(text) or (_secret_named(name) and _is_secret_value(text)):
                yield self.finding(ctx, statement, f"`{name}` is assigned a literal secret")
        for name, values in ctx.facts.assigns.items():
            for node in values:
                text = literal_string(node)
                if text is None:
                    continue
                if secrets.has_uri_password(text):
                    yield self.finding(ctx, node, f"`{redact(text)}` has a password in it")
                elif secrets.token_shape(text) or (_secret_named(name) and _is_secret_value(text)):
                    yield self.finding(ctx, node, f"`{name}` is assigned a literal secret")
