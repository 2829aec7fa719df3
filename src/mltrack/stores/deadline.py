"""One overall deadline for reading a store (`read_deadline_s`), so a hung server costs minutes
at most, not attempts x request timeout for every request of the read.

Two layers, because either alone leaves a way to hang:
- cooperative: the MLflow adapter caps each request's timeout and each retry's backoff at the
  time left, and stops retrying once it is spent (`ReadDeadline.cap`, `.check`);
- hard: `read_within` runs the whole read in a daemon thread and gives up on it at the deadline,
  for what no request timeout catches (a server that trickles bytes, a blocking file read).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from mltrack.errors import StoreTimeout

T = TypeVar("T")

POLICY_KEY = "read_deadline_s"
# A request is never given less than this: MLflow takes whole seconds, and a zero timeout
# would mean "no timeout" to some clients.
MIN_REQUEST_TIMEOUT_S = 1.0
# How long `read_within` waits past the deadline for the cooperative layer to report where it
# stopped (a better message) before abandoning the thread.
GRACE_S = 1.5


class ReadDeadline:
    """A point in time by which the read must be done; `seconds` is what the user configured."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._ends_at = clock() + seconds

    def remaining(self) -> float:
        return self._ends_at - self._clock()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def cap(self, timeout: float) -> float:
        """A request timeout that does not outlast the deadline (but never below 1 s)."""
        return max(MIN_REQUEST_TIMEOUT_S, min(timeout, self.remaining()))

    def sleep(self, seconds: float) -> None:
        """A retry backoff that ends by the deadline at the latest."""
        time.sleep(max(0.0, min(seconds, self.remaining())))

    def error(self, where: str, during: str | None = None) -> StoreTimeout:
        doing = f" (still {during})" if during else ""
        return StoreTimeout(
            f"{where} did not finish answering within the read deadline of {self.seconds:g} s{doing}",
            hint=f"the store hangs or is very slow; raise {POLICY_KEY} in [tool.mltrack] if it is alive but slow",
        )

    def check(self, where: str, during: str | None = None) -> None:
        if self.expired:
            raise self.error(where, during)


def read_within(deadline: ReadDeadline, where: str, read: Callable[[], T]) -> T:
    """`read()` in a daemon thread; StoreTimeout when it is not done by the deadline (plus a
    short grace for the cooperative layer to raise its own, more precise, StoreTimeout).
    The abandoned thread dies with the process; its requests are capped by the same deadline."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = read()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="mltrack-read", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline.remaining()) + GRACE_S)
    if worker.is_alive():
        raise deadline.error(where)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
