"""How the MLflow adapter reaches a store without ever writing to it, and how it fails fast.

- sqlite: the file must exist (MLflow would create an empty database otherwise) and is opened
  read-only through an SQLite URI (`mode=ro`), so neither MLflow's table creation, its default
  experiment nor anything else can change a byte. The path is percent-encoded twice: SQLAlchemy
  decodes once and hands SQLite a `file:` URI, and MLflow's "make parent directories" helper
  sees a name without slashes and creates nothing in the working directory.
- http(s): `/health` is probed with a short timeout, then one cheap API call, so a closed port
  or a server that refuses us fails within seconds, not after MLflow's minutes of retries.
  Our own requests carry the credentials MLflow's would (stores/http_client.py): userinfo in
  the URI, else MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN.
- a local path / `file:` (legacy file store): must be an existing MLflow store directory.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from mltrack.errors import StoreError, StoreUnreachable
from mltrack.uri import TrackingUri
from mltrack.envvars import temporary_environ

# MLflow 3.17's sqlite store trips a SQLAlchemy deprecation on every open; it says nothing to
# our users (it is MLflow's to fix) and buries the pytest header and audit output.
warnings.filterwarnings("ignore", message=r"The ``noload`` loader strategy is deprecated")

PROBE_TIMEOUT_S = 4.0  # each probe; two probes stay well inside the promised 10 s


@dataclass(frozen=True)
class Connection:
    """What MlflowClient is given. `client_uri` may hold credentials: never print it."""

    kind: str  # "http" | "sqlite" | "database" | "file"
    client_uri: str
    http_base: str | None = None
    local_path: Path | None = None
    # A legacy file store without a models/ folder has no registry, and MLflow's registry
    # FileStore would create that folder just by being opened: never open it then.
    has_registry: bool = True


def resolve(parsed: TrackingUri) -> Connection:
    """Map a user's URI to the URI the MLflow client should read, checking what can be checked
    without a network."""
    raw = parsed.raw.strip()
    if parsed.scheme in {"http", "https"}:
        return Connection("http", raw.rstrip("/"), http_base=raw.rstrip("/"))
    if parsed.scheme == "sqlite":
        path = _sqlite_path(parsed)
        if path.is_dir():
            raise StoreUnreachable(f"no sqlite database at {parsed.redacted!r} ({path} is a directory)",
                                   hint="point sqlite:/// at the database file, e.g. DIR/mlflow.db")
        if not path.is_file():
            raise StoreUnreachable(
                f"no sqlite database at {parsed.redacted!r} ({path} does not exist)",
                hint="mltrack never creates a store when reading; check the path",
            )
        return Connection("sqlite", _read_only_sqlite_uri(path), local_path=path)
    if parsed.scheme == "file":
        path = _file_store_path(raw)
        if not (path / ".trash").is_dir():
            raise StoreUnreachable(
                f"no MLflow file store at {parsed.redacted!r}",
                hint="a legacy ./mlruns store has a .trash folder; for a database use sqlite:///PATH",
            )
        return Connection("file", path.as_uri(), local_path=path,
                          has_registry=(path / "models").is_dir())
    return Connection("database", raw)


def _sqlite_path(parsed: TrackingUri) -> Path:
    # sqlite:///relative.db, sqlite:////absolute.db, sqlite:///file:/abs.db?mode=ro&uri=true
    rest = parsed.raw.strip()[len("sqlite:"):]
    if not rest.startswith("///") or rest in {"///", "///:memory:"}:
        raise StoreUnreachable(
            f"malformed sqlite URI {parsed.redacted!r}", hint="expected sqlite:///PATH/TO/mlflow.db"
        )
    path = rest[3:].split("?", 1)[0]
    if path.startswith("file:"):
        path = unquote(path[len("file:"):])
    return Path(path).expanduser().resolve()


def _read_only_sqlite_uri(path: Path) -> str:
    sqlite_uri_path = quote(str(path), safe="/")  # what SQLite will decode
    return f"sqlite:///file:{quote(sqlite_uri_path, safe='')}?mode=ro&uri=true"


def _file_store_path(raw: str) -> Path:
    if raw.startswith("file:"):
        split = urlsplit(raw)
        raw = unquote(split.path) if split.netloc in {"", "localhost"} else raw
    return Path(raw).expanduser().resolve()


@contextlib.contextmanager
def client_settings(conn: Connection, timeout: float) -> Iterator[None]:
    """MLflow reads these environment variables at call time: no internal HTTP retries (ours
    are bounded and testable), a request timeout, and permission to read a legacy file store.
    Process-wide while the block runs; restored afterwards."""
    overrides = {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, int(timeout))),
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",  # a library prints nothing
    }
    if conn.kind == "file":
        overrides["MLFLOW_ALLOW_FILE_STORE"] = "true"
    with temporary_environ(overrides):
        yield


def probe_http(conn: Connection, redacted: str, timeout: float) -> None:
    """Fail fast when nothing answers at the server's /health (asked with the credentials
    MLflow itself would send: stores/http_client.py)."""
    from mltrack.stores import http_client

    try:
        response = http_client.get(conn.http_base or conn.client_uri, "/health",
                                   min(timeout, PROBE_TIMEOUT_S))
    except Exception as exc:  # noqa: BLE001 - requests' or MLflow's wrapper of it
        raise StoreUnreachable(
            f"cannot reach tracking server {redacted}: {_reason(exc)}",
            hint="is `mlflow server` running there?",
        ) from None
    if response.status_code in {401, 403}:
        raise StoreError(
            f"tracking server {redacted} refused access (HTTP {response.status_code})",
            hint=_CREDENTIALS_HINT,
        )
    # Other answers (404 behind a proxy without /health, 5xx) are left to the API probe,
    # which retries transient errors.


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker, reason in (("Connection refused", "connection refused"),
                           ("timed out", "timed out"),
                           ("Name or service not known", "unknown host"),
                           ("nodename nor servname", "unknown host"),
                           ("Failed to resolve", "unknown host")):
        if marker in text:
            return reason
    return type(exc).__name__


_CREDENTIALS_HINT = ("check the credentials: the URI's userinfo (percent-encoded), or "
                     "MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN")


def refused_status(exc: BaseException, lowered_text: str) -> int | None:
    """401 or 403 when the server refused our credentials (MLflow's RestException carries the
    status; a non-JSON answer only survives as "failed with error code 401" in its text)."""
    from mltrack.stores.retry import http_status

    status = http_status(exc)
    if status is None:
        match = re.search(r"failed with error code (\d{3})", lowered_text)
        status = int(match.group(1)) if match else None
    return status if status in (401, 403) else None


def describe_client_error(exc: BaseException, redacted: str) -> StoreError:
    """A one-line, redacted StoreError for an exception raised while opening a store."""
    from mltrack.uri import redact

    text = redact(str(exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lowered = text.lower()
    if "out-of-date database schema" in lowered:
        return StoreError(
            f"the MLflow database at {redacted} has an older schema",
            hint="upgrade it with `mlflow db upgrade URI` (mltrack never migrates a store)",
        )
    if "readonly database" in lowered or "no such table" in lowered:
        return StoreUnreachable(f"{redacted} is not an MLflow tracking database",
                                hint="mltrack reads stores written by MLflow 2.x/3.x")
    if "no module named" in lowered:
        return StoreUnreachable(f"cannot open {redacted}: {text}", hint=_driver_hint(lowered))
    if "403" in lowered and "host" in lowered:
        return StoreError(f"tracking server {redacted} rejected our Host header: {text}",
                          hint="start the server with --allowed-hosts naming this host")
    status = refused_status(exc, lowered)
    if status is not None:  # e.g. MLflow's basic-auth app: /health is open, the API is not
        return StoreError(f"tracking server {redacted} refused access (HTTP {status})", hint=_CREDENTIALS_HINT)
    return StoreUnreachable(f"cannot read {redacted}: {text}")


def _driver_hint(lowered_error: str) -> str:
    """Name the package that provides the missing module. SQLAlchemy 2.1 opens `postgresql://`
    with psycopg (3); `postgresql+psycopg2://` asks for psycopg2 explicitly."""
    if "psycopg2" in lowered_error:
        return "install psycopg2-binary (postgresql+psycopg2://), or use postgresql:// with pip install 'mltrack[postgres]'"
    if "psycopg" in lowered_error:
        return "install the PostgreSQL driver: pip install 'mltrack[postgres]' (psycopg 3)"
    return "install the database driver this URI needs (for postgresql://: pip install 'mltrack[postgres]')"


def probe_database(conn: Connection, redacted: str, timeout: float) -> None:
    """One connection attempt with a short timeout: MLflow's own engine set-up retries ten
    times with growing sleeps (well over a minute on a dead host)."""
    import sqlalchemy

    connect_args = {"connect_timeout": max(1, int(min(timeout, PROBE_TIMEOUT_S)))}
    try:
        engine = sqlalchemy.create_engine(conn.client_uri, connect_args=connect_args)
    except Exception as exc:  # bad URL, missing driver
        raise describe_client_error(exc, redacted) from None
    try:
        with engine.connect():
            pass
    except Exception as exc:
        raise describe_client_error(exc, redacted) from None
    finally:
        engine.dispose()


_MLFLOW_TABLES = {"experiments", "runs", "alembic_version"}


def check_sqlite_file(conn: Connection, redacted: str) -> None:
    """Refuse, in milliseconds, a file that is not an MLflow database: MLflow itself would
    retry for over a minute, then try to create its tables in it."""
    import sqlite3

    assert conn.local_path is not None
    try:
        db = sqlite3.connect(f"file:{quote(str(conn.local_path), safe='/')}?mode=ro", uri=True,
                             timeout=PROBE_TIMEOUT_S)
        try:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise StoreUnreachable(f"cannot read sqlite database {redacted}: {exc}") from None
    if not _MLFLOW_TABLES <= tables:
        raise StoreUnreachable(f"{redacted} is not an MLflow tracking database",
                               hint="it has no experiments/runs tables")
