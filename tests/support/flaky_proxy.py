"""A real HTTP reverse proxy in front of a real `mlflow server` that fails on purpose.

`proxy.fail_next(n, mode)` makes the next n API requests fail with an HTTP status (503, 429,
400...) or a dropped connection ("reset"); everything else is forwarded untouched. It counts
what it saw, so tests can prove how often the reader retried.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding",
               "content-length", "host"}


@dataclass
class FlakyProxy:
    upstream: str
    failures_left: int = 0
    mode: str = "503"  # an HTTP status code, or "reset"
    path_filter: str = "/api/"
    failed: int = 0
    requests_seen: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

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

    def start(self) -> FlakyProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                failure = proxy._should_fail(self.path)
                if failure == "reset":
                    self.close_connection = True
                    self.connection.shutdown(2)  # drop it: the client sees a reset / no answer
                    return
                if failure:
                    payload = (b'{"error_code": "BAD_REQUEST", "message": "injected"}'
                               if failure.startswith("4") else b"injected failure")
                    self.send_response(int(failure))
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                upstream = requests.request(self.command, proxy.upstream + self.path, data=body,
                                            headers=headers, timeout=30)
                self.send_response(upstream.status_code)
                for key, value in upstream.headers.items():
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(upstream.content)))
                self.end_headers()
                self.wfile.write(upstream.content)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
