"""The plumbing the test fronts share: a threaded HTTP server on 127.0.0.1 whose every request
goes to the front's `handle(request, body)`, and the two things a handler does, answer or
forward to the real `mlflow server` behind it. Each front (flaky, basic-auth, hanging) keeps
only its own decision."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-encoding",
                        "content-length", "host"})


class HttpFront:
    """Mixin for a dataclass with a `_server: ThreadingHTTPServer | None` field."""

    _server: ThreadingHTTPServer | None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def handle(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        raise NotImplementedError

    def start(self):
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _handle(self) -> None:
                front.handle(self, self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def answer(request: BaseHTTPRequestHandler, status: int, body: bytes,
           headers: dict[str, str] | None = None) -> None:
    request.send_response(status)
    for key, value in (headers or {}).items():
        request.send_header(key, value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def forward(request: BaseHTTPRequestHandler, body: bytes, upstream: str, *,
            drop: frozenset[str] = HOP_BY_HOP, timeout: float = 30) -> None:
    """Send the request on to `upstream` (without the `drop` headers) and relay its answer."""
    headers = {k: v for k, v in request.headers.items() if k.lower() not in drop}
    reply = requests.request(request.command, upstream + request.path, data=body, headers=headers,
                             timeout=timeout)
    answer(request, reply.status_code, reply.content,
           {k: v for k, v in reply.headers.items() if k.lower() not in HOP_BY_HOP})
