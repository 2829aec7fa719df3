"""Tracking URIs: which adapter reads them, and how to print them without credentials.

MLflow accepts `sqlite:///…`, `postgresql://…`, `mysql://…`, `http(s)://…`, `databricks`,
`file:…` and plain paths; mltrack adds `wandb://ENTITY/PROJECT` (W&B's API) and
`wandb-offline:PATH` (a directory of offline runs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from mltrack.errors import StoreUnreachable

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
# user:password@ or :password@ or token@ in any URL-like text
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<userinfo>[^/@\s]+)@")
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:password|passwd|pwd|token|access_token|api_key|apikey|key|secret)=)[^&\s]+"
)

MLFLOW_SCHEMES = {
    "sqlite", "postgresql", "postgres", "mysql", "mssql", "http", "https", "file",
    "databricks", "databricks-uc", "uc",
}
WANDB_SCHEMES = {"wandb", "wandb-offline"}


def redact(text: str) -> str:
    """Hide passwords and tokens in any text that may hold a URI.

    `postgresql://alice:s3cret@db/x` -> `postgresql://alice:***@db/x`; a bare token as userinfo
    (`https://tok@host`) becomes `***@host`; secret query parameters become `***`.
    """
    if not text:
        return text

    def _userinfo(match: re.Match[str]) -> str:
        userinfo = match.group("userinfo")
        user, sep, _ = userinfo.partition(":")
        return f"{match.group('scheme')}{user}:***@" if sep else f"{match.group('scheme')}***@"

    text = _USERINFO.sub(_userinfo, text)
    return _SECRET_QUERY.sub(r"\1***", text)


@dataclass(frozen=True)
class TrackingUri:
    raw: str
    scheme: str  # "sqlite", "http", "wandb", "wandb-offline", "file" (for plain paths), ...
    tracker: str  # "mlflow" | "wandb"

    @property
    def redacted(self) -> str:
        return redact(self.raw)

    def __str__(self) -> str:  # never the raw form
        return self.redacted


def parse(raw: str) -> TrackingUri:
    """Classify a tracking URI; raise StoreUnreachable (exit 2) for one no adapter can read."""
    text = (raw or "").strip()
    if not text:
        raise StoreUnreachable("empty tracking URI", hint="pass --tracking-uri or set MLTRACK_TRACKING_URI")
    match = _SCHEME.match(text)
    # A Windows drive letter (C:\...) or no scheme at all is a local path (a legacy file store).
    if not match or len(match.group(1)) == 1:
        return TrackingUri(text, "file", "mlflow")
    scheme = match.group(1).lower()
    if scheme in WANDB_SCHEMES:
        _check_wandb(text, scheme)
        return TrackingUri(text, scheme, "wandb")
    if scheme.split("+")[0] in MLFLOW_SCHEMES:
        if scheme in {"http", "https"} and not urlsplit(text).hostname:
            raise StoreUnreachable(f"malformed tracking URI {redact(text)!r}: no host")
        return TrackingUri(text, scheme, "mlflow")
    raise StoreUnreachable(
        f"unsupported tracking URI {redact(text)!r}",
        hint="use sqlite:///PATH, postgresql://..., http(s)://HOST, wandb://ENTITY/PROJECT "
        "or wandb-offline:PATH",
    )


def _check_wandb(text: str, scheme: str) -> None:
    if scheme == "wandb":
        rest = text[len("wandb://"):] if text.startswith("wandb://") else ""
        parts = [p for p in rest.split("/") if p]
        if len(parts) != 2:
            raise StoreUnreachable(
                f"malformed W&B URI {redact(text)!r}", hint="expected wandb://ENTITY/PROJECT"
            )
    elif not text[len("wandb-offline:"):].strip():
        raise StoreUnreachable(
            f"malformed W&B URI {redact(text)!r}", hint="expected wandb-offline:PATH"
        )
