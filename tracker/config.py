"""One place decides where events and views live, from explicit settings or the environment.

Nothing here runs at import time: call `Settings.from_env()` in the factory or the command.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlparse, urlunparse

from tracker.exceptions import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite:///var/tracker.sqlite"

# Bounds on every PostgreSQL connection (event store, read model, start-up locks); the
# README's "When a service fails" lists them with what each one ends.
PG_CONNECT_TIMEOUT = 2          # s, a new connection (libpq's smallest useful value)
PG_CHECK_TIMEOUT = 1.0          # s, the check of a pooled connection before each use
PG_POOL_TIMEOUT = 0.5           # s, waiting for a pooled connection, per attempt
PG_ATTEMPTS = 2                 # tries of one event-store call (the library's default: 10)
# s, a pool's background reconnection before it gives up: short, so that each request
# for a connection while the pool is empty tries the server itself (at once, or within
# this time), and the pool is back as soon as the server is.
PG_RECONNECT_TIMEOUT = 0.2
PG_STATEMENT_TIMEOUT = 60_000   # ms, event store (views: 30 s; index builds: none)
PG_LOCK_TIMEOUT = 10_000        # ms, any lock, the start-up advisory locks included
PG_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 3,
                 "keepalives_count": 3, "tcp_user_timeout": 10_000}


def postgres_bounds(statement_timeout: int = PG_STATEMENT_TIMEOUT,
                    lock_timeout: int = PG_LOCK_TIMEOUT) -> dict[str, Any]:
    """libpq parameters bounding a connection: connect timeout, TCP keepalives (a peer gone
    silent is noticed in ~20 s, unacknowledged data in 10 s), statement and lock timeouts.
    A server that is paused keeps TCP alive: tracker.deadlines bounds that case."""
    return {"connect_timeout": PG_CONNECT_TIMEOUT, **PG_KEEPALIVES,
            "options": f"-c statement_timeout={statement_timeout} "
                       f"-c lock_timeout={lock_timeout}"}


def redact_url(url: str | None) -> str:
    """A database or Redis URL fit to print: the password replaced by ***."""
    if not url:
        return str(url)
    try:
        parsed = urlparse(url)
        if parsed.password is None:
            return url
        user = parsed.username or ""
        host = parsed.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{user}:***@{host}" + (f":{parsed.port}" if parsed.port else "")
        return urlunparse(parsed._replace(netloc=netloc))
    except ValueError:
        # Unparseable (e.g. a bad port): hide everything between '//' and the last '@'.
        return re.sub(r"(//[^/@]*?:)[^/]*@", r"\1***@", url)


@dataclass(frozen=True)
class Settings:
    """Where the event store, the read model and Redis are."""

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    views_url: str | None = None
    redis_prefix: str = "tracker"
    # Catch the views up in process after each write (the embedded default); in
    # production (with Redis to wake it) the `tracker project --follow` process does.
    inline: bool | None = None

    @property
    def inline_projection(self) -> bool:
        return self.inline if self.inline is not None else not self.redis_url

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("TRACKER_DATABASE_URL") or DEFAULT_DATABASE_URL,
            redis_url=env.get("TRACKER_REDIS_URL") or None,
            views_url=env.get("TRACKER_VIEWS_URL") or _views_path_url(env),
            redis_prefix=env.get("TRACKER_REDIS_PREFIX") or "tracker",
            inline=_flag(env.get("TRACKER_INLINE_PROJECTION")),
        )

    def to_env(self) -> dict[str, str]:
        """These settings as TRACKER_* variables, for a child process."""
        env = {"TRACKER_DATABASE_URL": self.database_url,
               "TRACKER_REDIS_PREFIX": self.redis_prefix}
        if self.redis_url:
            env["TRACKER_REDIS_URL"] = self.redis_url
        if self.views_url:
            env["TRACKER_VIEWS_URL"] = self.views_url
        if self.inline is not None:
            env["TRACKER_INLINE_PROJECTION"] = "1" if self.inline else "0"
        return env

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    def eventsourcing_env(self) -> dict[str, str]:
        """The environment passed explicitly to the eventsourcing Application."""
        return eventsourcing_env(self.database_url)

    def read_model_url(self) -> str:
        """Where the views live: TRACKER_VIEWS_URL, else beside the event store (a SQLite
        file next to a SQLite store; a schema of its own in a PostgreSQL store's database)."""
        if self.views_url:
            return self.views_url
        if self.database_url.startswith("sqlite:///"):
            path = Path(sqlite_path(self.database_url))
            return f"sqlite:///{path.with_name(path.stem + '-views.sqlite')}"
        parsed = urlparse(self.database_url)
        schema = parse_qs(parsed.query).get("schema", ["public"])[0]
        query = urlencode({"schema": f"{schema}_views" if schema != "public"
                           else "tracker_views"})
        return urlunparse(parsed._replace(query=query))


def _views_path_url(env: Any) -> str | None:
    """TRACKER_VIEWS_PATH (a SQLite file), the older spelling of TRACKER_VIEWS_URL."""
    path = env.get("TRACKER_VIEWS_PATH")
    return f"sqlite:///{path}" if path else None


def _flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"TRACKER_INLINE_PROJECTION={value!r}: use 1 or 0")


def sqlite_path(url: str) -> str:
    """'sqlite:///var/x.sqlite' -> 'var/x.sqlite'; 'sqlite:////abs/x' -> '/abs/x'."""
    path = url[len("sqlite:///"):]
    if not path:
        raise ConfigurationError(f"TRACKER_DATABASE_URL {redact_url(url)!r} names no file")
    return path


def eventsourcing_env(url: str) -> dict[str, str]:
    if url.startswith("sqlite:///"):
        path = sqlite_path(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": "tracker.integrity:ChainedSQLiteApplicationRecorder",
        }
    if url.startswith(("postgresql://", "postgres://")):
        parsed = urlparse(url)
        dbname = parsed.path.lstrip("/")
        try:
            port = parsed.port or 5432
        except ValueError:
            raise ConfigurationError(f"TRACKER_DATABASE_URL {redact_url(url)!r}: the port "
                                     "is not a number") from None
        if not dbname or not parsed.hostname:
            raise ConfigurationError(
                f"TRACKER_DATABASE_URL {redact_url(url)!r} must name a host and a database, "
                "e.g. postgresql://postgres@127.0.0.1:5432/tracker"
            )
        query = parse_qs(parsed.query)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": dbname,
            "POSTGRES_HOST": parsed.hostname,
            "POSTGRES_PORT": str(port),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            # Off on purpose: the stored function path skips our chained insert.
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            "POSTGRES_LOCK_TIMEOUT": str(PG_LOCK_TIMEOUT // 1000),
            "POSTGRES_POOL_SIZE": "5",
            # Bounded waits (the pool's wait for a connection, made shorter than a whole
            # second, the connect, statement and keepalive bounds and the bounded pre-use
            # check are set on the pool by tracker.adapters.bound_postgres_pool); the
            # pool recovers by itself when the server is back.
            "POSTGRES_CONNECT_TIMEOUT": "1",
            "POSTGRES_PRE_PING": "y",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
            "APPLICATION_RECORDER_TOPIC":
                "tracker.integrity_postgres:ChainedPostgresApplicationRecorder",
        }
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"][0]
        return env
    raise ConfigurationError(
        f"TRACKER_DATABASE_URL {redact_url(url)!r} is not supported: use sqlite:///PATH "
        "or postgresql://USER@HOST:PORT/DB"
    )


@contextmanager
def postgres_setup_lock(url: str) -> Iterator[None]:
    """Serialises setting up one PostgreSQL event store (its schema, tables, functions)
    among processes starting together: each takes a session advisory lock named after the
    database and schema, creates the schema named by '?schema=' if it is missing, and
    lets the library create its tables while holding it."""
    import psycopg
    from psycopg import sql

    from tracker import deadlines

    schema = parse_qs(urlparse(url).query).get("schema", ["public"])[0]
    env = eventsourcing_env(url)
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"] or None, autocommit=True,
        **postgres_bounds(),
    ) as conn, deadlines.watching(conn):
        # lock_timeout (above) bounds the wait for another process's set-up; a request's
        # deadline, if any, bounds the rest (tracker.deadlines).
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))",
                     (f"tracker-event-store:{schema}",))
        try:
            if schema != "public":
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                    sql.Identifier(schema)))
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))",
                         (f"tracker-event-store:{schema}",))
