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

import requests

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding",
               "content-length", "host"}


@dataclass
class HangingServer:
    upstream: str | None = None
    answer_api: int = 0  # API requests forwarded before the server starts hanging
    api_requests: int = 0
    hung: int = 0  # requests left without an answer
    first_request_at: float | None = None  # time.monotonic() of the first request (the probe)
    _server: ThreadingHTTPServer | None = None
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _should_hang(self) -> bool:
        with self._lock:
            self.api_requests += 1
            if self.upstream is not None and self.api_requests <= self.answer_api:
                return False
            self.hung += 1
            return True

    def start(self) -> HangingServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                with server._lock:
                    server.first_request_at = server.first_request_at or time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.rstrip("/") in ("/health", "/version"):
                    self._answer(200, b"OK" if self.path.startswith("/health") else b"3.17.2")
                    return
                if server._should_hang():
                    server._release.wait()  # hold the connection, answer nothing
                    self.close_connection = True
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                upstream = requests.request(self.command, server.upstream + self.path, data=body,
                                            headers=headers, timeout=30)
                self._answer(upstream.status_code, upstream.content,
                             {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP})

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
