"""The one place where the tracker relies on eventsourcing's private methods.

Each use says why it exists and what it gains; tests/test_adapters.py checks the library
still has what is used here (names and signatures) and still behaves as assumed, so an
upgrade fails there, loudly, not somewhere in production. Checked against eventsourcing 9.5.

- `save_aggregates`: Application.save checks each saved object against two runtime
  Protocols (~10 µs per aggregate, a tenth of a large import's writing); everything the
  tracker saves is an Aggregate, so its events are collected directly, then the library's
  own `_record`, `_take_snapshots` and `_notify` run as in Application.save.
- `on_new_sqlite_connection`: eventsourcing's SQLite pool has no per-connection setup hook;
  wrapping its `_create_connection` sets a pragma on every connection it makes (the event
  store checkpoints its WAL every 32 MB instead of 4 MB: each checkpoint's fsyncs cost an
  import more than the bigger WAL does).
- The chained recorders (tracker.integrity, tracker.integrity_postgres) override
  `_insert_events` and `_fetch_ids_after_insert_events`: that is where the hash chain and
  the log's Merkle tree (tracker.tlog) are written in the same transaction as the events
  (not an optimisation: the chain and the tree need it).
- The PostgreSQL recorder overrides `_insert_stored_events` (calling the library's
  `_lock_table` and `_notify_channel`, as the library's does): the events go as four binary
  arrays instead of one array of a composite type, which psycopg sends as text with every
  state escaped by a regular expression. An import's writing: 11.4 s -> 8.1 s for 29,800
  ACLED rows (59,953 events), 5.2 s with the chain and existence queries also binary.
- `bounded_retry`: the library retries each PostgreSQL call ten times (0.2 s apart), each
  try waiting up to the pool's timeout, so a stopped server answered after ~12 s; the
  chained recorder re-wraps the undecorated methods (`__wrapped__`, from functools.wraps
  in eventsourcing.utils.retry) with `PG_ATTEMPTS` tries: the first 503 comes within 2 s.
- `bound_postgres_pool`: eventsourcing builds psycopg's pool with no libpq bounds (new
  connections wait psycopg's default 130 s), a pre-use check without a timeout, whole
  seconds for the pool's wait and psycopg_pool's five minutes of backing-off reconnection
  (after a 30 s outage the next try came up to 16 s after the server was back). It sets
  the pool's `kwargs`, `timeout`, `reconnect_timeout` (public attributes), its private
  `_check` (the bounded check), and wraps `getconn`/`putconn` on the instance (which
  `connection()` calls) so that a connection is watched against the holder's deadline
  (tracker.deadlines) while it is lent. It also shortens psycopg_pool's backoff
  (`AttemptWithBackoff.INITIAL_DELAY`, `DELAY_BACKOFF`, class constants): after a failed
  pre-use check the pool slept a whole second (capped by the caller's timeout) before
  trying its next idle connection, so after a restart each stale connection in the pool
  cost a caller its whole wait (a follower took 4 s to get going again); now a pool of
  stale connections is gone through in a fraction of a second.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent

if TYPE_CHECKING:
    from eventsourcing.persistence import Recording

# What this module and the chained recorders use: (class, method, its positional
# parameters); each takes **kwargs too where the recorders pass them on.
PRIVATE_METHODS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("eventsourcing.application:Application", "_record", ("self", "processing_event")),
    ("eventsourcing.application:Application", "_take_snapshots",
     ("self", "processing_event")),
    ("eventsourcing.application:Application", "_notify", ("self", "recordings")),
    ("eventsourcing.sqlite:SQLiteApplicationRecorder", "_insert_events",
     ("self", "c", "stored_events")),
    ("eventsourcing.postgres:PostgresApplicationRecorder", "_fetch_ids_after_insert_events",
     ("self", "curs", "stored_events")),
    ("eventsourcing.postgres:PostgresApplicationRecorder", "_insert_stored_events",
     ("self", "curs", "stored_events")),
    ("eventsourcing.postgres:PostgresApplicationRecorder", "_lock_table", ("self", "curs")),
    ("eventsourcing.postgres:PostgresApplicationRecorder", "_notify_channel",
     ("self", "curs")),
    ("eventsourcing.sqlite:SQLiteConnectionPool", "_create_connection", ("self",)),
)
# The library's methods whose retries `bounded_retry` re-wraps (each has `__wrapped__`).
RETRIED_METHODS = ("insert_events", "select_events", "select_notifications",
                   "max_notification_id")
# What `bound_postgres_pool` sets or wraps on psycopg_pool.ConnectionPool.
POOL_ATTRIBUTES = ("kwargs", "timeout", "reconnect_timeout", "_check", "getconn", "putconn")
# psycopg_pool's pause between tries (its defaults: 1.0 s, doubling): a steady 20 ms, so a
# pool full of stale connections (up to max_size, 15) is gone through within its wait.
POOL_BACKOFF = {"INITIAL_DELAY": 0.02, "DELAY_BACKOFF": 1.0}


def save_aggregates(app: Application[UUID], aggregates: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> list[Recording[UUID]]:
    """Application.save for aggregates only (see the module's docstring)."""
    processing_event: ProcessingEvent[UUID] = ProcessingEvent()
    for aggregate in aggregates:
        processing_event.events.extend(aggregate.collect_events())
        processing_event.aggregates[aggregate.id] = aggregate
    processing_event.saved_kwargs.update(kwargs)
    recordings = app._record(processing_event)
    app._take_snapshots(processing_event)
    app._notify(recordings)
    return recordings


def on_new_sqlite_connection(pool: Any, setup: Callable[[Any], None]) -> None:
    """Runs `setup(sqlite3 connection)` on every connection the library's pool makes."""
    create = pool._create_connection

    def create_connection() -> Any:
        connection = create()
        setup(connection._sqlite_conn)
        return connection

    pool._create_connection = create_connection


F = TypeVar("F", bound=Callable[..., Any])


def bounded_retry(method: F) -> F:
    """The library's method (decorated by its retry) tried `PG_ATTEMPTS` times instead."""
    from eventsourcing.persistence import InterfaceError, OperationalError
    from eventsourcing.utils import retry

    from tracker.config import PG_ATTEMPTS

    undecorated = method.__wrapped__  # type: ignore[attr-defined]
    return retry((InterfaceError, OperationalError), max_attempts=PG_ATTEMPTS,  # type: ignore[no-any-return]
                 wait=0.2)(undecorated)


def bound_postgres_pool(pool: Any) -> None:
    """Bounds every wait of eventsourcing's psycopg pool (see the module's docstring);
    call before the pool opens (the library opens it on first use)."""
    import psycopg_pool
    from psycopg_pool.base import AttemptWithBackoff

    from tracker import deadlines
    from tracker.config import (
        PG_CHECK_TIMEOUT,
        PG_POOL_TIMEOUT,
        PG_RECONNECT_TIMEOUT,
        postgres_bounds,
    )

    if getattr(pool, "tracker_bounded", False):
        return
    pool.tracker_bounded = True
    for name, value in POOL_BACKOFF.items():
        setattr(AttemptWithBackoff, name, value)
    if isinstance(pool.kwargs, dict):
        pool.kwargs.update(postgres_bounds())
    pool.timeout = PG_POOL_TIMEOUT
    pool.reconnect_timeout = PG_RECONNECT_TIMEOUT
    if pool._check is not None:
        plain_check = pool._check

        def bounded_check(conn: Any) -> None:
            with deadlines.watching(conn, PG_CHECK_TIMEOUT):
                plain_check(conn)

        pool._check = bounded_check

    getconn, putconn = pool.getconn, pool.putconn
    lent: dict[int, int | None] = {}

    @functools.wraps(getconn)
    def getconn_watched(timeout: float | None = None) -> Any:
        if deadlines.expired():
            raise psycopg_pool.PoolTimeout("the request's time for the store is up")
        conn = getconn(timeout)
        lent[id(conn)] = deadlines.watch(conn)
        return conn

    @functools.wraps(putconn)
    def putconn_watched(conn: Any) -> None:
        deadlines.unwatch(lent.pop(id(conn), None))
        putconn(conn)

    pool.getconn = getconn_watched
    pool.putconn = putconn_watched
