"""Retry transient tracking-server errors a bounded number of times, with backoff.

MLflow's own HTTP client retries 7 times with exponential backoff (minutes on a dead server),
so the MLflow adapter turns that off (see `mlflow_connect.client_settings`) and retries here
instead, where the policy is ours and testable: connection resets, timeouts, 5xx and 429 are
retried; any other 4xx is an answer, never retried.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_ATTEMPTS = 4  # one call and three retries
DEFAULT_BACKOFF_S = 0.5  # 0.5, 1, 2 seconds (plus jitter) between attempts

# Exception class names (anywhere in the cause chain) that mean "try again": the connection
# dropped or the server was too slow. Matched by name so this module needs no vendor import.
_TRANSIENT_CLASS_NAMES = {
    "ConnectionError", "ConnectionResetError", "ConnectionAbortedError", "BrokenPipeError",
    "RemoteDisconnected", "ProtocolError", "ChunkedEncodingError", "Timeout", "ReadTimeout",
    "ConnectTimeout", "ReadTimeoutError", "IncompleteRead",
}
_TRANSIENT_STATUS = {429, 500, 502, 503, 504}
# MLflow wraps urllib3's "too many 5xx responses" in a plain MlflowException; its text is all
# that survives of the status code.
_TRANSIENT_TEXT = ("too many 429 error", "too many 500 error", "too many 502 error",
                   "too many 503 error", "too many 504 error", "connection reset",
                   "connection aborted", "remotedisconnected", "read timed out")


def _causes(exc: BaseException) -> list[BaseException]:
    chain, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def http_status(exc: BaseException) -> int | None:
    """The HTTP status an exception carries, when it says (MLflow's RestException does)."""
    getter = getattr(exc, "get_http_status_code", None)
    if callable(getter):
        try:
            status = int(getter())
        except (TypeError, ValueError):
            return None
        # MlflowException without a REST answer reports 500 for INTERNAL_ERROR; only trust the
        # code when the error came from a server's JSON body (RestException has `json`).
        return status if hasattr(exc, "json") else None
    code = getattr(getattr(exc, "response", None), "status_code", None)
    return code if isinstance(code, int) else None


def is_transient(exc: BaseException) -> bool:
    """True for errors worth another try: dropped connections, timeouts, 5xx, 429."""
    for link in _causes(exc):
        status = http_status(link)
        if status is not None:
            return status in _TRANSIENT_STATUS
        if any(cls.__name__ in _TRANSIENT_CLASS_NAMES for cls in type(link).__mro__):
            return True
    text = str(exc).lower()
    return any(fragment in text for fragment in _TRANSIENT_TEXT)


def call_with_retry(
    func: Callable[[], T],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    backoff_s: float = DEFAULT_BACKOFF_S,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `func`; on a transient error wait and call again, at most `attempts` times in all."""
    for attempt in range(1, attempts + 1):
        try:
            return func()
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            # Exponential backoff with jitter so parallel readers do not retry in lockstep.
            sleep(backoff_s * 2 ** (attempt - 1) * (1 + random.random() / 4))
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
