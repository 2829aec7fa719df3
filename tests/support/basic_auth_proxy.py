"""A basic-auth front (like nginx's `auth_basic`) in front of a real `mlflow server`.

Every request, /health included, must carry `Authorization: Basic base64(user:password)`;
anything else gets 401 and never reaches MLflow. `open_paths=("/health",)` leaves those paths
open, as MLflow's own basic-auth app does. Authorised requests are forwarded without the
header. It counts what it answered, so tests can prove the credentials were really checked.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.http_front import HOP_BY_HOP, HttpFront, answer, forward


@dataclass
class BasicAuthProxy(HttpFront):
    upstream: str
    user: str
    password: str = field(repr=False)
    open_paths: tuple[str, ...] = ()
    refused: int = 0
    forwarded: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _authorised(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        ok = header == f"Basic {expected}"
        with self._lock:
            if ok:
                self.forwarded += 1
            else:
                self.refused += 1
        return ok

    def handle(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        if (request.path.split("?")[0] not in self.open_paths
                and not self._authorised(request.headers.get("Authorization"))):
            answer(request, 401, b"401 Unauthorized",
                   {"WWW-Authenticate": 'Basic realm="mlflow"', "Content-Type": "text/plain"})
            return
        forward(request, body, self.upstream, drop=HOP_BY_HOP | {"authorization"}, timeout=60)
