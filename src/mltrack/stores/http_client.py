"""One HTTP path to a tracking server for mltrack's own requests (/health, /version, liveness).

MLflow's REST client sends credentials from several places, and so must every request we make
ourselves, or a probe fails where MLflow's reads would succeed (`http://user:pass@host` made
every check `error` because the liveness probe used urllib, which cannot take userinfo). The
rules, as mlflow 3.17's `get_default_host_creds` + `http_request` + requests apply them:

- userinfo in the URI, percent-decoded (`http://user:p%40ss@host` -> `user` / `p@ss`): MLflow
  passes the URL to requests, which takes the userinfo as basic auth over any header (but a
  user without a password, `http://tok@host`, counts as none);
- otherwise `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD` (or the `[mlflow]` section
  of `~/.mlflow/credentials`) as basic auth, else `MLFLOW_TRACKING_TOKEN` as a bearer token;
- `MLFLOW_TRACKING_INSECURE_TLS`, `MLFLOW_TRACKING_SERVER_CERT_PATH` and
  `MLFLOW_TRACKING_CLIENT_CERT_PATH` for TLS.

Written with plain requests because importing mlflow costs seconds, and an unreachable server
must be reported in well under 10 s. The URL we request has no userinfo, so no error text
can carry it. Retries are ours (stores/retry.py), never here.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit


@dataclass(frozen=True)
class HttpTarget:
    """A tracking server's base URL without credentials, and the credentials it was given."""

    base: str
    auth: tuple[str, str] | None = field(default=None, repr=False)  # never in a repr or a log


def target(uri: str) -> HttpTarget:
    """Split `scheme://user:password@host[:port]/prefix` into a base URL and decoded auth."""
    parts = urlsplit(uri.strip())
    netloc = parts.netloc
    auth = None
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, colon, password = userinfo.partition(":")
        # requests (under MLflow) takes userinfo without a password as no credentials at all
        auth = (unquote(user), unquote(password)) if colon else None
    base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), parts.query, ""))
    return HttpTarget(base, auth)


def _env_creds() -> tuple[str | None, str | None]:
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        return user, password
    path = Path("~/.mlflow/credentials").expanduser()
    if path.is_file():
        config = configparser.ConfigParser()
        config.read(path)
        if "mlflow" in config:
            section = config["mlflow"]
            user = user or section.get("mlflow_tracking_username")
            password = password or section.get("mlflow_tracking_password")
    return user, password


def request_options(where: HttpTarget) -> dict[str, Any]:
    """`requests` keyword arguments carrying the credentials and TLS settings MLflow would use."""
    options: dict[str, Any] = {"headers": {}}
    if where.auth is not None:
        options["auth"] = where.auth
    else:
        user, password = _env_creds()
        token = os.environ.get("MLFLOW_TRACKING_TOKEN")
        if user and password:
            options["auth"] = (user, password)
        elif token:
            options["headers"]["Authorization"] = f"Bearer {token}"
    server_cert = os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH")
    insecure = os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() in {"true", "1"}
    options["verify"] = server_cert or not insecure
    if os.environ.get("MLFLOW_TRACKING_CLIENT_CERT_PATH"):
        options["cert"] = os.environ["MLFLOW_TRACKING_CLIENT_CERT_PATH"]
    return options


def get(uri: str | HttpTarget, path: str, timeout: float) -> Any:
    """GET `path` from the server with MLflow's credentials; returns the `requests.Response`
    whatever its status (the caller decides what a 401 or 404 means). Raises on no answer."""
    import requests

    where = uri if isinstance(uri, HttpTarget) else target(uri)
    return requests.get(f"{where.base}{path}", timeout=timeout, **request_options(where))


def alive(uri: str, timeout: float) -> BaseException | None:
    """None when the server answers /health at all (even 401/404: something is there);
    otherwise the error that says why not."""
    try:
        get(uri, "/health", timeout)
    except Exception as exc:  # noqa: BLE001 - returned for the caller to describe
        return exc
    return None
