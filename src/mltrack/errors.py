"""mltrack's errors. Each class owns its exit code; the CLI prints `str(err)` on one line.

Messages must never contain credentials: build them with `mltrack.uri.redact`.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1  # lint findings, or a pressure check failed
EXIT_USAGE = 2  # usage, configuration, unreachable store, internal error


class MltrackError(Exception):
    """Base class: a user-facing message, an optional hint, an exit code."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(MltrackError):
    """Bad command-line arguments (unknown --break name, conflicting flags, ...)."""


class ConfigError(MltrackError):
    """Bad `[tool.mltrack]` configuration: unknown key, wrong type, unknown experiment/model."""


class StoreError(MltrackError):
    """The tracking store could not be read or written."""


class StoreUnreachable(StoreError):
    """Nothing answers at the URI (connection refused, DNS, timeout) or the URI is malformed."""


class StoreTimeout(StoreError):
    """The store did not finish answering a read within the overall deadline (`read_deadline_s`)."""


class StoreNotEmpty(StoreError):
    """`mltrack seed` refused: the store already holds the reference experiment."""


class SeedError(MltrackError):
    """Reference training or seeding failed."""
