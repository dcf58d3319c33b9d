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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
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
