"""A hash chain over the stored log, written in the same transaction as the events.

Every stored event gets a chain entry: sha256(previous entry, position, aggregate id,
version, topic, stored bytes). `verify_log` walks events and entries in order, streaming,
and names the first position where they disagree: an altered, reordered, deleted or
smuggled-in event breaks the chain there. The PostgreSQL recorder is in
tracker.integrity_postgres (so the SQLite default never loads psycopg).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.sqlite import SQLiteApplicationRecorder

from tracker.adapters import on_new_sqlite_connection
from tracker.tlog import TreeStorage, chain_and_leaves

if TYPE_CHECKING:
    from eventsourcing.persistence import ApplicationRecorder, StoredEvent
    from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore

GENESIS = "0" * 64
# The topics of the actors' events (tracker.domain.actor): a literal in the partial index's
# condition and in the queries that use it, which must say the same.
ACTOR_TOPICS = "tracker.domain.actor:"


def chain_hash(previous: str, position: int, originator_id: UUID | str, version: int,
               topic: str, state: bytes) -> str:
    """The chain entry of one stored event, given the entry before it: the sha256 of each
    part, length-prefixed (4 bytes; the state 8), in order."""
    oid = originator_id.hex if isinstance(originator_id, UUID) else str(originator_id)
    parts: list[bytes] = []
    for part in (previous, str(position), oid, str(version), topic):
        encoded = part.encode()
        parts += (len(encoded).to_bytes(4, "big"), encoded)
    parts += (len(state).to_bytes(8, "big"), bytes(state))
    return hashlib.sha256(b"".join(parts)).hexdigest()


def chain_entries(previous: str, ids: Sequence[int],
           events: Sequence[StoredEvent]) -> list[tuple[int, str]]:
    rows = []
    for position, e in zip(ids, events, strict=True):
        previous = chain_hash(previous, position, e.originator_id, e.originator_version,
                              e.topic, e.state)
        rows.append((position, previous))
    return rows


class ChainedSQLiteApplicationRecorder(TreeStorage, SQLiteApplicationRecorder):
    """The SQLite application recorder, plus the chain table and the log's Merkle tree
    (tracker.tlog) written atomically."""

    # WAL pages between automatic checkpoints (SQLite's default is 1,000, ~4 MB). Each
    # checkpoint copies the WAL's pages into the file and fsyncs it. A write touches
    # pages at random in the events' (aggregate id, version) index and the import
    # fingerprints' index (the ids are hashes), so at a million events each batch of an
    # import dirties a page per event there; a page dirtied again before the checkpoint is
    # copied once, so checkpoints far apart copy fewer pages (an import into a 1M-event
    # store: 28% fewer bytes written, half the fsync time, at 128 MB of WAL instead of 32).
    # Durability is unchanged: the WAL is still synced at every commit.
    WAL_AUTOCHECKPOINT = 32768
    # Page cache of a connection that writes events, in KiB (SQLite's default: 2 MB).
    # With the default, the index pages a write touches are read back from the file for
    # each batch, and dirty pages spill to the WAL before the commit. 32 MB holds those
    # indexes' upper levels and much of their leaves at a million events. Set where events
    # are inserted, so connections that only read (a follower, a rebuild) stay small.
    WRITER_CACHE_KIB = 32768

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"
                 ) -> None:
        super().__init__(datastore, events_table_name)
        on_new_sqlite_connection(datastore.pool, lambda conn: conn.execute(
            f"PRAGMA wal_autocheckpoint={self.WAL_AUTOCHECKPOINT}"))

    @property
    def chain_table_name(self) -> str:
        return f"{self.events_table_name}_chain"

    @property
    def fingerprints_table_name(self) -> str:
        return f"{self.events_table_name}_import_fingerprints"

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.chain_table_name} "
            "(notification_id INTEGER PRIMARY KEY, hash TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.fingerprints_table_name} "
            "(incident TEXT PRIMARY KEY, fingerprint TEXT NOT NULL)",
            *self.tree_create_statements(),
            # The actors' events alone (a few thousand in a million), for an import's
            # names (select_actor_events): partial, so other events cost it nothing.
            f"CREATE INDEX IF NOT EXISTS {self.events_table_name}_actor_events "
            f"ON {self.events_table_name} (topic) WHERE topic LIKE '{ACTOR_TOPICS}%'",
        ]

    def select_actor_events(self, after: int, limit: int) -> list[Notification]:
        """The actors' stored events after position `after`, at most `limit`, in log order:
        what `select_notifications` gives of topics starting with ACTOR_TOPICS, read through
        their own index instead of the whole log (an import at a million events: 0.25-0.7 s
        of scanning before its first row)."""
        t = self.events_table_name
        with self.datastore.transaction(commit=False) as c:
            # INDEXED BY: without statistics the planner would walk the log by rowid.
            c.execute(f"SELECT rowid, * FROM {t} INDEXED BY {t}_actor_events "
                      f"WHERE topic LIKE '{ACTOR_TOPICS}%' AND rowid > ? "
                      "ORDER BY rowid LIMIT ?", (after, limit))
            return [Notification(id=row["rowid"],
                                 originator_id=self.convert_originator_id(row["originator_id"]),
                                 originator_version=row["originator_version"],
                                 topic=row["topic"], state=row["state"])
                    for row in c.fetchall()]

    def fingerprints(self, keys: list[str]) -> dict[str, str]:
        """Import fingerprints of dataset incidents (see tracker.ingestion.importer)."""
        found: dict[str, str] = {}
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                c.execute(f"SELECT incident, fingerprint FROM {self.fingerprints_table_name} "
                          f"WHERE incident IN ({','.join('?' * len(chunk))})", chunk)
                found.update((r[0], r[1]) for r in c.fetchall())
        return found

    def save_fingerprints(self, pairs: list[tuple[str, str]]) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.executemany(f"INSERT OR REPLACE INTO {self.fingerprints_table_name} "
                          "VALUES (?, ?)", pairs)

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        if not stored_events:
            return []
        c.execute(f"PRAGMA cache_size=-{self.WRITER_CACHE_KIB}")
        # The library inserts one statement per event to learn each position. The first
        # insert takes SQLite's write lock and gives the first position; SQLite gives a new
        # row the largest rowid plus one, and nobody else can write until we commit, so the
        # rest take the positions after it, inserted in one executemany.
        first = super()._insert_events(c, stored_events[:1], **kwargs)
        assert first
        ids = list(range(first[0], first[0] + len(stored_events)))
        if len(stored_events) > 1:
            c.executemany(
                f"INSERT INTO {self.events_table_name} "
                "(rowid, originator_id, originator_version, topic, state) VALUES (?,?,?,?,?)",
                [(position, s.originator_id.hex if isinstance(s.originator_id, UUID)
                  else s.originator_id, s.originator_version, s.topic, s.state)
                 for position, s in zip(ids[1:], stored_events[1:], strict=True)])
        if ids:
            # The inserts above hold SQLite's write lock, so nobody writes between.
            c.execute(f"SELECT notification_id, hash FROM {self.chain_table_name} "
                      "ORDER BY notification_id DESC LIMIT 1")
            row = c.fetchone()
            last, previous = (row[0], row[1]) if row else (0, GENESIS)
            rows, leaves = chain_and_leaves(previous, ids, stored_events)
            c.executemany(f"INSERT INTO {self.chain_table_name} VALUES (?, ?)", rows)
            self.append_tree(c, last, ids, leaves)
        return ids

    def existing(self, ids: list[UUID]) -> set[UUID]:
        """Which of `ids` have at least one stored event (one query per 500 ids)."""
        found: set[UUID] = set()
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(ids), 500):
                chunk = {i.hex: i for i in ids[start:start + 500]}  # the ids asked, by hex
                c.execute(f"SELECT DISTINCT originator_id FROM {self.events_table_name} "
                          f"WHERE originator_id IN ({','.join('?' * len(chunk))})",
                          list(chunk))
                found.update(chunk[r[0]] for r in c.fetchall())
        return found

    def positions_of(self, originator_id: UUID) -> dict[int, int]:
        """Log position of each version of one aggregate."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT originator_version, rowid FROM {self.events_table_name} "
                      "WHERE originator_id = ?", (originator_id.hex,))
            return {r[0]: r[1] for r in c.fetchall()}

    def select_stored(self, after: int, limit: int, stop: int | None = None
                      ) -> list[Stored]:
        """The stored events after position `after` (up to `stop`), at most `limit`: what
        `select_notifications(after, limit, stop, inclusive_of_start=False)` returns, as
        plain rows whose aggregate id is the stored hex text. The views read the whole log
        this way; the library's Notification and UUID per event cost about as much as
        parsing the event's JSON (tests/tracker/test_integrity.py checks that both agree)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT rowid, originator_id, topic, state FROM {self.events_table_name} "
                      "WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?",
                      (after, stop if stop is not None else 2 ** 63 - 1, limit))
            return list(map(Stored._make, c.fetchall()))

    def chain_head(self) -> int:
        """The position of the last chain entry (0 for an empty log)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT MAX(notification_id) FROM {self.chain_table_name}")
            row = c.fetchone()
            return int(row[0] or 0)

    def select_chain(self, after: int, limit: int, upto: int) -> list[tuple[int, str]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT notification_id, hash FROM {self.chain_table_name} "
                      "WHERE notification_id > ? AND notification_id <= ? "
                      "ORDER BY notification_id LIMIT ?", (after, upto, limit))
            return [(r[0], r[1]) for r in c.fetchall()]


class Stored(NamedTuple):
    """One stored event as read for the views (`select_stored`)."""

    id: int
    originator_id: str
    topic: str
    state: bytes


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of an integrity check of the stored log."""

    ok: bool
    checked: int
    head: str
    position: int | None = None
    problem: str | None = None
    # Positions set aside from the views (quarantined) whose events fail the chain, passed
    # over when the check was asked to (verify_log's `set_aside`); the rest was checked.
    passed_over: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        found = {"ok": self.ok, "checked": self.checked, "head": self.head,
                 "position": self.position, "problem": self.problem}
        return {**found, "passed_over": list(self.passed_over)} if self.passed_over \
            else found


class UnreadableRow(Exception):
    """A stored row the event store's library cannot even read (e.g. an originator id that
    is not a UUID): it lies just after `after`."""

    def __init__(self, after: int, reason: str) -> None:
        super().__init__(reason)
        self.after = after
        self.reason = reason


def _events(recorder: ApplicationRecorder, page: int, upto: int) -> Iterator[Any]:
    after = 0
    while True:
        try:
            batch = recorder.select_notifications(after, page, stop=upto,
                                                  inclusive_of_start=False)
        except (TypeError, ValueError, AttributeError, UnicodeError) as e:
            # Read the page one row at a time to name the row that cannot be read.
            for _ in range(page):
                try:
                    one = recorder.select_notifications(after, 1, stop=upto,
                                                        inclusive_of_start=False)
                except (TypeError, ValueError, AttributeError, UnicodeError) as e1:
                    raise UnreadableRow(after, f"{type(e1).__name__}: {e1}") from None
                if not one:
                    break
                yield one[0]
                after = one[0].id
            raise UnreadableRow(after, f"{type(e).__name__}: {e}") from None
        yield from batch
        if len(batch) < page:
            return
        after = batch[-1].id


def _damaged(event: Any) -> str | None:
    """Why a stored row is not an event as the tracker writes it (its columns of the wrong
    type: SQLite lets any column hold TEXT, INTEGER…), or None."""
    expected = (("state", (bytes, bytearray, memoryview)), ("topic", str),
                ("originator_version", int), ("id", int))
    for name, types in expected:
        value = getattr(event, name, None)
        if not isinstance(value, types):
            return (f"its {name} is stored as {type(value).__name__}, not as the tracker "
                    "writes it")
    return None


def _entries(recorder: Any, page: int, upto: int) -> Iterator[tuple[int, str]]:
    after = 0
    while True:
        batch = recorder.select_chain(after, page, upto)
        yield from batch
        if len(batch) < page:
            return
        after = batch[-1][0]


def verify_log(recorder: ApplicationRecorder, page: int = 1000,
               set_aside: Collection[int] = ()) -> VerifyResult:
    """Walks the log and its chain in order; stops at the first disagreement.

    `set_aside`: positions the views do not fold (quarantined). An event there that is
    altered or damaged is passed over (listed in `passed_over`) and the walk goes on from
    its chain entry, so what the views fold is checked whole (`tracker rebuild`); `tracker
    verify` and /verify pass none, and stop there.

    Checks the log as it stood when the check began: events and chain entries are read in
    pages, in separate transactions, while writers may go on appending. Both are written in
    one transaction that holds the log's write lock, so everything up to the chain's head
    read first is committed in both tables; what lands later is left to the next check.
    """
    if not hasattr(recorder, "select_chain"):
        return VerifyResult(False, 0, GENESIS, None,
                            f"{type(recorder).__name__} keeps no hash chain")
    chained: Any = recorder
    head = max(chained.chain_head(), recorder.max_notification_id() or 0)
    events, entries = _events(recorder, page, head), _entries(recorder, page, head)
    previous, checked = GENESIS, 0
    passed_over: list[int] = []

    def unreadable(e: UnreadableRow) -> VerifyResult:
        return VerifyResult(False, checked, previous, None,
                            f"the stored event after position {e.after} cannot be read "
                            f"({e.reason}): it was altered in the database")

    try:
        event = next(events, None)
    except UnreadableRow as e:
        return unreadable(e)
    entry = next(entries, None)
    while event is not None or entry is not None:
        if entry is None or (event is not None and event.id < entry[0]):
            assert event is not None
            return VerifyResult(False, checked, previous, event.id,
                                f"event at position {event.id} ({event.topic}) has no chain "
                                "entry: it was written outside the tracker")
        if event is None or entry[0] < event.id:
            return VerifyResult(False, checked, previous, entry[0],
                                f"event at position {entry[0]} is missing: it was deleted")
        damage = _damaged(event)
        if event.id in set_aside and (damage or chain_hash(
                previous, event.id, event.originator_id, event.originator_version,
                event.topic, event.state) != entry[1]):
            passed_over.append(event.id)
            previous = entry[1]
            try:
                event = next(events, None)
            except UnreadableRow as e:
                return unreadable(e)
            entry = next(entries, None)
            continue
        if damage:
            return VerifyResult(False, checked, previous, event.id,
                                f"event at position {event.id} is damaged: {damage}; it was "
                                "altered in the database")
        expected = chain_hash(previous, event.id, event.originator_id,
                              event.originator_version, event.topic, event.state)
        if expected != entry[1]:
            return VerifyResult(False, checked, previous, event.id,
                                f"event at position {event.id} ({event.topic}, aggregate "
                                f"{event.originator_id} v{event.originator_version}) does not "
                                "match its chain entry: it was altered or moved")
        previous, checked = expected, checked + 1
        try:
            event = next(events, None)
        except UnreadableRow as e:
            return unreadable(e)
        entry = next(entries, None)
    return VerifyResult(True, checked, previous, passed_over=tuple(passed_over))
