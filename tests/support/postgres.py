"""A throwaway PostgreSQL cluster, and a seeded MLflow store on it, for tests and benchmarks.

`start_postgres()` runs Debian's `initdb` + `pg_ctl` (binaries under /usr/lib/postgresql/<ver>/bin,
installed by .ci/run) in a fresh temp dir on a free 127.0.0.1 port. PostgreSQL refuses to run as
root, so under root (CI) the cluster belongs to the `postgres` system user the package creates
(else `nobody`) and is started through `runuser`; the temp dir lives in /tmp, not in pytest's
0700 tree, so that user can reach it. Host connections need a password (scram-sha-256): the
URIs carry credentials, as a real shared server's do, so the redaction paths are exercised.
Durability is switched off (fsync, synchronous_commit): it is thrown away at teardown.

`shared_postgres(state_dir)` is the session environment of tests/test_postgres*.py, shared by
every pytest-xdist worker of a run (a file lock and a user count; the last user stops it):
- database `mltrack_seeded`: `mltrack seed --runs 24` written with a direct postgresql:// URI
  (artifacts are plain paths under state_dir, readable both directly and through a server);
- database `mltrack_pristine`: a copy taken before anyone connected, the template of private
  copies for tests that write (`cluster.create_database(name, template=PRISTINE)`);
- database `mltrack_empty`: MLflow's schema only (its migrations cost ~10 s; copying is instant);
- an `mlflow server --workers 4` over `mltrack_seeded`.
When the binaries or the psycopg driver are missing, it raises PostgresUnavailable (tests skip).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.support.mlflow_server import free_port, start_mlflow_server

ROLE = "mltrack"  # the database superuser the cluster is made with
OS_USERS = ("postgres", "nobody")  # who owns the cluster when we run as root
EMPTY, SEEDED, PRISTINE = "mltrack_empty", "mltrack_seeded", "mltrack_pristine"
PG_ROOT = Path("/usr/lib/postgresql")  # Debian: one <version>/bin per installed server
SEED_RUNS = 24
SERVER_WORKERS = 4
SERVER_STARTUP_TIMEOUT = 240.0  # four uvicorn workers each import MLflow: 15-50 s on a busy 2-core box


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot run here (no binaries, no driver): the reason is the skip message."""


def find_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/<ver>/bin holding initdb and pg_ctl, else initdb on PATH."""
    versions = sorted(PG_ROOT.glob("*/bin"),
                      key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)] or [0], reverse=True)
    for folder in versions:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    raise PostgresUnavailable("PostgreSQL is not installed (no initdb/pg_ctl; .ci/run installs "
                              "Debian's `postgresql` package)")


def require_driver() -> None:
    try:
        import psycopg  # noqa: F401 - SQLAlchemy 2.x's default driver for postgresql://
    except ImportError:
        raise PostgresUnavailable("the psycopg driver is not installed (pip install 'mltrack[postgres]')") from None


def _os_user() -> str | None:
    """None: run PostgreSQL as ourselves; else the system user to run it as (we are root)."""
    if os.geteuid() != 0:
        return None
    for name in OS_USERS:
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise PostgresUnavailable("running as root and no system user to own the cluster (postgres, nobody)")


@dataclass
class PostgresCluster:
    bin_dir: str
    root: str  # the temp dir: data/, the socket, the log
    port: int
    password: str
    os_user: str | None

    def uri(self, database: str) -> str:
        return f"postgresql://{ROLE}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _as_owner(self, *cmd: str) -> list[str]:
        return ["runuser", "-u", self.os_user, "--", *cmd] if self.os_user else list(cmd)

    def execute(self, sql: str, database: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(self.uri(database), autocommit=True, connect_timeout=10) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database (a copy of `template`, which nobody may be connected to); its URI."""
        clause = f' TEMPLATE "{template}"' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{clause}')
        return self.uri(name)

    def dump(self, database: str) -> str:
        """The database as SQL (schema and rows), to prove a read wrote nothing."""
        out = subprocess.run(
            [str(Path(self.bin_dir) / "pg_dump"), "--no-owner", "-h", "127.0.0.1", "-p", str(self.port),
             "-U", ROLE, database],
            capture_output=True, text=True, check=True, env={**os.environ, "PGPASSWORD": self.password})
        # pg_dump >= 15.14 brackets the dump with a random \restrict key: not the database's
        return "".join(line for line in out.stdout.splitlines(keepends=True)
                       if not line.startswith(("\\restrict ", "\\unrestrict ")))

    @property
    def alive(self) -> bool:
        return subprocess.run(self._as_owner(str(Path(self.bin_dir) / "pg_ctl"), "status", "-D",
                                             str(Path(self.root) / "data")),
                              capture_output=True).returncode == 0

    def stop(self) -> None:
        data = Path(self.root) / "data"
        if data.is_dir():
            done = subprocess.run(self._as_owner(str(Path(self.bin_dir) / "pg_ctl"), "stop", "-D", str(data),
                                                 "-m", "fast", "-w", "-t", "30"), capture_output=True)
            pid_file = data / "postmaster.pid"
            if done.returncode != 0 and pid_file.is_file():
                with contextlib.suppress(ValueError, ProcessLookupError):
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres(timeout: float = 60.0) -> PostgresCluster:
    """initdb + pg_ctl start in a new temp dir; returns once a query answers."""
    bin_dir = find_bin_dir()
    require_driver()
    os_user = _os_user()
    root = Path(tempfile.mkdtemp(prefix="mltrack-pg-"))
    password = secrets.token_hex(12)
    (root / "pwfile").write_text(password + "\n")
    if os_user:
        entry = pwd.getpwnam(os_user)
        for path in (root, root / "pwfile"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    cluster = PostgresCluster(str(bin_dir), str(root), free_port(), password, os_user)
    data, log = root / "data", root / "postgres.log"
    try:
        subprocess.run(cluster._as_owner(str(bin_dir / "initdb"), "-D", str(data), "-U", ROLE,
                                         "--auth-local=trust", "--auth-host=scram-sha-256",
                                         f"--pwfile={root / 'pwfile'}", "-E", "UTF8", "--locale=C.UTF-8"),
                       capture_output=True, text=True, check=True, timeout=timeout)
        options = (f"-p {cluster.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        subprocess.run(cluster._as_owner(str(bin_dir / "pg_ctl"), "start", "-D", str(data), "-l", str(log),
                                         "-w", "-t", str(int(timeout)), "-o", options),
                       capture_output=True, text=True, check=True, timeout=timeout + 10)
        deadline = time.monotonic() + timeout
        while True:  # health check: a real query over TCP with the password
            try:
                cluster.execute("SELECT 1")
                return cluster
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    except Exception as exc:
        detail = getattr(exc, "stderr", "") or ""
        tail = log.read_text()[-2000:] if log.is_file() else ""
        cluster.stop()
        raise RuntimeError(f"PostgreSQL did not start: {exc}\n{detail}\n{tail}") from None


def migrate(uri: str, cwd: Path) -> None:
    """Create MLflow's schema in a child process (an engine kept open here would hold a
    connection and stop the database from being a template)."""
    code = "import sys; from mlflow import MlflowClient; MlflowClient(sys.argv[1]).search_experiments(max_results=1)"
    subprocess.run([sys.executable, "-c", code, uri], cwd=cwd, check=True, capture_output=True, timeout=300)


def seed(uri: str, cwd: Path, runs: int = SEED_RUNS) -> None:
    """`mltrack seed` with a direct database URI: artifacts go to cwd/mltrack-artifacts/."""
    mltrack = Path(sys.executable).with_name("mltrack")
    done = subprocess.run([str(mltrack), "seed", "--tracking-uri", uri, "--runs", str(runs)], cwd=cwd,
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"mltrack seed failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def warm_up(server_url: str, timeout: float = 300.0) -> None:
    """Each uvicorn worker opens its database store on its first API request (several seconds
    on a busy machine, longer than mltrack's 4 s probe), and a worker still booting may drop a
    connection: send rounds of concurrent requests until one round all answers within 2 s."""
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    def ask(_: int) -> float:
        started = time.monotonic()
        request = urllib.request.Request(f"{server_url}/api/2.0/mlflow/experiments/search",
                                         data=b'{"max_results": 1}', headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                response.read()
        except OSError:  # refused, reset, closed without an answer: not ready yet
            time.sleep(1.0)
            return float("inf")
        return time.monotonic() - started

    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(2 * SERVER_WORKERS) as pool:
        while max(pool.map(ask, range(4 * SERVER_WORKERS))) > 2.0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server at {server_url} did not settle in {timeout:.0f} s")


def start_server(backend_uri: str, folder: Path):
    """`mlflow server --workers 4` on `backend_uri`, warmed up (tests/support/mlflow_server.py)."""
    server = start_mlflow_server(backend_uri, folder / "served-artifacts", folder,
                                 startup_timeout=SERVER_STARTUP_TIMEOUT, workers=SERVER_WORKERS)
    try:
        warm_up(server.url)
    except BaseException:
        server.stop()
        raise
    return server


@dataclass
class PostgresEnv:
    """What the PostgreSQL tests share: the cluster, its seeded store, a 4-worker server on it."""

    cluster: PostgresCluster
    state_dir: str
    server_url: str
    server_pid: int

    @property
    def seeded_uri(self) -> str:
        return self.cluster.uri(SEEDED)

    def private_copy(self, name: str) -> str:
        """A writable copy of the seeded store (same artifacts): its postgresql:// URI."""
        return self.cluster.create_database(name, template=PRISTINE)

    def empty_store(self, name: str) -> str:
        return self.cluster.create_database(name, template=EMPTY)


def _build_env(state_dir: Path) -> PostgresEnv:
    timings, started = {}, time.monotonic()

    def lap(name: str) -> None:
        nonlocal started
        timings[name] = round(time.monotonic() - started, 1)
        started = time.monotonic()

    cluster = start_postgres()
    lap("initdb+start")
    try:
        migrate(cluster.create_database(EMPTY), state_dir)
        lap("mlflow migrations")
        seed(cluster.create_database(SEEDED, template=EMPTY), state_dir)
        lap(f"seed {SEED_RUNS} runs")
        cluster.create_database(PRISTINE, template=SEEDED)
        server = start_server(cluster.uri(SEEDED), state_dir)
        lap(f"server --workers {SERVER_WORKERS} start+warm-up")
    except BaseException:
        cluster.stop()
        raise
    (state_dir / "timings.json").write_text(json.dumps(timings))  # seconds per step, for the curious
    return PostgresEnv(cluster, str(state_dir), server.url, server.process.pid)


def _teardown_env(env: PostgresEnv) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(env.server_pid, signal.SIGTERM)  # the server and its uvicorn workers
        for _ in range(60):
            os.killpg(env.server_pid, 0)
            time.sleep(0.25)
        os.killpg(env.server_pid, signal.SIGKILL)
    env.cluster.stop()


@contextlib.contextmanager
def shared_postgres(state_dir: Path) -> Iterator[PostgresEnv]:
    """The PostgresEnv, built by the first process that asks and stopped by the last to leave."""
    from filelock import FileLock

    state_dir.mkdir(parents=True, exist_ok=True)
    lock, state_file = FileLock(str(state_dir / "env.lock"), timeout=900), state_dir / "env.json"
    with lock:
        state = json.loads(state_file.read_text()) if state_file.is_file() else None
        env = None
        if state is not None:
            env = PostgresEnv(PostgresCluster(**state["env"]["cluster"]),
                              **{k: v for k, v in state["env"].items() if k != "cluster"})
            if not env.cluster.alive:
                env, state = None, None
        if env is None:
            find_bin_dir()
            require_driver()
            env = _build_env(state_dir)
            state = {"env": asdict(env), "users": 0}
        state["users"] += 1
        state_file.write_text(json.dumps(state))
    try:
        yield env
    finally:
        with lock:
            state = json.loads(state_file.read_text())
            state["users"] -= 1
            if state["users"] <= 0:
                _teardown_env(env)
                state_file.unlink()
            else:
                state_file.write_text(json.dumps(state))
