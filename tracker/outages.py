"""What counts as an outage: an error that means a store cannot be reached or cannot take
the work now (worth retrying later), as opposed to an error about the data itself.

One list, used by the API (JSON 503), the follower (retry with backoff) and the projector
(an outage is retried; any other failure to fold an event is recorded as a stuck fold,
see projections.runner)."""

from __future__ import annotations


def outage_types() -> tuple[type[BaseException], ...]:
    """The exception classes of an outage (imported when first asked: psycopg, SQLAlchemy
    and redis are heavy, and a command's --help needs none of them)."""
    import sqlalchemy.exc
    from eventsourcing.persistence import InterfaceError, OperationalError

    from tracker.exceptions import StoreUnavailableError

    found: tuple[type[BaseException], ...] = (
        OperationalError, InterfaceError, sqlalchemy.exc.OperationalError,
        sqlalchemy.exc.InterfaceError, sqlalchemy.exc.TimeoutError, StoreUnavailableError,
        ConnectionError, TimeoutError)
    try:
        import psycopg

        found += (psycopg.OperationalError, psycopg.InterfaceError)
    except ImportError:  # pragma: no cover - psycopg comes with eventsourcing[postgres]
        pass
    try:
        import redis

        found += (redis.ConnectionError, redis.TimeoutError)
    except ImportError:  # pragma: no cover - redis is a dependency
        pass
    return found


_TYPES: tuple[type[BaseException], ...] | None = None


def is_outage(error: BaseException) -> bool:
    """True for errors that mean a store cannot be reached (worth retrying later)."""
    global _TYPES
    if _TYPES is None:
        _TYPES = outage_types()
    return isinstance(error, _TYPES)
