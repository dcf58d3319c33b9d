"""Waking followers when the log grows: PostgreSQL LISTEN/NOTIFY on the event store's
channel, Redis pub/sub, or polling. Each waiter is `wait(stop, timeout)`: it returns when
the log may have grown, or when the timeout passes. Waiters never raise on an outage of
what they listen to: they fall back to waiting out the timeout, and the follower's catch-up
(which reads the log itself) decides what happened."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracker.application import ConflictTracker

log = logging.getLogger(__name__)

Waiter = Callable[[threading.Event, float], None]


def poll(stop: threading.Event, timeout: float) -> None:
    stop.wait(timeout)


class RedisBus:
    """Pub/sub on `{prefix}:log`: writers publish the head position, followers wake."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.client: Any = redis.Redis.from_url(url, socket_connect_timeout=1,
                                                socket_timeout=2)
        self.channel = f"{prefix}:log"
        self._pubsub: Any = None

    def publish(self, position: int) -> None:
        try:
            self.client.publish(self.channel, str(position))
        except Exception as e:  # noqa: BLE001 - notifications are best effort
            log.warning("redis publish failed (%s); followers will poll", type(e).__name__)

    def wait(self, stop: threading.Event, timeout: float) -> None:
        try:
            if self._pubsub is None:
                self._pubsub = self.client.pubsub(ignore_subscribe_messages=True)
                self._pubsub.subscribe(self.channel)
            self._pubsub.get_message(timeout=timeout)
        except Exception as e:  # noqa: BLE001 - fall back to polling this round
            log.warning("redis subscribe failed (%s); polling", type(e).__name__)
            self._pubsub = None
            stop.wait(timeout)

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except Exception:  # noqa: BLE001 - unreachable is the answer
            return False

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken connection
            if self._pubsub is not None:
                self._pubsub.close()
            self.client.close()


class PostgresListener:
    """LISTEN on the event store's channel (the library NOTIFYs on every insert)."""

    def __init__(self, tracker: ConflictTracker) -> None:
        recorder = tracker.recorder
        self.channel = recorder.channel_name  # type: ignore[attr-defined]
        self.params = dict(recorder.datastore.pool.kwargs)  # type: ignore[attr-defined]
        self.params.pop("row_factory", None)
        self.params["connect_timeout"] = 5
        self.conn: Any = None

    def wait(self, stop: threading.Event, timeout: float) -> None:
        import psycopg
        from psycopg import sql

        try:
            if self.conn is None:
                self.conn = psycopg.connect(**self.params, autocommit=True)
                self.conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            for _ in self.conn.notifies(timeout=timeout, stop_after=1):
                break
        except psycopg.Error as e:
            log.warning("LISTEN failed (%s); polling", type(e).__name__)
            self.close()
            stop.wait(timeout)

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self.conn.close()
            self.conn = None


def waiter_for(tracker: ConflictTracker, bus: RedisBus | None) -> tuple[Waiter, Callable[[], None]]:
    """The best waiter available, and how to close it."""
    if getattr(tracker.recorder, "channel_name", None):
        listener = PostgresListener(tracker)
        return listener.wait, listener.close
    if bus is not None:
        return bus.wait, lambda: None
    return poll, lambda: None
