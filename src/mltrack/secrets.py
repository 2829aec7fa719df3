"""What looks like a secret: one definition for URI redaction, report masking and MLT012.

- by name: a parameter, tag, keyword, variable or query key whose name says it holds a secret
  (`api_key`, `MLFLOW_TRACKING_TOKEN`, `db_password`, `sslpassword`, `client_secret`, ...);
- by value: a URI with a password in it, or a string shaped like a well-known credential
  (OpenAI/Anthropic `sk-...`, GitHub `ghp_...`, AWS `AKIA...`, Slack `xox.-`, Hugging Face
  `hf_...`, Databricks `dapi...`, JWTs, PEM private keys).

Placeholders (`<your key>`, `changeme`, `${TOKEN}`, `***`) are not secrets: MLT012 must not
nag about them and masking them would hide nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

MASK = "***"

# Name words, matched case-insensitively anywhere in a name (no word boundaries needed:
# "apikey", "db_password", "sslkey", "X-Amz-Credential" all contain one of these). "key" alone is deliberately broad (api_key, secret_key, sslkey, access-key):
# a masked "sort_key" costs a reader little, a published access key costs much more.
SECRET_NAME_WORDS = ("password", "passwd", "pwd", "passphrase", "secret", "token", "key",
                     "credential", "auth", "private", "signature", "cookie", "session_id")
_SECRET_NAME = re.compile("|".join(SECRET_NAME_WORDS), re.I)
# Names that contain a word above but hold no secret: the author of a run should still see them.
_NOT_SECRET_NAMES = re.compile(
    r"^(?:.*_)?(?:key_?(?:name|id|path|file|column|col|field|type)s?|max_tokens?|num_tokens?|"
    r"n_tokens?|tokens?_(?:count|len|length|limit|per_\w+)|tokenizer\w*|\w*_tokens|author\w*|"
    r"monkey\w*|keyword\w*|keep\w*|primary_key|sort_key|group_key|dict_key|hotkey)$",
    re.I,
)
_PLAIN_KEY_NAMES = {"key", "keys"}  # alone, "key" is a secret more often than not (wandb login)


@functools.lru_cache(maxsize=4096)  # the same few names on every run of a store
def is_secret_name(name: str) -> bool:
    """True when a name (param, tag, keyword, env var, query key) says it holds a secret."""
    if not name:
        return False
    if name.lower() in _PLAIN_KEY_NAMES:
        return True
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET_NAMES.match(name)


# In code the author picks the name, and `Key="data/train.csv"` (boto3) or `S3_KEY = "..."` are
# paths: an identifier counts only when it ENDS in a secret word (`api_key`, `HF_TOKEN`,
# `aws_secret_access_key`, `db_password`), as MLT012 has always read them.
_SECRET_IDENTIFIER = re.compile(
    r"(?:api_?key|access_?key|secret_?key|private_?key|token|secret|passw(?:or)?d|pwd|passphrase|credentials?)$",
    re.I,
)


def is_secret_identifier(name: str) -> bool:
    """True for a variable, attribute, keyword or env var name in code that holds a secret."""
    return bool(name) and bool(_SECRET_IDENTIFIER.search(name))


# `scheme://user:password@host` or `scheme://:password@host`: the precise detector, for code and
# values; an already redacted one (`user:***@`) is not. (mltrack.uri.redact hides more: any
# userinfo, however oddly written.)
URI_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.\-]*://[^/@\s]*:(?!\*\*\*@)[^@\s/]+@[^\s@/]", re.I)
# Secret query parameters: `?password=`, `&sslpassword=`, `;token=`, `?api_key=` ...
SECRET_QUERY_KEY = re.compile(r"[a-z_\-.]*(?:" + "|".join(SECRET_NAME_WORDS) + r")[a-z_\-.]*", re.I)

# Well-known credential shapes. Prefixes make these reliable even without a telling name.
TOKEN_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("openai-style key", re.compile(r"\bsk-(?:[A-Za-z0-9_\-]{2,20}-)?[A-Za-z0-9_\-]{20,}")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}")),
    ("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("Databricks token", re.compile(r"\bdapi[0-9a-f]{32}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}")),
    ("JSON web token", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
)
# A W&B API key is 40 hex digits (newer ones are prefixed, e.g. `local-...`): only a secret in a
# field whose name says so, since a git commit hash has the same shape.
WANDB_KEY = re.compile(r"^(?:[a-z0-9]+-)?[0-9a-f]{40}$")

PLACEHOLDER = re.compile(r"^$|your|<|>|\$\{|^\$[A-Z_]+$|xxx|\*\*\*|changeme|example|dummy|"
                         r"placeholder|todo|^none$|^null$|^redacted$|^masked$", re.I)
_NAME_LIKE = re.compile(r"^[A-Za-z_.-]+$")  # `"HF_TOKEN"`, `"gateway_secret"`: names, not secrets


def is_placeholder(value: str) -> bool:
    return bool(PLACEHOLDER.search(value.strip()))


# One pass finds whether any shape is there at all (most values hold none).
_ANY_TOKEN = re.compile("|".join(f"(?:{pattern.pattern})" for _, pattern in TOKEN_SHAPES))


def token_shape(value: str) -> str | None:
    """The kind of well-known credential `value` contains, or None."""
    if not _ANY_TOKEN.search(value):
        return None
    for kind, pattern in TOKEN_SHAPES:
        if pattern.search(value):
            return kind
    return None  # pragma: no cover - _ANY_TOKEN matched, so one shape does


def has_uri_password(value: str) -> bool:
    return bool(URI_WITH_PASSWORD.search(value))


def looks_like_secret_value(value: str, *, min_length: int = 8) -> bool:
    """A literal that could be a real credential when a secret-named thing holds it: long
    enough, one word, not a placeholder, and not merely a name (an env var's, a setting's)."""
    return (
        len(value) >= min_length
        and not any(c.isspace() for c in value)
        and not is_placeholder(value)
        and not _NAME_LIKE.match(value)
    )


def secret_reason(name: str, value: str) -> str | None:
    """Why the pair (name, value) - a param, tag or setting - must not be published, or None.

    Secret-named fields are masked whatever they hold (short passwords are still passwords),
    except for empty values and placeholders; any field holding a URI with a password or a
    well-known token shape is masked whatever its name.
    """
    text = value if isinstance(value, str) else str(value)
    if has_uri_password(text):
        return "URI with a password"
    kind = token_shape(text)
    if kind:
        return kind
    if is_secret_name(name) and text.strip() and not is_placeholder(text):
        if WANDB_KEY.match(text.strip()):
            return "W&B API key"
        return f"secret-named field {name!r}"
    return None


# --------------------------------------------------------------------------- masking

def mask_text(text: str) -> tuple[str, int]:
    """`text` with credentials in URIs, secret key=value pairs and token shapes replaced by
    MASK; and how many were replaced."""
    from mltrack.uri import redact

    if not text:
        return text, 0
    masked, count = text, 0
    if "@" in text or "=" in text:  # all redact can hide: userinfo, key=value
        masked = redact(text)
        count = masked.count(MASK) - text.count(MASK)
    if _ANY_TOKEN.search(masked):
        masked, found = _ANY_TOKEN.subn(MASK, masked)
        count += found
    return masked, count


def mask_value(name: str, value: Any) -> tuple[Any, int]:
    """A param's, tag's or evidence entry's value fit to publish, and how many secrets were
    hidden in it. A secret-looking string is replaced whole (a part of a key is still a key);
    containers are walked, their keys naming their values."""
    if isinstance(value, str):
        return _mask_string(name, value)
    if isinstance(value, Mapping):
        masked: dict[Any, Any] = {}
        count = 0
        for key, item in value.items():
            masked[key], found = mask_value(str(key), item)
            count += found
        return masked, count
    if isinstance(value, (list, tuple)):
        items, count = [], 0
        for item in value:
            masked_item, found = mask_value(name, item)
            items.append(masked_item)
            count += found
        return type(value)(items) if isinstance(value, tuple) else items, count
    return value, 0


@functools.lru_cache(maxsize=65536)  # params repeat across runs ("32", "adam", the same key)
def _mask_string(name: str, value: str) -> tuple[str, int]:
    if secret_reason(name, value):
        return MASK, 1
    return mask_text(value)


def mask_fields(fields: Mapping[str, str]) -> tuple[dict[str, str], int]:
    """Params or tags with every secret-looking value replaced by MASK."""
    masked, count = mask_value("", dict(fields))
    return masked, count
