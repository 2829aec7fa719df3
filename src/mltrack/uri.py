"""Tracking URIs: which adapter reads them, and how to print them without credentials.

MLflow accepts `sqlite:///…`, `postgresql://…`, `mysql://…`, `http(s)://…`, `databricks`,
`file:…` and plain paths; mltrack adds `wandb://ENTITY/PROJECT` (W&B's API) and
`wandb-offline:PATH` (a directory of offline runs). The scheme -> backend table, open to
third-party backends, is `mltrack.backends`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mltrack.errors import StoreUnreachable

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_AUTHORITY_START = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*://")
# An MLflow artifact URI after the tracking URI on the same line (`models:/m@production`): its
# `@` is an alias, not the end of the tracking URI's userinfo.
_LATER_ARTIFACT_URI = re.compile(r"[\s`'\"(\[<,=](?:models|runs|mlflow-artifacts|dbfs|s3|gs|wasbs?|file):/")
# Another URI starting after a separator (`'http://a/x', 'http://u:p@b'`): the `@` is its own.
_LATER_URI = re.compile(r"[\s'\"(,\[<=][a-zA-Z][a-zA-Z0-9+.\-]*://")
# key=value pairs in query strings (`?a=1&b=2`), libpq/ODBC strings (`host=h password=x`,
# `Server=h;Password=x`): the key, then a quoted or bare value.
_KEY_VALUE = re.compile(
    r"""(?P<lead>(?:(?m:^)|(?<=[?&;\s,({'"]))(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)\s?=\s?)"""
    r"""(?P<value>'[^']*'|"[^"]*"|[^&;\s'"]+)"""
)

def redact(text: str) -> str:
    """Hide passwords and tokens in any text that may hold a URI: the one redaction function.

    `postgresql://alice:s3cret@db/x` -> `postgresql://alice:***@db/x`; a bare token as userinfo
    (`https://tok@host`) becomes `***@host`; secret query or connection-string values
    (`?sslpassword=...`, `;Password=...`, `token=...`) become `***`.

    The userinfo is what lies between `://` and the LAST `@` on that line, so a password that
    was never percent-encoded (`/`, `@`, `?`, `#`, `:`, spaces) is hidden whole, as SQLAlchemy
    would read it. The price is that an unrelated later `@` on the same line (an e-mail
    address) hides some text up to it: a line shown in part beats a password shown at all.
    """
    if not text:
        return text
    # Secret key=value pairs first: a password value holding `@` (`password=Fe@tures`) would
    # otherwise be taken for the end of an earlier URI's userinfo, leaving its tail in the open.
    return _redact_key_values(_redact_userinfo(_redact_key_values(text)))


def _redact_userinfo(text: str) -> str:
    pieces: list[str] = []
    pos = 0
    while (match := _AUTHORITY_START.search(text, pos)) is not None:
        start = match.end()
        line_end = min((i for i in (text.find("\n", start), text.find("\r", start)) if i >= 0),
                       default=len(text))
        at = _userinfo_end(text, start, line_end)
        if at is None:
            pieces.append(text[pos:start])
            pos = start
            continue
        user, sep, _ = text[start:at].partition(":")
        hidden = f"{user}:***" if sep and not any(c.isspace() for c in user) else "***"
        pieces.append(text[pos:start] + hidden + "@")
        pos = at + 1
    pieces.append(text[pos:])
    return "".join(pieces)


def _userinfo_end(text: str, start: int, line_end: int) -> int | None:
    """Index of the `@` that ends the userinfo of the URI whose authority begins at `start`."""
    at = text.rfind("@", start, line_end)
    while at >= start:
        span = text[start:at]
        if not _LATER_URI.search(span) and not _LATER_ARTIFACT_URI.search(span):
            return at
        at = text.rfind("@", start, at)
    return None


def _redact_key_values(text: str) -> str:
    from mltrack.secrets import MASK, is_secret_name

    def hide(match: re.Match[str]) -> str:
        if not is_secret_name(match.group("key")) or match.group("value") in (MASK, "", "''", '""'):
            return match.group(0)
        return match.group("lead") + MASK

    return _KEY_VALUE.sub(hide, text)


@dataclass(frozen=True)
class TrackingUri:
    raw: str
    scheme: str  # "sqlite", "http", "wandb", "wandb-offline", "file" (for plain paths), ...
    tracker: str  # the backend's name: "mlflow", "wandb", or a plug-in's

    @property
    def redacted(self) -> str:
        return redact(self.raw)

    def __str__(self) -> str:  # never the raw form
        return self.redacted


def parse(raw: str) -> TrackingUri:
    """Classify a tracking URI; raise StoreUnreachable (exit 2) for one no adapter can read.

    Which tracker reads a scheme is the backend registry's answer (mltrack/backends.py).
    """
    from mltrack.backends import REGISTRY

    text = (raw or "").strip()
    if not text:
        raise StoreUnreachable("empty tracking URI", hint="pass --tracking-uri or set MLTRACK_TRACKING_URI")
    match = _SCHEME.match(text)
    # A Windows drive letter (C:\...) or no scheme at all is a local path (a legacy file store).
    scheme = "file" if not match or len(match.group(1)) == 1 else match.group(1).lower()
    backend = REGISTRY.backend_for(scheme, text)
    if backend.validate is not None:
        backend.validate(text, scheme)
    return TrackingUri(text, scheme, backend.tracker)
