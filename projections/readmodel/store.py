"""The read model's database: SQLite (embedded) or PostgreSQL (own schema), through
SQLAlchemy's engine, DDL and Core statements (the dialects' SQL is the library's); bulk
row writes go straight to the driver's executemany (statements compiled from Core) or
COPY. Driver SQL is left only where Core has no construct (PRAGMA, SET, ANALYZE, ALTER
TABLE, CREATE SCHEMA, SQLite's BEGIN modes) or the driver's API is the point.

Generations: each rebuild writes a new set of tables (g{N}_*) while readers keep the
active one; `rm_generations` says which is active and holds each generation's log position.
A writer holds the position's lock for its whole batch (SQLite: BEGIN IMMEDIATE;
PostgreSQL: SELECT … FOR UPDATE), reads the position under it, folds, writes rows and the
new position, and commits: a batch lands exactly once, whoever else projects.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

from sqlalchemy import (
    Connection,
    Executable,
    Index,
    MetaData,
    Select,
    Table,
    and_,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.schema import DropIndex

from projections.readmodel.schema import (
    FAILURES_TABLE,
    FOLDED,
    META_TABLE,
    SCHEMA_TABLE,
    SCHEMA_VERSION,
    VERSIONS_TABLE,
    generation_indexes,
    generation_metadata,
    meta_metadata,
    view_versions,
)
from tracker import deadlines
from tracker.config import PG_CHECK_TIMEOUT, PG_LOCK_TIMEOUT, postgres_bounds, redact_url
from tracker.exceptions import ConfigurationError

log = logging.getLogger(__name__)

FIGURE_COLUMNS = {"best", "low", "high", "civilians", "wounded", "incidents"}
# SQLite page caches (KiB, negative): readers keep memory small and flat; writers fold
# faster with the indexes they touch in memory.
READ_CACHE, WRITE_CACHE = -16384, -65536
# The rows loaded by COPY into a table before its first ANALYZE (see copy_rows).
ANALYZE_FROM = 20_000


def _sqlite_engine(path: str) -> Engine:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}",
                           connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi: Any, _record: Any) -> None:
        dbapi.isolation_level = None  # we say BEGIN ourselves (below)
        # Driver SQL: SQLite's connection settings (PRAGMA: no Core construct).
        for pragma in ("busy_timeout=30000", "synchronous=NORMAL", f"cache_size={READ_CACHE}",
                       "wal_autocheckpoint=8192"):
            dbapi.execute(f"PRAGMA {pragma}")
        _use_wal(dbapi)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take SQLite's write lock at BEGIN, so the position they read stays theirs.
        # Driver SQL: BEGIN IMMEDIATE is SQLite's own (Core only begins a transaction).
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _use_wal(dbapi: Any) -> None:
    """Switches a new file to WAL. The switch takes an exclusive lock that SQLite may refuse
    at once (no busy wait) while another connection opens the same new file: retried."""
    for attempt in range(50):
        try:
            if dbapi.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                dbapi.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or attempt == 49:
                raise
            time.sleep(0.02 * (attempt + 1))


def bound_checkouts(engine: Engine) -> None:
    """Each connection lent by the engine's pool is checked first within PG_CHECK_TIMEOUT
    (a failed check: SQLAlchemy drops it and connects anew), then watched against the
    holder's deadline until it is handed back (tracker.deadlines)."""
    import sqlalchemy.exc

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi: Any, record: Any, _proxy: Any) -> None:
        if deadlines.expired():
            raise sqlalchemy.exc.TimeoutError("the request's time for the views is up")
        try:
            with deadlines.watching(dbapi, PG_CHECK_TIMEOUT):
                alive = engine.dialect.do_ping(dbapi)
        except Exception as e:  # noqa: BLE001 - any failed check means: connect anew
            raise sqlalchemy.exc.DisconnectionError(str(e)) from e
        if not alive:
            raise sqlalchemy.exc.DisconnectionError("the pooled connection is gone")
        record.info["tracker_watch"] = deadlines.watch(dbapi)

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi: Any, record: Any) -> None:
        if record is not None:
            deadlines.unwatch(record.info.pop("tracker_watch", None))


def _postgres_engine(url: str) -> tuple[Engine, str]:
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    schema = query.pop("schema", ["tracker_views"])[0]
    if not schema.replace("_", "").isalnum():
        raise ConfigurationError(f"views schema {schema!r}: use letters, digits and _")
    rest = urlencode({k: v[0] for k, v in query.items()})
    sa_url = urlunparse(parsed._replace(scheme="postgresql+psycopg", query=rest))
    bounds = postgres_bounds(statement_timeout=30_000, lock_timeout=PG_LOCK_TIMEOUT)
    bounds["options"] = f"-c search_path={schema} " + bounds["options"]
    # No pool_pre_ping: its ping has no bound; the check at checkout below has one.
    engine = create_engine(sa_url, pool_size=5, max_overflow=5, pool_timeout=2,
                           connect_args=bounds)
    bound_checkouts(engine)
    return engine, schema


class ReadModelStore:
    """The read model's engine, generations and positions."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            self.dialect = "sqlite"
            self.engine = _sqlite_engine(url[len("sqlite:///"):])
            self.schema = None
        elif url.startswith(("postgresql://", "postgres://")):
            self.dialect = "postgresql"
            self.engine, self.schema = _postgres_engine(url)
        else:
            raise ConfigurationError(f"TRACKER_VIEWS_URL {redact_url(url)!r}: use "
                                     "sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
                                     "?schema=NAME")
        self._ready = False
        self._lock = threading.Lock()
        self._statements: dict[int, Statements] = {}
        self._tables: dict[int, dict[str, Table]] = {}
        self._queries: dict[Hashable, Executable] = {}
        # Rows this process loaded by COPY into each table, and how many there were at its
        # last ANALYZE (see copy_rows).
        self._copied: dict[str, list[int]] = {}
        self.meta = meta_metadata().tables  # the store's own tables (generations, ...)
        self.own = OwnStatements.of(self.meta)

    # -- SQL helpers ---------------------------------------------------------------------

    def tables(self, gen: int) -> dict[str, Table]:
        """Generation `gen`'s view tables (SQLAlchemy Core `Table`s) by their name without
        the generation's prefix: what the read path builds its statements from. Built once
        per generation (a MetaData per request would cost more than most reads)."""
        found = self._tables.get(gen)
        if found is None:
            p = f"g{gen}_"
            found = self._tables[gen] = {full[len(p):]: t for full, t in
                                         generation_metadata(gen).tables.items()}
        return found

    def query(self, key: Hashable, build: Callable[[], Executable]) -> Executable:
        """The read statement named `key` (which holds the generation and everything its
        shape depends on), built once: a statement object used again skips SQLAlchemy's
        construction and cache-key work (about 25 us a query), its values bound by name."""
        found = self._queries.get(key)
        if found is None:
            found = self._queries[key] = build()
        return found

    def query_on(self, gen: int, key: str, build: Callable[[dict[str, Table]], Executable]
                 ) -> Executable:
        """The statement `build(tables(gen))` named `key` (the fold's preloads), built once
        per generation (`query`), its values bound by name (lists: expanding IN)."""
        return self.query((gen, "fold", key), lambda: build(self.tables(gen)))

    def rows(self, conn: Connection, statement: Executable,
             params: dict[str, Any] | None = None) -> list[Any]:
        """The rows of a Core statement (SQLAlchemy compiles it for the dialect, and
        caches the compiled form by the statement's shape)."""
        return list(conn.execute(statement, params).fetchall())

    def statements(self, gen: int) -> Statements:
        """The compiled statements that write generation `gen`'s versions (cached)."""
        found = self._statements.get(gen)
        if found is None:
            dialect: Any = self.engine.dialect
            if dialect.paramstyle not in ("qmark", "format"):
                # Positional parameters: rows travel as sequences, in column order.
                dialect = type(dialect)(paramstyle="format")
            found = self._statements[gen] = compile_statements(
                generation_metadata(gen), dialect, f"g{gen}_")
        return found

    @property
    def can_copy(self) -> bool:
        """PostgreSQL loads rows fastest by COPY (psycopg's copy protocol)."""
        return self.dialect == "postgresql"

    def copy_rows(self, conn: Connection, table_name: str, columns: list[str],
                  rows: Sequence[Sequence[Any]]) -> None:
        """Rows into a table by COPY, inside the connection's transaction (a rebuild's
        bulk load: rows the statement would insert one by one)."""
        if not rows:
            return
        cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cols = ", ".join(f'"{c}"' for c in columns)
        try:
            # Driver API: COPY is psycopg's copy protocol, not a statement Core runs.
            with cursor.copy(f"COPY {table_name} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            # A table loaded in bulk has no statistics until autovacuum comes by (a minute
            # or more): the planner then misjudges it and may end a batch's versions (one
            # UPDATE joined to the keys' arrays) by scanning the whole table instead of
            # probing its primary key, so a rebuild slows with the table's size. Each table
            # is analyzed whenever the rows loaded into it have doubled since its last
            # ANALYZE (from ANALYZE_FROM rows on): a few sampled ANALYZEs per rebuild.
            counts = self._copied.setdefault(table_name, [0, 0])
            counts[0] += len(rows)
            if counts[0] >= max(ANALYZE_FROM, 2 * counts[1]):
                cursor.execute(f"ANALYZE {table_name}")  # Driver SQL: Core has no ANALYZE
                counts[1] = counts[0]
        finally:
            cursor.close()

    def close_versions(self, conn: Connection, statements: Statements, name: str,
                       rows: Sequence[Sequence[Any]]) -> None:
        """Ends these versions (rows of valid_to, then the primary key): one statement on
        PostgreSQL (the keys as arrays), one per row elsewhere."""
        if not rows:
            return
        bulk = statements.close_all.get(name)
        if bulk is None:
            self.execute_rows(conn, statements.close[name], rows)
            return
        cursor = conn.connection.cursor()
        try:
            cursor.execute(bulk, [list(column) for column in zip(*rows, strict=True)])
        finally:
            cursor.close()

    def execute_rows(self, conn: Connection, statement: str, rows: Sequence[Sequence[Any]]
                     ) -> None:
        """A compiled statement (`statements`) for many rows, straight to the driver."""
        if rows:
            cursor = conn.connection.cursor()
            try:
                cursor.executemany(statement, rows)
            finally:
                cursor.close()

    # -- setup ---------------------------------------------------------------------------

    def setup(self) -> None:
        """Creates the schema and the generations table if missing; safe for several
        processes starting at once (serialised by an advisory lock on PostgreSQL)."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            with self._write() as conn:
                if self.schema:
                    # Driver SQL: the schema must exist before any Core table is made in it.
                    conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                else:
                    # The document tables of the first read model: the log is the truth,
                    # and the new tables are folded from it.
                    for legacy in ("view_docs", "view_positions", "view_active"):
                        Table(legacy, MetaData()).drop(conn, checkfirst=True)
                meta_metadata().create_all(conn)
                self._migrate(conn)
            self._ready = True

    def _migrate(self, conn: Connection) -> None:
        """Brings generations made by an older layout to SCHEMA_VERSION, in place.

        Version 2 (the limits of the report format): figures are 64-bit and the columns
        holding case-folded names are wider. SQLite's integers are 64-bit already and it
        does not enforce lengths, so only PostgreSQL's tables change (ALTER ... TYPE)."""
        g, vv, sv = (self.meta[n] for n in (META_TABLE, VERSIONS_TABLE, SCHEMA_TABLE))
        gens = [int(gen) for (gen,) in self.rows(conn, select(g.c.gen))]
        inspector = inspect(conn)
        folded_by: dict[int, dict[str, int]] = {}
        for gen, view, version in self.rows(conn, select(vv.c.gen, vv.c.view, vv.c.version)):
            folded_by.setdefault(int(gen), {})[view] = int(version)
        declared = view_versions()
        for gen in gens:
            # A generation made before a view (or a column) was added lacks it: its rows
            # cannot be completed in place, so it is dropped and the views are folded again
            # from the log (as `tracker serve`, `query` and `project` do for a new store).
            md = generation_metadata(gen)
            missing: list[str] = []
            for name, tbl in md.tables.items():
                if not inspector.has_table(name, schema=self.schema):
                    missing.append(f"table {name}")
                    continue
                held = {c["name"] for c in inspector.get_columns(name, schema=self.schema)}
                missing += [f"{name}.{c.name}" for c in tbl.columns if c.name not in held]
            # A view whose rows mean something else now (its keys, say) cannot be told by
            # its columns: its version says it.
            missing += [f"view {view} version {version} (folded by version "
                        f"{folded_by.get(gen, {}).get(view, 1)})"
                        for view, version in declared.items()
                        if folded_by.get(gen, {}).get(view, 1) != version]
            if missing:
                log.warning("read model generation %d lacks %s (made by an older version): "
                            "dropped; the views are folded again from the log",
                            gen, ", ".join(missing))
                md.drop_all(conn, checkfirst=True)
                self._forget(conn, gen)
        self._drop_retired(conn)
        rows = self.rows(conn, select(sv.c.version))
        version = int(rows[0][0]) if rows else 1
        if version >= SCHEMA_VERSION:
            return
        if self.dialect == "postgresql":
            # Driver SQL: a PostgreSQL setting of this transaction (Core has no SET).
            conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
            gens = [int(gen) for (gen,) in self.rows(conn, select(g.c.gen))]
            for gen in gens:
                for name, tbl in generation_metadata(gen).tables.items():
                    changes = [
                        f"ALTER COLUMN {c.name} TYPE "
                        f"{c.type.compile(dialect=self.engine.dialect)}"
                        for c in tbl.columns
                        if c.name in FIGURE_COLUMNS
                        or getattr(c.type, "length", None) == FOLDED]
                    if changes:
                        # Driver SQL: Core has no ALTER TABLE (that is a migration tool's).
                        conn.exec_driver_sql(f"ALTER TABLE {name} {', '.join(changes)}")
        conn.execute(delete(sv))
        conn.execute(insert(sv), {"version": SCHEMA_VERSION})

    def _drop_retired(self, conn: Connection) -> None:
        """Drops the indexes the views retired (`View.retired`) from every generation that
        has them: a no-op once they are gone."""
        from projections.views import VIEWS

        g = self.meta[META_TABLE]
        retired = [(table, index) for view in VIEWS for table, index in view.retired]
        if not retired:
            return
        for (gen,) in self.rows(conn, select(g.c.gen)):
            md = generation_metadata(int(gen))
            for table, index in retired:
                # An Index is made on a column; DROP INDEX names only the index (and, on
                # PostgreSQL, the table's schema).
                column = md.tables[f"g{gen}_{table}"].primary_key.columns[0]
                conn.execute(DropIndex(Index(f"g{gen}_{index}", column), if_exists=True))

    def _forget(self, conn: Connection, gen: int) -> None:
        """The store's rows about `gen` (its position, stuck fold and view versions)."""
        for name in (META_TABLE, FAILURES_TABLE, VERSIONS_TABLE):
            t = self.meta[name]
            conn.execute(delete(t).where(t.c.gen == gen))

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction that writes: on SQLite it takes the write lock at BEGIN (waiting
        for it), so processes starting together never fail on a stale read snapshot; on
        PostgreSQL DDL is serialised by an advisory lock."""
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                self._ddl_lock(conn)
                yield conn

    def _ddl_lock(self, conn: Connection) -> None:
        if self.dialect == "postgresql":
            # Driver SQL: a PostgreSQL-only lock, taken for its effect (no rows to read).
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))",
                                 (f"tracker-views-ddl:{self.schema}",))

    def _create_generation(self, conn: Connection, gen: int, status: str,
                           indexes: bool) -> None:
        md = generation_metadata(gen)
        md.create_all(conn)
        if indexes:
            for index in generation_indexes(gen, md):
                index.create(conn, checkfirst=True)
        g, vv = self.meta[META_TABLE], self.meta[VERSIONS_TABLE]
        conn.execute(insert(g), {"gen": gen, "position": 0, "status": status,
                                 "created": datetime.now(UTC).isoformat()})
        conn.execute(delete(vv).where(vv.c.gen == gen))
        conn.execute(insert(vv), [{"gen": gen, "view": view, "version": version}
                                  for view, version in view_versions().items()])

    def create_indexes(self, gen: int) -> None:
        with self._write() as conn:
            if self.dialect == "postgresql":
                # Driver SQL: a PostgreSQL setting of this transaction (Core has no SET).
                conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
            md = generation_metadata(gen)
            for index in generation_indexes(gen, md):
                index.create(conn, checkfirst=True)
            if self.dialect == "postgresql":
                # Statistics now, not whenever autovacuum comes by: without them the planner
                # takes a bulk-loaded table for empty and scans it (0.5 s a page at 1M).
                for name in md.tables:
                    conn.exec_driver_sql(f"ANALYZE {name}")  # Driver SQL: Core has no ANALYZE

    def ensure_active(self) -> int:
        """The active generation; the first one is made (empty, indexed) if none is."""
        self.setup()
        gen = self.active()
        if gen is not None:
            return gen
        with self._write() as conn:
            rows = self.rows(conn, self.own.active)
            if rows:
                return int(rows[0][0])
            gen = self._next_gen(conn)
            self._create_generation(conn, gen, "active", indexes=True)
            return gen

    def new_generation(self, status: str = "building") -> int:
        """A new empty generation (no secondary indexes yet), not read by anyone."""
        self.setup()
        with self._write() as conn:
            gen = self._next_gen(conn)
            self._create_generation(conn, gen, status, indexes=False)
            return gen

    def _next_gen(self, conn: Connection) -> int:
        rows = self.rows(conn, select(func.max(self.meta[META_TABLE].c.gen)))
        return int(rows[0][0] or 0) + 1

    def activate(self, gen: int) -> int | None:
        """Switches readers to `gen`; returns the generation they used before."""
        g = self.meta[META_TABLE]
        with self._write() as conn:
            old = self.rows(conn, self.own.active)
            conn.execute(update(g).values(status=case((g.c.gen == gen, "active"),
                                                      (g.c.status == "active", "retired"),
                                                      else_=g.c.status)))
            return int(old[0][0]) if old and int(old[0][0]) != gen else None

    def drop(self, gen: int) -> None:
        with self._write() as conn:
            generation_metadata(gen).drop_all(conn)
            self._forget(conn, gen)

    def generations(self) -> dict[int, tuple[str, int]]:
        """{gen: (status, position)} of every generation."""
        self.setup()
        g = self.meta[META_TABLE]
        with self.engine.connect() as conn:
            rows = self.rows(conn, select(g.c.gen, g.c.status, g.c.position))
        return {int(n): (s, int(p)) for n, s, p in rows}

    # -- positions -----------------------------------------------------------------------

    def active(self) -> int | None:
        self.setup()
        with self.engine.connect() as conn:
            rows = self.rows(conn, self.own.active)
        return int(rows[0][0]) if rows else None

    def active_and_position(self) -> tuple[int, int]:
        """(active generation, its position) in one query."""
        self.setup()
        with self.engine.connect() as conn:
            rows = self.rows(conn, self.own.active_and_position)
        if not rows:
            return self.ensure_active(), 0
        return int(rows[0][0]), int(rows[0][1])

    def position(self, gen: int) -> int:
        self.setup()
        with self.engine.connect() as conn:
            rows = self.rows(conn, self.own.position, {"gen": gen})
        return int(rows[0][0]) if rows else 0

    @contextmanager
    def writing(self, gen: int, bulk: bool = False) -> Iterator[tuple[Connection, int]]:
        """A write transaction holding `gen`'s position lock: (connection, position).
        Commits on exit; rolls back on an exception. `bulk`: a generation nobody reads yet
        (a rebuild): on SQLite its commits skip the fsyncs of WAL checkpoints (about a
        tenth of a rebuild); the views are rebuilt from the log if the machine loses
        power mid-rebuild."""
        self.setup()
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                # Connection settings, outside any transaction (the driver's own calls):
                # a writer keeps a bigger page cache while it holds the lock.
                raw = conn.connection.driver_connection
                raw.execute(f"PRAGMA synchronous={'OFF' if bulk else 'NORMAL'}")  # type: ignore[union-attr]
                raw.execute(f"PRAGMA cache_size={WRITE_CACHE}")  # type: ignore[union-attr]
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                if self.dialect == "postgresql":
                    # Driver SQL: a PostgreSQL setting of this transaction (Core has no SET).
                    conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
                rows = self.rows(conn, self.own.position_for_update, {"gen": gen})
                if not rows:
                    raise GenerationGoneError(gen)
                yield conn, int(rows[0][0])

    def set_position(self, conn: Connection, gen: int, position: int) -> None:
        moved = {"at_gen": gen, "to_position": position}
        conn.execute(self.own.set_position, moved)
        # A fold that was stuck before this position is no longer.
        conn.execute(self.own.unstuck, moved)

    # -- a stuck fold ----------------------------------------------------------------------

    def record_failure(self, gen: int, position: int, last: int, report: str | None,
                       events: list[str], reason: str) -> None:
        """Records (or counts again) that `gen` cannot fold the unit `position`..`last`."""
        now = datetime.now(UTC).isoformat()
        f = self.meta[FAILURES_TABLE]
        with self._write() as conn:
            rows = self.rows(conn, select(f.c.position, f.c.attempts, f.c.first_seen).where(
                f.c.gen == gen))
            same = rows and int(rows[0][0]) == position
            attempts = int(rows[0][1]) + 1 if same else 1
            first_seen = rows[0][2] if same else now
            conn.execute(delete(f).where(f.c.gen == gen))
            conn.execute(insert(f), {
                "gen": gen, "position": position, "last": last, "report": report,
                "events": ",".join(events)[:2000], "reason": reason[:2000],
                "first_seen": first_seen, "last_seen": now, "attempts": attempts})

    def failure(self, gen: int | None = None) -> dict[str, Any] | None:
        """Where the fold of `gen` (default: the active generation) is stuck, or None."""
        self.setup()
        with self.engine.connect() as conn:
            if gen is None:
                rows = self.rows(conn, self.own.active)
                if not rows:
                    return None
                gen = int(rows[0][0])
            rows = self.rows(conn, self.own.failure, {"gen": gen})
        if not rows:
            return None
        position, last, report, events, reason, first_seen, last_seen, attempts = rows[0]
        return {"position": int(position), "last": int(last), "report": report,
                "events": events.split(",") if events else [], "reason": reason,
                "first_seen": first_seen, "last_seen": last_seen, "attempts": int(attempts)}

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read transaction: one consistent snapshot for every statement in it."""
        self.setup()
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                # Driver SQL: a SQLite connection setting, outside any transaction.
                conn.connection.driver_connection.execute(  # type: ignore[union-attr]
                    f"PRAGMA cache_size={READ_CACHE}")
            with conn.begin():
                if self.dialect == "postgresql":
                    # Driver SQL: this transaction's isolation (Core has no SET TRANSACTION).
                    conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                yield conn

    def reset(self) -> None:
        """Forgets that the tables were made: after an outage the read model may have come
        back empty (a new server, a dropped schema); the next use makes them again, and
        the projectors fold the log into them from position 0."""
        self._ready = False
        self.engine.dispose()

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            conn.execute(select(literal(1)))
        return True

    def close(self) -> None:
        self.engine.dispose()


@dataclass(frozen=True)
class OwnStatements:
    """The store's statements on its own tables that run on every batch or request,
    built once per store (see `ReadModelStore.query`); values bound by name."""

    active: Select[Any]               # the active generation
    active_and_position: Select[Any]
    position: Select[Any]             # of generation `gen`
    # The same, locking the row on PostgreSQL (FOR UPDATE); SQLite renders no lock: its
    # writer took the database's at BEGIN IMMEDIATE.
    position_for_update: Select[Any]
    set_position: Executable          # of `at_gen`, to `to_position`
    unstuck: Executable               # forgets a stuck fold of `at_gen` up to `to_position`
    failure: Select[Any]              # where `gen` is stuck

    @classmethod
    def of(cls, meta: Mapping[str, Table]) -> OwnStatements:
        g, f = meta[META_TABLE], meta[FAILURES_TABLE]
        position = select(g.c.position).where(g.c.gen == bindparam("gen"))
        return cls(
            active=select(g.c.gen).where(g.c.status == "active"),
            active_and_position=select(g.c.gen, g.c.position).where(g.c.status == "active"),
            position=position,
            position_for_update=position.with_for_update(),
            # Bound names other than the columns': an UPDATE keeps those for its SET.
            set_position=update(g).where(g.c.gen == bindparam("at_gen")).values(
                position=bindparam("to_position")),
            unstuck=delete(f).where(f.c.gen == bindparam("at_gen"),
                                    f.c.position <= bindparam("to_position")),
            failure=select(f.c.position, f.c.last, f.c.report, f.c.events, f.c.reason,
                           f.c.first_seen, f.c.last_seen, f.c.attempts).where(
                               f.c.gen == bindparam("gen")))


@dataclass(frozen=True)
class Statements:
    """The statements that write one generation's versions, compiled from the views'
    tables for the store's driver (positional parameters, in the tables' column order):
    `insert[table]`, and `close[table]` (valid_to, then the primary key) for versioned
    tables."""

    insert: dict[str, str]
    close: dict[str, str]
    table: dict[str, str]            # the full table name
    columns: dict[str, list[str]]    # its columns, in the rows' order
    conflicts: frozenset[str]        # tables whose inserts ignore a row already there
    close_all: dict[str, str] = field(default_factory=dict)  # PostgreSQL: one per table

    def ignores_conflicts(self, name: str) -> bool:
        return name in self.conflicts


def compile_statements(md: MetaData, dialect: Any, prefix: str) -> Statements:
    from sqlalchemy.dialects import postgresql, sqlite

    insert: dict[str, str] = {}
    close: dict[str, str] = {}
    tables: dict[str, str] = {}
    columns: dict[str, list[str]] = {}
    conflicts = set()
    for full, t in md.tables.items():
        name = full[len(prefix):]
        tables[name] = full
        columns[name] = [c.name for c in t.columns]
        stmt: Any = t.insert()
        if t.info.get("on_conflict") == "ignore":
            conflicts.add(name)
            stmt = (postgresql.insert if dialect.name == "postgresql"
                    else sqlite.insert)(t).on_conflict_do_nothing()
        insert[name] = str(stmt.compile(dialect=dialect,
                                        column_keys=[c.name for c in t.columns]))
        if "valid_to" in t.c:
            keys = list(t.primary_key.columns)
            close[name] = str(t.update().where(
                and_(*(c == bindparam(f"k_{c.name}") for c in keys))
            ).values(valid_to=bindparam("valid_to")).compile(dialect=dialect))
    return Statements(insert, close, tables, columns, frozenset(conflicts),
                      close_arrays(md, prefix) if dialect.name == "postgresql" else {})


def close_arrays(md: MetaData, prefix: str) -> dict[str, str]:
    """PostgreSQL: one UPDATE per table ends every version a batch closes, its keys sent as
    one array per column (unnest), instead of one statement per row: a batch that regroups
    thousands of records (an accepted file of links) closes thousands of versions."""
    from sqlalchemy import BigInteger, Integer

    out: dict[str, str] = {}
    for full, t in md.tables.items():
        if "valid_to" not in t.c:
            continue
        keys = list(t.primary_key.columns)
        kinds = ["bigint" if isinstance(c.type, BigInteger) else
                 "integer" if isinstance(c.type, Integer) else "text" for c in keys]
        arrays = ", ".join(["%s::bigint[]", *(f"%s::{k}[]" for k in kinds)])
        names = ", ".join(["valid_to", *(f"k_{c.name}" for c in keys)])
        match = " AND ".join(f't."{c.name}" = v.k_{c.name}' for c in keys)
        out[full[len(prefix):]] = (f"UPDATE {full} AS t SET valid_to = v.valid_to FROM "
                                   f"unnest({arrays}) AS v({names}) WHERE {match}")
    return out


class GenerationGoneError(Exception):
    """Raised when a generation was dropped (a rebuild switched readers) mid-work."""

    def __init__(self, gen: int) -> None:
        self.gen = gen
        super().__init__(f"read model generation {gen} no longer exists")


def table(gen: int, name: str) -> str:
    return f"g{gen}_{name}"
