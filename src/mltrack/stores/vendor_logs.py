"""Keep MLflow's own log output (and the tracebacks it logs) off the user's terminal.

MLflow installs a stderr handler on its loggers at import. On a damaged database it logs a full
SQL dump and two tracebacks per failed query (~78 lines) before mltrack's one-line error, and
while it retries a database it cannot open it warns for two minutes. mltrack reports every
failure itself, in one line; MLflow's records are re-logged at DEBUG under `mltrack.vendor.*`,
where anyone who configures logging (`pytest --log-level=DEBUG`, `MLTRACK_DEBUG=1` for the
CLI) still finds them.
"""

from __future__ import annotations

import logging

# The loggers MLflow configures with its own stderr handler (mlflow.utils.logging_utils).
VENDOR_LOGGERS = ("mlflow", "sqlalchemy.engine", "alembic", "huey")
DEBUG_PARENT = "mltrack.vendor"


class DemoteToDebug(logging.Handler):
    """Re-log a vendor record at DEBUG under `mltrack.vendor.<its logger>`."""

    def emit(self, record: logging.LogRecord) -> None:
        target = logging.getLogger(f"{DEBUG_PARENT}.{record.name}")
        if not target.isEnabledFor(logging.DEBUG):
            return
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        target.handle(record)


_HANDLER = DemoteToDebug()


def demote_vendor_logs() -> None:
    """Replace the handlers MLflow put on its loggers with `DemoteToDebug` (idempotent). Imports
    mlflow first: its import is what installs the handlers this replaces."""
    import mlflow  # noqa: F401 - configures mlflow's loggers, which this then demotes

    for name in VENDOR_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [_HANDLER]
        logger.propagate = False
