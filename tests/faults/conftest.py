"""Servers of the tests' own, on spare ports, to stop, pause and restart: a redis-server,
and a PostgreSQL cluster made with initdb in a temporary folder (run as the `postgres`
user). The shared servers are never touched. Everything is cleaned up, whatever happens.

Fault tests are marked `fault`: they run in CI; skip them locally with `-m "not fault"`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Any, timeout: float, what: str, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


class OwnRedis:
    """A redis-server of the test's own."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.ping, 10, "redis-server to start")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(10)
        self.process = None


def pg_tool(name: str) -> str | None:
    """A PostgreSQL server program: on PATH, or in Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                      key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return str(versions[-1]) if versions else None


class OwnPostgres:
    """A PostgreSQL cluster of the test's own (initdb into a temporary folder)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="tracker-pg-"))
        self.data = self.folder / "data"
        shutil.chown(self.folder, "postgres", "postgres")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                       capture_output=True, timeout=60)

    def init(self) -> None:
        self._as_postgres(str(pg_tool("initdb")), "-D", str(self.data), "-A", "trust", "-U",
                          "postgres")

    def start(self) -> None:
        self._as_postgres(str(pg_tool("pg_ctl")), "-D", str(self.data), "-l",
                          str(self.folder / "log"), "-w",
                          "-o", f"-p {self.port} -k {self.folder} "
                                "-c listen_addresses=127.0.0.1", "start")

    def processes(self) -> list[int]:
        """This cluster's processes only: its postmaster (from its own postmaster.pid) and
        that postmaster's children."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                  text=True).stdout.split()
        return [pid, *map(int, children)]

    def pause(self) -> None:
        """Freezes the cluster (SIGSTOP), as a stalled disk or a partition does: its
        sockets stay open and the kernel still acknowledges what clients send."""
        self._paused = self.processes()
        for pid in self._paused:
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in getattr(self, "_paused", []):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self._paused = []

    def stop(self) -> None:
        self.resume()
        if (self.data / "postmaster.pid").exists():
            self._as_postgres(str(pg_tool("pg_ctl")), "-D", str(self.data), "-m", "fast", "-w",
                              "stop")

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    need("redis-server", lambda: shutil.which("redis-server") or (_ for _ in ()).throw(
        FileNotFoundError("redis-server")))
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    def check() -> None:
        for tool in ("initdb", "pg_ctl"):
            if not pg_tool(tool):
                raise FileNotFoundError(tool)
        if not shutil.which("runuser"):
            raise FileNotFoundError("runuser")
        if os.geteuid() != 0:
            raise PermissionError("initdb runs as the postgres user: the tests need root")

    need("initdb / pg_ctl", check)
    cluster = OwnPostgres()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


def http(method: str, url: str, body: Any = None, token: str | None = None,
         timeout: float = 30) -> tuple[int, dict[str, Any], float]:
    """(status, JSON body, seconds taken)."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read()), time.monotonic() - started
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), time.monotonic() - started


class Production:
    """gunicorn (2 workers) and a `tracker project --follow` on the given servers."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        self.processes: list[subprocess.Popen[bytes]] = []

    def _log(self, name: str) -> Any:
        """Where a process writes: a file under TRACKER_FAULT_LOGS when it is set (to see
        what a failing fault test's processes said), else nowhere."""
        folder = os.environ.get("TRACKER_FAULT_LOGS")
        if not folder:
            return subprocess.DEVNULL
        Path(folder).mkdir(parents=True, exist_ok=True)
        return open(Path(folder) / f"{name}-{self.port}.log", "ab")  # noqa: SIM115

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "api.cli", *args], env=self.env,
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
        assert gunicorn
        self.api = subprocess.Popen(
            [gunicorn, "-c", "python:api.gunicorn_conf", "--workers", "2", "--timeout", "60",
             "--bind", f"127.0.0.1:{self.port}", "api:create_app()"], env=self.env, cwd=ROOT,
            stdout=self._log("api"), stderr=subprocess.STDOUT)
        self.follower = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "project", "--follow", "--poll", "0.2"],
            env=self.env, cwd=ROOT, stdout=self._log("follower"), stderr=subprocess.STDOUT)
        self.processes = [self.api, self.follower]

        def up() -> bool:
            try:
                return http("GET", f"{self.base}/healthz", timeout=5)[0] in (200, 503)
            except OSError:
                return False

        wait_until(up, 30, "gunicorn to answer")

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.processes)

    def stop(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                p.terminate()
        for p in self.processes:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def report(n: int, killed: int) -> dict[str, Any]:
    return {"report": f"fault-{n}", "source": {"name": "Wire", "kind": "media"},
            "facts": [{"fact": "incident", "id": f"fault-{n}", "date": "2021-01-01",
                       "type": "battle", "location": {"name": "X", "country": "Niger"}},
                      {"fact": "casualties", "incident": f"fault-{n}", "killed": killed}]}
