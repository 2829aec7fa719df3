"""Start a real `mlflow server` on 127.0.0.1 for tests, and stop it by its PID.

The server takes 7-23 s to answer /health on 2 cores, longer on a big database, so we wait up
to `startup_timeout` seconds. `--workers 1` keeps it light; `--allowed-hosts` must name the
host we call it by, or API calls get 403 while /health still says 200.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class MlflowServer:
    url: str
    backend_uri: str
    artifacts_dir: Path
    process: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        """Stop the server and its gunicorn/uvicorn children (they share its process group)."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


def start_mlflow_server(
    backend_uri: str, artifacts_dir: Path, log_dir: Path, startup_timeout: float = 90.0,
    workers: int = 1,
) -> MlflowServer:
    port = free_port()
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"mlflow-server-{port}.log"
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    cmd = [
        str(mlflow_bin), "server",
        "--backend-store-uri", backend_uri,
        "--artifacts-destination", str(artifacts_dir),
        "--serve-artifacts",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", str(workers),
        "--allowed-hosts", f"127.0.0.1:{port},127.0.0.1,localhost:{port},localhost",
    ]
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true"},
    )
    server = MlflowServer(f"http://127.0.0.1:{port}", backend_uri, artifacts_dir, process, log_path)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited early:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"mlflow server did not answer /health in {startup_timeout}s:\n"
                       f"{log_path.read_text()[-3000:]}")
