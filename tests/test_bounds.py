"""Every wait has a bound, and no message carries a secret (issue 18): the one-line CLI
error for an unreachable server, URL redaction, naming an outage, the deadline watchdog,
a request cut at its deadline on real PostgreSQL (a lock held by the test stands for a
stalled server: the shared server itself is never paused), the follower's backoff."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest

from api.services import describe_outage
from tracker import deadlines
from tracker.config import eventsourcing_env, redact_url
from tracker.exceptions import ConfigurationError

ROOT = Path(__file__).resolve().parents[1]
SECRET = "S3cretPassw0rd"


def spare_port() -> int:
    """A port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- redaction ---------------------------------------------------------------------------


@pytest.mark.parametrize("url, shown", [
    (f"postgresql://u:{SECRET}@db.example:5432/tracker?schema=x",
     "postgresql://u:***@db.example:5432/tracker?schema=x"),
    (f"postgresql://u:{SECRET}@db.example/tracker", "postgresql://u:***@db.example/tracker"),
    (f"redis://:{SECRET}@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
    ("postgresql://u@db.example:5432/tracker", "postgresql://u@db.example:5432/tracker"),
    ("sqlite:///var/tracker.sqlite", "sqlite:///var/tracker.sqlite"),
    (f"postgresql://u:{SECRET}@db.example:notaport/tracker",
     "postgresql://u:***@db.example:notaport/tracker"),
])
def test_a_url_is_printed_without_its_password(url, shown):
    assert redact_url(url) == shown


@pytest.mark.parametrize("url", [
    f"postgresql://u:{SECRET}@/tracker",             # no host
    f"postgresql://u:{SECRET}@db.example:abc/tracker",  # a port that is not a number
    f"mysql://u:{SECRET}@db.example/tracker",        # not supported
])
def test_configuration_errors_name_the_url_without_its_password(url):
    with pytest.raises(ConfigurationError) as refused:
        eventsourcing_env(url)
    assert SECRET not in str(refused.value)
    assert "u:***@" in str(refused.value)


# -- naming an outage --------------------------------------------------------------------


def test_an_outage_is_named_for_what_it_is():
    import sqlite3

    assert describe_outage(sqlite3.OperationalError("database or disk is full")) == \
        "disk full"
    assert describe_outage(OSError(28, "No space left on device")) == "disk full"
    refused = psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 1 failed: '
        "Connection refused\n\tIs the server running on that host?")
    assert describe_outage(refused) == "connection refused"
    assert describe_outage(RuntimeError("something else")) == "RuntimeError"


# -- the CLI: one line and exit code 3 for an unreachable server -------------------------


COMMANDS = [["log"], ["verify"], ["query", "casualties", "--by", "country"],
            ["import", "acled", "{csv}"], ["token", "list"], ["rebuild"],
            ["report", "{report}"], ["project"], ["seed"], ["history", "actor", "x"]]


@pytest.mark.parametrize("store", ["events", "views"])
def test_every_command_ends_an_unreachable_postgresql_with_one_line(tmp_path, store):
    csv = tmp_path / "a.csv"
    csv.write_text("event_id_cnty,event_date\nX1,2020-01-01\n")
    report = tmp_path / "r.json"
    report.write_text('{"report": "r", "source": {"name": "S", "kind": "media"}, '
                      '"facts": []}')
    unreachable = f"postgresql://u:{SECRET}@127.0.0.1:{spare_port()}/tracker"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    if store == "events":
        env["TRACKER_DATABASE_URL"] = unreachable
    else:  # the event store is fine (a SQLite file); the views' PostgreSQL is not
        env["TRACKER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'events.sqlite'}"
        env["TRACKER_VIEWS_URL"] = unreachable + "?schema=v"

    def run(args: list[str]) -> tuple[list[str], subprocess.CompletedProcess[str]]:
        args = [a.format(csv=csv, report=report) for a in args]
        return args, subprocess.run([sys.executable, "-m", "api.cli", *args], env=env,
                                    cwd=ROOT, capture_output=True, text=True, timeout=60)

    commands = COMMANDS if store == "events" else [
        ["query", "casualties", "--by", "country"], ["rebuild"], ["project"]]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, commands))
    for args, done in results:
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 3, (args, done.returncode, done.stderr[-2000:])
        assert len(lines) == 1, (args, done.stderr[-2000:])
        which = "the event store" if store == "events" else "the view store"
        assert lines[0].startswith(f"tracker: cannot reach {which} at postgresql://u:***@"), \
            (args, lines)
        assert "(connection refused); is PostgreSQL running?" in lines[0], (args, lines)
        assert SECRET not in done.stderr + done.stdout


# -- the deadline watchdog ---------------------------------------------------------------


def shared_pg(url: str) -> psycopg.Connection[Any]:
    env = eventsourcing_env(url)
    return psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                           port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                           password=env["POSTGRES_PASSWORD"] or None, autocommit=True)


def test_a_call_past_its_deadline_is_cut_and_named(pg_database_url):
    """pg_sleep stands for a server that does not answer: no timeout of the server's is
    set, so only the watchdog can end the wait."""
    with shared_pg(pg_database_url) as conn:
        started = time.monotonic()
        deadlines.start(0.5)
        try:
            with pytest.raises(psycopg.OperationalError), deadlines.watching(conn):
                conn.execute("SELECT pg_sleep(10)")
            assert deadlines.timed_out()
        finally:
            deadlines.clear()
        assert time.monotonic() - started < 2


def test_without_a_deadline_nothing_is_watched(pg_database_url):
    with shared_pg(pg_database_url) as conn:
        assert deadlines.watch(conn) is None
        with deadlines.watching(conn):
            assert conn.execute("SELECT pg_sleep(0.3), 1").fetchone()[1] == 1
        assert not deadlines.timed_out()


def test_an_own_limit_applies_without_a_thread_deadline(pg_database_url):
    with shared_pg(pg_database_url) as conn:
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError), deadlines.watching(conn, 0.3):
            conn.execute("SELECT pg_sleep(10)")
        assert time.monotonic() - started < 1.5
        deadlines.clear()


def test_the_min_position_deadline_bounds_the_whole_wait():
    with deadlines.bounded(5):
        with deadlines.bounded(0.2):
            assert deadlines.remaining() is not None and deadlines.remaining() <= 0.2
        with deadlines.bounded(10):  # never later than the enclosing one
            assert deadlines.remaining() <= 5
        with deadlines.bounded(10, fresh=True):
            assert deadlines.remaining() > 5
    assert deadlines.remaining() is None


# -- a request answers in time whatever PostgreSQL does ---------------------------------


@pytest.fixture
def pg_app(pg_database_url):
    from api import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": pg_database_url, "REDIS_URL": None,
                      "REQUEST_TIMEOUT": 1.5})
    services = app.extensions["tracker"]
    token = services.tracker.issue_token("bounds", "reporter")
    client = app.test_client()
    assert client.get("/api/v1/casualties?by=country").status_code == 200
    yield app, client, token
    services.close()


def hold_lock(url: str, table: str, release: threading.Event) -> threading.Thread:
    """Holds an ACCESS EXCLUSIVE lock on `table` until `release`: every query of that
    table waits (lock_timeout: 10 s), as on a stalled server."""
    locked = threading.Event()

    def hold() -> None:
        with shared_pg(url) as conn, conn.transaction():
            conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(10)
    return thread


@pytest.mark.parametrize("what", ["read", "write"])
def test_a_request_stuck_on_postgresql_answers_503_at_its_deadline(pg_app, pg_database_url,
                                                                   what):
    app, client, token = pg_app
    schema = pg_database_url.rsplit("schema=", 1)[1]
    table = (f"{schema}_views.rm_generations" if what == "read"
             else f"{schema}.conflicttracker_events")
    release = threading.Event()
    holder = hold_lock(pg_database_url, table, release)
    try:
        started = time.monotonic()
        if what == "read":
            response = client.get("/api/v1/casualties?by=country")
        else:
            from tests.faults.conftest import report

            response = client.post("/api/v1/reports", json=report(1, 3),
                                   headers={"Authorization": f"Bearer {token}"})
        seconds = time.monotonic() - started
    finally:
        release.set()
        holder.join(10)
    assert response.status_code == 503, response.get_json()
    assert response.headers["Retry-After"] == "1"
    assert "no answer in time" in response.get_json()["message"]
    assert seconds < 4, seconds  # the 1.5 s deadline, plus the bounded retry
    # Once the lock is gone the same process serves again, after its fail-fast window.
    time.sleep(0.6)
    assert client.get("/api/v1/casualties?by=country").status_code == 200


# -- the follower's backoff --------------------------------------------------------------


def test_the_followers_backoff_starts_again_once_it_is_back(monkeypatch):
    """Three outages in a row: each one's waits start again from 0.25 s (0.25, 0.5, 1, 1…
    capped at 1 s), never from the delays the previous outages grew to."""
    from api import follower

    stop = threading.Event()
    waits: list[float] = []
    script = iter(["fail"] * 4 + ["ok"] + ["fail"] * 4 + ["ok"] + ["fail"] * 4 + ["stop"])

    class Runner:
        def follow(self, stop_: threading.Event, wait: Any, poll_interval: float) -> None:
            step = next(script)
            if step == "fail":
                raise ConnectionError("refused")
            if step == "ok":
                wait(stop_, 0)  # caught up, waiting for news: it is back
                raise ConnectionError("refused")  # and the next outage begins
            stop.set()

    class Store:
        def reset(self) -> None:
            pass

    class FakeServices:
        tracker, bus, runner, store = None, None, Runner(), Store()

    class Stop(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            if timeout:
                waits.append(timeout)
            return self.is_set()

    monkeypatch.setattr(follower, "waiter_for", lambda *_: (lambda e, s: None, lambda: None))
    stop = Stop()
    follower.supervise(FakeServices(), stop, 0.1)  # type: ignore[arg-type]
    # Each "ok" is followed by the first failure of the next outage: 0.25 s again.
    assert waits == [0.25, 0.5, 1.0, 1.0] + [0.25, 0.5, 1.0, 1.0, 1.0] * 2


def test_the_read_models_connections_carry_the_bounds(pg_database_url):
    from projections.readmodel.store import ReadModelStore
    from tracker.config import Settings

    store = ReadModelStore(Settings(database_url=pg_database_url).read_model_url())
    try:
        with store.engine.connect() as conn:
            shown = {name: conn.exec_driver_sql(f"SHOW {name}").scalar() for name in
                     ("statement_timeout", "lock_timeout")}
            params = conn.connection.dbapi_connection.info.get_parameters()
        assert shown == {"statement_timeout": "30s", "lock_timeout": "10s"}
        # The client's own keepalives (libpq's), not the server's tcp_keepalives_*.
        assert {k: params[k] for k in ("connect_timeout", "keepalives", "keepalives_idle",
                                       "tcp_user_timeout")} == {
            "connect_timeout": "2", "keepalives": "1", "keepalives_idle": "10",
            "tcp_user_timeout": "10000"}
    finally:
        store.close()


def test_the_start_up_lock_wait_is_bounded(pg_database_url):
    """Another process holding the event store's set-up lock (a stalled start-up): a
    request building the tracker gives up at its deadline instead of waiting on."""
    from tracker.application import ConflictTracker
    from tracker.config import Settings

    schema = pg_database_url.rsplit("schema=", 1)[1]
    with shared_pg(pg_database_url) as holder:
        holder.execute("SELECT pg_advisory_lock(hashtext(%s))",
                       (f"tracker-event-store:{schema}",))
        started = time.monotonic()
        try:
            with deadlines.bounded(1.0), pytest.raises(psycopg.OperationalError):
                ConflictTracker.from_settings(Settings(database_url=pg_database_url))
            assert deadlines.timed_out()
        finally:
            deadlines.clear()
        assert time.monotonic() - started < 2.5
