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

import requests

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding",
               "content-length", "host", "authorization"}


@dataclass
class BasicAuthProxy:
    upstream: str
    user: str
    password: str = field(repr=False)
    open_paths: tuple[str, ...] = ()
    refused: int = 0
    forwarded: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _authorised(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        ok = header == f"Basic {expected}"
        with self._lock:
            if ok:
                self.forwarded += 1
            else:
                self.refused += 1
        return ok

    def start(self) -> BasicAuthProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if (self.path.split("?")[0] not in proxy.open_paths
                        and not proxy._authorised(self.headers.get("Authorization"))):
                    self._reply(401, b"401 Unauthorized",
                                {"WWW-Authenticate": 'Basic realm="mlflow"', "Content-Type": "text/plain"})
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                upstream = requests.request(self.command, proxy.upstream + self.path, data=body,
                                            headers=headers, timeout=60)
                self._reply(upstream.status_code, upstream.content,
                            {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP})

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
