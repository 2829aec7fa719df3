"""A real HTTP server on 127.0.0.1 that answers MLflow's health probe, then hangs.

`/health` (and `/version`) answer at once, so the store looks alive. Every API request is
forwarded to a real `mlflow server` (`upstream`) until `answer_api` of them have been answered;
after that, or always without an upstream, the connection is accepted, the request read, and
nothing is ever sent back: the hung server a read deadline exists for. `stop()` releases every
held connection. `first_request_at` lets a test time a client from its first contact, without
the seconds a fresh interpreter spends importing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.http_front import HttpFront, answer, forward


@dataclass
class HangingServer(HttpFront):
    upstream: str | None = None
    answer_api: int = 0  # API requests forwarded before the server starts hanging
    api_requests: int = 0
    hung: int = 0  # requests left without an answer
    first_request_at: float | None = None  # time.monotonic() of the first request (the probe)
    _server: ThreadingHTTPServer | None = None
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _should_hang(self) -> bool:
        with self._lock:
            self.api_requests += 1
            if self.upstream is not None and self.api_requests <= self.answer_api:
                return False
            self.hung += 1
            return True

    def handle(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._lock:
            self.first_request_at = self.first_request_at or time.monotonic()
        if request.path.rstrip("/") in ("/health", "/version"):
            answer(request, 200, b"OK" if request.path.startswith("/health") else b"3.17.2")
            return
        if self._should_hang():
            self._release.wait()  # hold the connection, answer nothing
            request.close_connection = True
            return
        forward(request, body, self.upstream)

    def stop(self) -> None:
        self._release.set()
        super().stop()
