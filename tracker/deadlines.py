"""Deadlines for waits on PostgreSQL that no timeout of the server's can end.

A paused server (SIGSTOP, a stalled disk) keeps its sockets open and its kernel answers TCP
and keepalives, so `statement_timeout` (the server's own clock), TCP keepalives and
`tcp_user_timeout` never fire, and libpq has no client-side timeout for a query. The one
bound that holds whatever the server does is the client's own: a watchdog thread shuts the
socket of a connection whose holder's deadline has passed (shutdown(2), never close: the
driver still owns the descriptor), so the blocked call fails at once with the driver's
"connection lost" error, the pool drops that connection, and the caller answers 503.

A thread sets its deadline (`bounded`, or `start`/`clear` around a request); connections
are watched while a thread holds them (`watch`/`unwatch`, or `watching` with an extra bound
of its own, e.g. the pre-use check). Without a deadline nothing is watched: the CLI and the
follower wait as long as their work takes.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)
TICK = 0.05


class _Box:
    """One thread's deadline (read by the watchdog thread too) and whether it fired."""

    __slots__ = ("deadline", "fired")

    def __init__(self) -> None:
        self.deadline: float | None = None
        self.fired = False


_local = threading.local()


def _box() -> _Box:
    box = getattr(_local, "box", None)
    if box is None:
        box = _local.box = _Box()
    return box


def start(seconds: float | None) -> None:
    """This thread's work must end within `seconds` (None: no deadline)."""
    box = _box()
    box.deadline = None if seconds is None else time.monotonic() + seconds
    box.fired = False


def clear() -> None:
    start(None)


def remaining() -> float | None:
    """Seconds left before this thread's deadline (None: no deadline)."""
    deadline = _box().deadline
    return None if deadline is None else deadline - time.monotonic()


def expired() -> bool:
    left = remaining()
    return left is not None and left <= 0


def timed_out() -> bool:
    """True once the watchdog cut one of this thread's connections (since `start`)."""
    return _box().fired


@contextmanager
def bounded(seconds: float, fresh: bool = False) -> Iterator[None]:
    """Within the block, this thread's deadline is at most `seconds` away (`fresh`: exactly
    `seconds` away, whatever the enclosing deadline was)."""
    box = _box()
    previous = box.deadline
    new = time.monotonic() + seconds
    box.deadline = new if fresh or previous is None else min(previous, new)
    try:
        yield
    finally:
        box.deadline = previous


class _Watchdog:
    """Shuts the sockets of watched connections whose deadline passed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._watched: dict[int, tuple[Any, _Box, float | None]] = {}
        self._next = 0
        self._thread: threading.Thread | None = None

    def add(self, conn: Any, limit: float | None) -> int | None:
        box = _box()
        own = None if limit is None else time.monotonic() + limit
        if box.deadline is None and own is None:
            return None
        with self._lock:
            self._next += 1
            token = self._next
            self._watched[token] = (conn, box, own)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="tracker-deadlines",
                                                daemon=True)
                self._thread.start()
            self._wake.notify()
        return token

    def remove(self, token: int | None) -> bool:
        """Stops watching; True if the watch had fired."""
        if token is None:
            return False
        with self._lock:
            return self._watched.pop(token, None) is None

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._watched:
                    self._wake.wait()
                now = time.monotonic()
                for token, (conn, box, own) in list(self._watched.items()):
                    limits = [d for d in (box.deadline, own) if d is not None]
                    if limits and now >= min(limits):
                        # Under the lock: the holder cannot hand the connection back (and
                        # its descriptor be reused) while it is being shut.
                        del self._watched[token]
                        box.fired = True
                        _shut(conn)
            time.sleep(TICK)


def _shut(conn: Any) -> None:
    try:
        fd = conn.fileno()
        dup = socket.socket(fileno=os.dup(fd))
    except Exception:  # noqa: BLE001 - already closed: nothing to cut
        return
    try:
        dup.shutdown(socket.SHUT_RDWR)
        log.warning("a PostgreSQL call passed its deadline: its connection was cut")
    except OSError:
        pass
    finally:
        dup.close()


_watchdog = _Watchdog()


def watch(conn: Any, limit: float | None = None) -> int | None:
    """Watches `conn` (anything with fileno(): a psycopg connection) against this thread's
    deadline and, if given, `limit` seconds from now; returns a token for `unwatch`."""
    return _watchdog.add(conn, limit)


def unwatch(token: int | None) -> bool:
    """Stops watching; True if the deadline had passed and the connection was cut."""
    return _watchdog.remove(token)


@contextmanager
def watching(conn: Any, limit: float | None = None) -> Iterator[None]:
    token = watch(conn, limit)
    try:
        yield
    finally:
        unwatch(token)
