"""The hash chain on PostgreSQL: the chained application recorder (see tracker.integrity).

A module of its own so that the embedded SQLite default never imports psycopg.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from tracker.adapters import bound_postgres_pool, bounded_retry
from tracker.integrity import ACTOR_TOPICS, GENESIS
from tracker.tlog import TreeStorage, chain_and_leaves

if TYPE_CHECKING:
    from eventsourcing.persistence import StoredEvent


# The most bytes of event states one INSERT statement carries (see _insert_stored_events).
INSERT_CHUNK_BYTES = 4 << 20


def _chunks(events: Sequence[StoredEvent]) -> list[Sequence[StoredEvent]]:
    """The events in runs of at most INSERT_CHUNK_BYTES of state (at least one event each;
    one run for any ordinary save)."""
    out: list[Sequence[StoredEvent]] = []
    start, size = 0, 0
    for i, e in enumerate(events):
        size += len(e.state) + len(e.topic) + 64
        if size > INSERT_CHUNK_BYTES and i > start:
            out.append(events[start:i])
            start, size = i, len(e.state) + len(e.topic) + 64
    out.append(events[start:])
    return out


def _arrays(events: Sequence[StoredEvent]) -> tuple[list[Any], ...]:
    return ([e.originator_id for e in events], [e.originator_version for e in events],
            [e.topic for e in events], [bytes(e.state) for e in events])


class ChainedPostgresApplicationRecorder(TreeStorage, PostgresApplicationRecorder):
    """The PostgreSQL application recorder, plus the chain table and the log's Merkle
    tree (tracker.tlog) written atomically."""

    placeholder = "%s"
    position_column = "notification_id"
    blob_type = "bytea"
    int_type = "bigint"

    # Two tries, not the library's ten: an outage answers within 2 s (tracker.adapters).
    insert_events = bounded_retry(PostgresApplicationRecorder.insert_events)
    select_events = bounded_retry(PostgresApplicationRecorder.select_events)
    select_notifications = bounded_retry(PostgresApplicationRecorder.select_notifications)
    max_notification_id = bounded_retry(PostgresApplicationRecorder.max_notification_id)

    def select_stored(self, after: int, limit: int, stop: int | None = None
                      ) -> Sequence[Any]:
        """The stored events after `after` for the views (see the SQLite recorder's):
        psycopg already gives the aggregate id as a UUID, so the library's notifications
        serve as they are."""
        return self.select_notifications(after, limit, stop=stop, inclusive_of_start=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Before the library's __init__, which opens the pool (its type adapters' query):
        # every connection the pool makes carries the bounds (tracker.adapters).
        bound_postgres_pool((kwargs["datastore"] if "datastore" in kwargs else args[0]).pool)
        super().__init__(*args, **kwargs)
        # The cursors of a chunked insert's earlier statements, per thread, between the
        # insert and the reading of their positions (_insert_stored_events).
        self._chunked = threading.local()
        # The events as four parallel arrays in binary, instead of the library's one array of
        # a composite type, which psycopg sends as text: every event's state escaped by a
        # regular expression. See _insert_stored_events.
        self.insert_arrays_statement = SQL(
            "INSERT INTO {0}.{1} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{2}[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id").format(
            Identifier(self.datastore.schema), Identifier(self.events_table_name),
            Identifier(self.datastore.originator_id_type))
        self.chain_table = SQL("{0}.{1}").format(
            Identifier(self.datastore.schema), Identifier(f"{self.events_table_name}_chain")
        )
        self.sql_create_statements.append(
            SQL("CREATE TABLE IF NOT EXISTS {0} "
                "(notification_id bigint PRIMARY KEY, hash text NOT NULL)").format(self.chain_table)
        )
        self.fingerprints_table = SQL("{0}.{1}").format(
            Identifier(self.datastore.schema),
            Identifier(f"{self.events_table_name}_import_fingerprints"))
        self.sql_create_statements.append(
            SQL("CREATE TABLE IF NOT EXISTS {0} "
                "(incident text PRIMARY KEY, fingerprint text NOT NULL)")
            .format(self.fingerprints_table))
        for statement in self.tree_create_statements():
            self.sql_create_statements.append(SQL(statement).format())
        # The actors' events alone, for an import's names (select_actor_events).
        self.sql_create_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS {0} ON {1}.{2} (notification_id) "
                # Run without parameters: one %, as the queries' %% becomes.
                "WHERE topic LIKE '" + ACTOR_TOPICS + "%'").format(
                Identifier(f"{self.events_table_name}_actor_events"),
                Identifier(self.datastore.schema), Identifier(self.events_table_name)))

    def _name(self, suffix: str) -> str:
        return f'"{self.datastore.schema}"."{self.events_table_name}{suffix}"'

    def _events(self) -> str:
        return f'"{self.datastore.schema}"."{self.events_table_name}"'

    def _insert_nodes(self, c: Any, nodes: list[tuple[int, int, bytes]]) -> None:
        c.execute(SQL("INSERT INTO {0} SELECT * FROM unnest(%b::bigint[], %b::bigint[], "
                      "%b::bytea[])").format(SQL(self._name("_tree"))),
                  ([n[0] for n in nodes], [n[1] for n in nodes], [n[2] for n in nodes]))

    def _lock_for_build(self, c: Any) -> None:
        """The writers' lock (EXCLUSIVE on the events table) for the migration."""
        c.execute(SQL("LOCK TABLE {0} IN EXCLUSIVE MODE").format(SQL(self._events())))

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                              **kwargs: Any) -> None:
        """The library's insert (lock the table, notify, insert) with the events sent as
        binary arrays: an import writes a third faster (bench.imports, PostgreSQL, 29,800
        rows: writing 11.4 s -> 7.6 s). Contract: tests/test_adapters.py.

        A large save is sent as several statements of at most INSERT_CHUNK_BYTES each, all
        but the last on cursors of their own (their positions are read back first, in
        order): psycopg's pipeline, which the library's insert runs in, never finished
        sending one statement of about 12 MB or more (an accepted file of 30,000 links is
        61,000 events, ~30 MB) — the server waited for the rest of the message and the
        client for its answer (psycopg 3.3.9, tests/test_adapters.py)."""
        self._lock_table(curs)
        self._notify_channel(curs)
        chunks = _chunks(stored_events)
        earlier = []
        for chunk in chunks[:-1]:
            cursor = curs.connection.cursor(row_factory=curs.row_factory)
            cursor.execute(self.insert_arrays_statement, _arrays(chunk))
            earlier.append(cursor)
        self._chunked.earlier = earlier
        curs.execute(self.insert_arrays_statement, _arrays(chunks[-1]))

    def _fetch_ids_after_insert_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                                       **kwargs: Any) -> Sequence[int] | None:
        earlier: list[Any] = getattr(self._chunked, "earlier", [])
        self._chunked.earlier = []
        ids: list[int] = []
        for cursor in earlier:
            ids += [row["notification_id"] for row in cursor.fetchall()]
            cursor.close()
        ids += super()._fetch_ids_after_insert_events(curs, stored_events[len(ids):],
                                                      **kwargs) or []
        if ids:
            # The library holds an EXCLUSIVE lock on the events table for this
            # transaction, so the last chain entry cannot move under us.
            curs.execute(SQL("SELECT notification_id, hash FROM {0} "
                             "ORDER BY notification_id DESC LIMIT 1").format(self.chain_table))
            row = curs.fetchone()
            last, previous = (row["notification_id"], row["hash"]) if row else (0, GENESIS)
            rows, leaves = chain_and_leaves(previous, ids, stored_events)
            curs.execute(SQL("INSERT INTO {0} SELECT * FROM unnest(%b::bigint[], %b::text[])")
                         .format(self.chain_table),
                         ([r[0] for r in rows], [r[1] for r in rows]))
            self.append_tree(curs, last, ids, leaves)
        return ids

    def existing(self, ids: list[UUID]) -> set[UUID]:
        """Which of `ids` have at least one stored event (one query)."""
        if not ids:
            return set()
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT id FROM unnest(%b::uuid[]) AS id WHERE EXISTS "
                             "(SELECT 1 FROM {0}.{1} WHERE originator_id = id)").format(
                Identifier(self.datastore.schema), Identifier(self.events_table_name)),
                (list(ids),))
            return {r["id"] for r in curs.fetchall()}

    def positions_of(self, originator_id: UUID) -> dict[int, int]:
        """Log position of each version of one aggregate."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT originator_version, notification_id FROM {0}.{1} "
                             "WHERE originator_id = %s").format(
                Identifier(self.datastore.schema), Identifier(self.events_table_name)),
                (originator_id,))
            return {r["originator_version"]: r["notification_id"] for r in curs.fetchall()}

    def chain_head(self) -> int:
        """The position of the last chain entry (0 for an empty log)."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT MAX(notification_id) AS head FROM {0}")
                         .format(self.chain_table))
            row = curs.fetchone()
            return int(row["head"] or 0) if row else 0

    def fingerprints(self, keys: list[str]) -> dict[str, str]:
        """Import fingerprints of dataset incidents (see tracker.ingestion.importer)."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT incident, fingerprint FROM {0} WHERE incident = ANY(%b)")
                         .format(self.fingerprints_table), (list(keys),))
            return {r["incident"]: r["fingerprint"] for r in curs.fetchall()}

    def save_fingerprints(self, pairs: list[tuple[str, str]]) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("INSERT INTO {0} SELECT * FROM unnest(%b::text[], %b::text[]) "
                             "ON CONFLICT (incident) DO UPDATE SET fingerprint = "
                             "EXCLUDED.fingerprint").format(self.fingerprints_table),
                         ([p[0] for p in pairs], [p[1] for p in pairs]))

    def select_actor_events(self, after: int, limit: int) -> list[Notification]:
        """The actors' stored events after `after`, at most `limit`, through their partial
        index (see the SQLite recorder's)."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT notification_id, originator_id, originator_version, "
                             "topic, state FROM {0} WHERE topic LIKE '" + ACTOR_TOPICS
                             + "%%' AND notification_id > %s ORDER BY notification_id "
                             "LIMIT %s").format(SQL(self._events())), (after, limit))
            return [Notification(id=r["notification_id"], originator_id=r["originator_id"],
                                 originator_version=r["originator_version"], topic=r["topic"],
                                 state=bytes(r["state"])) for r in curs.fetchall()]

    def select_chain(self, after: int, limit: int, upto: int) -> list[tuple[int, str]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT notification_id, hash FROM {0} WHERE notification_id > %s "
                             "AND notification_id <= %s "
                             "ORDER BY notification_id LIMIT %s").format(self.chain_table),
                         (after, upto, limit))
            return [(r["notification_id"], r["hash"]) for r in curs.fetchall()]
