"""A real HTTP reverse proxy in front of a real `mlflow server` that fails on purpose.

`proxy.fail_next(n, mode)` makes the next n API requests fail with an HTTP status (503, 429,
400...) or a dropped connection ("reset"); everything else is forwarded untouched. It counts
what it saw, so tests can prove how often the reader retried.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.http_front import HttpFront, answer, forward


@dataclass
class FlakyProxy(HttpFront):
    upstream: str
    failures_left: int = 0
    mode: str = "503"  # an HTTP status code, or "reset"
    path_filter: str = "/api/"
    failed: int = 0
    requests_seen: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, count: int, mode: str = "503", path_filter: str = "/api/") -> None:
        with self._lock:
            self.failures_left, self.mode, self.path_filter, self.failed = count, mode, path_filter, 0
            self.requests_seen.clear()

    def _should_fail(self, path: str) -> str | None:
        with self._lock:
            self.requests_seen.append(path)
            if self.failures_left and self.path_filter in path:
                self.failures_left -= 1
                self.failed += 1
                return self.mode
            return None

    def handle(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        failure = self._should_fail(request.path)
        if failure == "reset":
            request.close_connection = True
            request.connection.shutdown(2)  # drop it: the client sees a reset / no answer
            return
        if failure:
            answer(request, int(failure), b'{"error_code": "BAD_REQUEST", "message": "injected"}'
                   if failure.startswith("4") else b"injected failure")
            return
        forward(request, body, self.upstream)
