"""Contract tests of the adapters: the private parts of eventsourcing and flask-smorest the
project relies on (tracker/adapters.py, api/adapters.py) are still there, with the same
parameters, and still behave as assumed. An upgrade of either library fails here."""

import inspect
import time
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import OperationalError, StoredEvent
from eventsourcing.utils import resolve_topic

from tracker.adapters import (
    PRIVATE_METHODS,
    RETRIED_METHODS,
    on_new_sqlite_connection,
    save_aggregates,
)
from tracker.domain.actor import Actor


@pytest.mark.parametrize("owner, name, positional", PRIVATE_METHODS,
                         ids=[f"{o.rsplit(':', 1)[1]}.{n}" for o, n, _ in PRIVATE_METHODS])
def test_the_private_methods_used_are_still_there_with_the_same_parameters(owner, name,
                                                                           positional):
    method = getattr(resolve_topic(owner), name, None)
    assert callable(method), f"{owner}.{name} is gone: see tracker/adapters.py"
    params = inspect.signature(method).parameters.values()
    assert tuple(p.name for p in params if p.kind in (p.POSITIONAL_ONLY,
                                                      p.POSITIONAL_OR_KEYWORD)) == positional


def test_save_aggregates_records_what_the_librarys_save_records(sqlite_tracker, make_tracker,
                                                                tmp_path):
    plain = Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                             "SQLITE_DBNAME": str(tmp_path / "plain.sqlite")})
    prov = {"report": "r", "source": {"name": "S", "kind": "media"}}

    def actor() -> Actor:
        made = Actor(key="a", details={"name": "A", "kind": "armed_group"}, provenance=prov)
        made.add_alias("Alias", prov)
        return made

    ours = save_aggregates(sqlite_tracker, (actor(),), {})
    theirs = plain.save(actor())
    assert [(r.notification.id, r.notification.topic, r.notification.originator_version)
            for r in ours] == [(r.notification.id, r.notification.topic,
                                r.notification.originator_version) for r in theirs]
    loaded = sqlite_tracker.repository.get(actor().id)
    assert loaded.aliases == ["Alias"]


def test_every_new_sqlite_connection_gets_its_setup(sqlite_tracker):
    pool = sqlite_tracker.recorder.datastore.pool
    seen = []
    on_new_sqlite_connection(pool, seen.append)
    connection = pool._create_connection()
    assert seen == [connection._sqlite_conn]
    # The event store's own setup ran too: its WAL checkpoints every 128 MB.
    assert connection._sqlite_conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 32768


def test_flask_smorest_still_registers_its_error_handlers_through_the_method_we_turn_off():
    from flask_smorest import Api

    from api.adapters import TrackerApi

    assert "self._register_error_handlers()" in inspect.getsource(Api.init_app)
    assert TrackerApi._register_error_handlers is not Api._register_error_handlers


def test_the_postgres_binary_insert_stores_what_the_librarys_insert_stores(pg_database_url,
                                                                          make_tracker):
    """tracker.integrity_postgres sends events as binary arrays: the rows stored, their
    positions, the NOTIFY that wakes followers, and the table lock that orders commits are
    the library's."""
    import psycopg
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder

    from tracker.config import eventsourcing_env

    ours = make_tracker(pg_database_url).recorder
    events = [StoredEvent(originator_id=uuid4(), originator_version=v, topic=f"t:{v}",
                          state=bytes([0, 92, 39, 255, v]) + b"\\x00 'quoted' \\\\")
              for v in (1, 2, 3)]
    env = eventsourcing_env(pg_database_url)
    with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                         port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                         autocommit=True) as listener:
        listener.execute(f'LISTEN "{ours.channel_name}"')
        ids = ours.insert_events(events)
        notified = list(listener.notifies(timeout=5, stop_after=1))
    assert notified and notified[0].channel == ours.channel_name
    assert ids == sorted(ids) and len(ids) == 3 and ids[-1] - ids[0] == 2
    stored = ours.select_notifications(ids[0], 3)
    assert [(n.originator_id, n.originator_version, n.topic, bytes(n.state)) for n in stored] == [
        (e.originator_id, e.originator_version, e.topic, e.state) for e in events]
    # The library's own insert, through the same recorder's parent class, stores the same.
    more = [StoredEvent(originator_id=uuid4(), originator_version=1, topic="t:lib",
                        state=events[0].state)]
    with ours.datastore.transaction(commit=True) as curs:
        PostgresApplicationRecorder._insert_stored_events(ours, curs, more)
    [theirs] = ours.select_events(more[0].originator_id)
    assert bytes(theirs.state) == bytes(stored[0].state)


def test_the_postgres_binary_insert_holds_the_table_lock_until_commit(pg_database_url,
                                                                     make_tracker):
    # The lock makes commit order the order of positions, which followers rely on.
    import psycopg

    from tracker.config import eventsourcing_env

    ours = make_tracker(pg_database_url).recorder
    env = eventsourcing_env(pg_database_url)
    event = StoredEvent(originator_id=uuid4(), originator_version=1, topic="t", state=b"{}")
    table = f'"{ours.datastore.schema}"."{ours.events_table_name}"'
    with ours.datastore.transaction(commit=True) as curs:
        ours._insert_stored_events(curs, [event])
        with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                             port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"]) as other, \
                pytest.raises(psycopg.errors.LockNotAvailable):
            # (an insert alone takes ROW EXCLUSIVE, which this would not wait for)
            other.execute(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE NOWAIT")
    assert ours.select_events(event.originator_id)[0].topic == "t"


# -- bounded waits on PostgreSQL (tracker.adapters.bounded_retry, bound_postgres_pool) ----


@pytest.mark.parametrize("name", RETRIED_METHODS)
def test_the_librarys_retried_methods_still_expose_the_undecorated_function(name):
    from eventsourcing.postgres import PostgresApplicationRecorder

    method = getattr(PostgresApplicationRecorder, name)
    assert callable(getattr(method, "__wrapped__", None)), \
        f"{name} has no __wrapped__: see tracker.adapters.bounded_retry"


def test_an_event_store_call_is_tried_pg_attempts_times_not_ten(pg_database_url, make_tracker):
    from tracker.config import PG_ATTEMPTS

    recorder = make_tracker(pg_database_url).recorder
    tries = []

    def refused() -> None:
        tries.append(1)
        raise OperationalError("connection refused")

    recorder.datastore.get_connection = refused
    with pytest.raises(OperationalError):
        recorder.max_notification_id()
    assert len(tries) == PG_ATTEMPTS < 10


def test_the_pool_is_bounded_and_its_lent_connections_watched(pg_database_url, make_tracker):
    import psycopg_pool

    from tracker import deadlines
    from tracker.adapters import POOL_ATTRIBUTES
    from tracker.config import PG_CONNECT_TIMEOUT, PG_POOL_TIMEOUT, PG_RECONNECT_TIMEOUT

    datastore = make_tracker(pg_database_url).recorder.datastore
    pool = datastore.pool
    assert isinstance(pool, psycopg_pool.ConnectionPool)
    for name in POOL_ATTRIBUTES:
        assert hasattr(pool, name), f"psycopg_pool.ConnectionPool.{name} is gone"
    assert pool.kwargs["connect_timeout"] == PG_CONNECT_TIMEOUT
    assert pool.kwargs["keepalives"] == 1 and "statement_timeout" in pool.kwargs["options"]
    assert (pool.timeout, pool.reconnect_timeout) == (PG_POOL_TIMEOUT, PG_RECONNECT_TIMEOUT)

    # The pool still checks each connection it lends with its `_check`.
    checked = []
    bounded_check = pool._check
    pool._check = lambda conn: (checked.append(conn), bounded_check(conn))
    with datastore.get_connection() as conn:
        # Every connection the pool makes carries the bounds (the pool opens after them).
        assert conn.execute("SHOW statement_timeout").fetchone()["statement_timeout"] == "1min"
        assert conn.execute("SHOW lock_timeout").fetchone()["lock_timeout"] == "10s"
        assert conn.info.get_parameters()["connect_timeout"] == str(PG_CONNECT_TIMEOUT)
    assert checked == [conn]

    # connection() still lends through the instance's getconn/putconn: the connection is
    # watched against the holder's deadline.
    started = time.monotonic()
    with deadlines.bounded(0.5), pytest.raises((psycopg.OperationalError, OperationalError)), \
            datastore.get_connection() as conn:
        conn.execute("SELECT pg_sleep(10)")
    assert time.monotonic() - started < 2
    deadlines.clear()
    with datastore.get_connection() as conn:  # the pool dropped the cut one, lends anew
        assert conn.execute("SELECT 1").fetchone() is not None


def test_a_pool_of_stale_connections_lends_a_fresh_one_at_once(pg_database_url, make_tracker):
    """After a server restart every idle connection is dead: the pool goes through them
    (a failed check, a short pause, the next) and lends a new one well within its wait,
    instead of sleeping a second after the first failed check (tracker.adapters)."""
    from psycopg_pool.base import AttemptWithBackoff

    from tracker.adapters import POOL_BACKOFF
    from tracker.config import PG_POOL_TIMEOUT, eventsourcing_env

    datastore = make_tracker(pg_database_url).recorder.datastore
    for name, value in POOL_BACKOFF.items():
        assert getattr(AttemptWithBackoff, name) == value
    lent = [datastore.pool.getconn() for _ in range(datastore.pool.max_size)]
    pids = [conn.info.backend_pid for conn in lent]
    for conn in lent:
        datastore.pool.putconn(conn)
    env = eventsourcing_env(pg_database_url)
    with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                         port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                         autocommit=True) as admin:
        for pid in pids:  # only this pool's own connections
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.2)
    started = time.monotonic()
    with datastore.get_connection() as conn:
        assert conn.execute("SELECT 1").fetchone() is not None
        assert conn.info.backend_pid not in pids
    assert time.monotonic() - started < PG_POOL_TIMEOUT


def test_a_large_postgres_save_is_sent_in_chunks_and_stored_in_order(pg_database_url,
                                                                    make_tracker, monkeypatch):
    # Runs of at most INSERT_CHUNK_BYTES each, their positions read back in order: the
    # stored log, its positions and its hash chain are those of one statement.
    import tracker.integrity_postgres as ip

    monkeypatch.setattr(ip, "INSERT_CHUNK_BYTES", 1000)
    tracker = make_tracker(pg_database_url)
    events = [StoredEvent(originator_id=uuid4(), originator_version=1, topic="t",
                          state=bytes([v]) * 200) for v in range(23)]
    assert len(ip._chunks(events)) > 5
    ids = tracker.recorder.insert_events(events)
    assert ids == list(range(ids[0], ids[0] + 23))
    stored = tracker.recorder.select_notifications(ids[0], 23)
    assert [(n.id, n.originator_id, bytes(n.state)) for n in stored] == [
        (i, e.originator_id, e.state) for i, e in zip(ids, events, strict=True)]
    assert tracker.verify().ok


def test_a_postgres_save_of_tens_of_megabytes_completes(pg_database_url, make_tracker):
    # One statement of ~12 MB or more never finished inside psycopg's pipeline (the server
    # waiting for the rest of the message, the client for the answer): an accepted file of
    # 30,000 links is 61,000 events. Run apart, so a regression fails instead of hanging.
    import threading

    tracker = make_tracker(pg_database_url)
    events = [StoredEvent(originator_id=uuid4(), originator_version=1, topic="t",
                          state=b"x" * 500) for _ in range(32_000)]
    done: list[Any] = []
    worker = threading.Thread(target=lambda: done.append(
        tracker.recorder.insert_events(events)), daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert done, "the insert did not finish in 120 s"
    assert len(done[0]) == 32_000 and done[0] == sorted(done[0])
