"""Production path: PostgreSQL event store and read model, Redis as the bus, a
`tracker project --follow` process killed with SIGKILL in the middle of catching up, then
restarted."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

from api.services import Services
from bench.synthetic import synthetic_reports
from projections.readmodel.queries import open_views
from tests.conftest import redis_url
from tracker.config import Settings


def start_follower(env: dict, batch_size: int, fixed: bool = False) -> subprocess.Popen:
    """A follower; `fixed`: batches of batch_size however far behind (else they grow to
    --max-batch's default while it catches up)."""
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "project", "--follow", "--poll", "0.2",
         "--batch-size", str(batch_size),
         *(("--max-batch", str(batch_size)) if fixed else ())],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_a_follower_killed_mid_catch_up_resumes_to_a_clean_rebuild(pg_database_url, redis_prefix):
    settings = Settings(database_url=pg_database_url, redis_url=redis_url(),
                        redis_prefix=redis_prefix)
    assert not settings.inline_projection
    services = Services.from_settings(settings)
    for report in synthetic_reports(4000, seed=3):
        services.record_report(report, recorded_by="test")
    head = services.tracker.max_position()
    env = {**os.environ, "TRACKER_DATABASE_URL": pg_database_url,
           "TRACKER_REDIS_URL": redis_url(), "TRACKER_REDIS_PREFIX": redis_prefix}
    store = services.store

    def position() -> int:
        return store.active_and_position()[1]

    # Kill the follower while it is part-way through the log.
    follower = start_follower(env, batch_size=25, fixed=True)
    try:
        wait_until(lambda: position() > 200, 60, "the follower to start folding")
    finally:
        follower.send_signal(signal.SIGKILL)
        follower.wait(10)
    killed_at = position()
    assert 0 < killed_at < head, (killed_at, head)

    # Restart: it resumes from its tracking position (far behind: in larger batches) and
    # follows new writes too.
    follower = start_follower(env, batch_size=1000)
    try:
        wait_until(lambda: position() >= head, 60, "the restarted follower to catch up")
        services.record_report({"report": "after-restart", "source": {"name": "Wire",
                                                                       "kind": "media"},
                                "facts": [{"fact": "casualties", "incident": "syn-inc-1",
                                           "killed": 99}]}, recorded_by="test")
        new_head = services.tracker.max_position()
        wait_until(lambda: position() >= new_head, 30, "the follower to see a new report")
    finally:
        follower.send_signal(signal.SIGTERM)
        follower.wait(10)
    assert follower.returncode == 0, follower.stderr.read().decode() if follower.stderr else ""

    # The views equal a clean rebuild from the log, row for row.
    with open_views(store) as views:
        live = views.casualties("admin1")
    assert services.runner.verify() == []
    services.runner.rebuild()
    with open_views(store) as views:
        assert views.casualties("admin1") == live
    services.close()


class Forwarder:
    """A TCP port that refuses connections until `open()`, then forwards each one to
    `target` (the shared PostgreSQL): a server that is down, then back, with no server of
    the test's own to start."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.sockets: list[socket.socket] = []
        self.closed = threading.Event()

    def open(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))
        server.settimeout(0.2)
        self.sockets.append(server)
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while not self.closed.is_set():
            try:
                client, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            upstream = socket.create_connection(self.target, timeout=5)
            client.settimeout(None)
            upstream.settimeout(None)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.closed.set()
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.close()


def test_the_followers_outage_lines_are_written_once_each(pg_database_url):
    """`tracker project --follow` with its PostgreSQL down, then back: one line on the 1st,
    2nd and 4th failure and one when the stores are back, each written once (the command
    line has no logging set up: a line both said and logged came out twice)."""
    from tracker.config import eventsourcing_env

    real = eventsourcing_env(pg_database_url)
    forwarder = Forwarder((real["POSTGRES_HOST"], int(real["POSTGRES_PORT"])))
    url = pg_database_url.replace(f"{real['POSTGRES_HOST']}:{real['POSTGRES_PORT']}",
                                  f"127.0.0.1:{forwarder.port}", 1)
    assert str(forwarder.port) in url
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")},
           "TRACKER_DATABASE_URL": url}
    follower = subprocess.Popen([sys.executable, "-m", "api.cli", "project", "--follow",
                                 "--poll", "0.2"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(follower.stderr or []), daemon=True)
    reader.start()
    try:
        wait_until(lambda: any("(failed 4 times)" in line for line in lines), 30,
                   "the follower's 4th failure")
        forwarder.open()
        wait_until(lambda: any("the stores are back" in line for line in lines), 30,
                   "the follower to reconnect")
        time.sleep(0.5)  # a doubled line would follow at once
    finally:
        follower.send_signal(signal.SIGTERM)
        try:
            follower.wait(15)
        finally:
            if follower.poll() is None:
                follower.kill()
                follower.wait(5)
            forwarder.close()
    reader.join(5)
    said = [line.rstrip("\n") for line in lines if line.startswith("follower:")]
    assert len(said) == len(set(said)), "\n".join(lines)
    failed = [line for line in said if "retrying in" in line]
    counts = [re.search(r"\(failed (\d+) times\)$", line) for line in failed]
    assert [m and int(m[1]) for m in counts][:3] == [None, 2, 4], failed
    back = [line for line in said if "the stores are back" in line]
    assert len(back) == 1 and back[0].startswith("follower: the stores are back after "), said
    assert follower.returncode == 0, "\n".join(lines)
