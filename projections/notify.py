"""Waking followers when the log grows: PostgreSQL LISTEN/NOTIFY on the event store's
channel, Redis pub/sub, or polling. Each waiter is `wait(stop, timeout)`: it returns when
the log may have grown, or when the timeout passes. Waiters never raise on an outage of
what they listen to: they fall back to waiting out the timeout, and the follower's catch-up
(which reads the log itself) decides what happened."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracker.application import ConflictTracker

log = logging.getLogger(__name__)

Waiter = Callable[[threading.Event, float], None]


def poll(stop: threading.Event, timeout: float) -> None:
    stop.wait(timeout)


# After a Redis timeout or connection error, a process leaves Redis alone this long (the
# cache is bypassed, notifications are not sent, waiters poll), then tries it again with
# one quick PING; until it answers, again every REDIS_RETRY seconds.
REDIS_RETRY = 5.0
# The PING that tries Redis again during an outage waits at most this, connecting and
# answering each (a paused server accepts the connection and never answers).
PROBE_TIMEOUT = 0.25


def is_redis_outage(error: BaseException) -> bool:
    """A timeout or a lost connection: Redis is away, not refusing one command."""
    import redis

    return isinstance(error, redis.ConnectionError | redis.TimeoutError | OSError)


class Breaker:
    """A circuit breaker: closed while Redis answers; open for `retry` seconds after a
    timeout or a connection error (calls are skipped at once instead of each waiting out
    the socket timeout); then one caller, and only one, tries again. Each outage is
    logged once by each process: when it is first seen, and when Redis is back."""

    def __init__(self, retry: float = REDIS_RETRY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.retry = retry
        self.clock = clock
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._retry_at = 0.0
        self.cause: str | None = None

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def retry_in(self) -> float:
        return max(0.0, self._retry_at - self.clock()) if self.down else 0.0

    def try_again(self) -> bool:
        """During an outage: True for the one caller that may try Redis now (once every
        `retry` seconds), False for every other."""
        with self._lock:
            if self._down_since is None:
                return True
            now = self.clock()
            if now < self._retry_at:
                return False
            self._retry_at = now + self.retry
            return True

    def failed(self, error: BaseException, what: str) -> None:
        with self._lock:
            first = self._down_since is None
            now = self.clock()
            if first:
                self._down_since = now
            self._retry_at = now + self.retry
            self.cause = type(error).__name__
        if first:
            log.warning("redis unavailable (%s on %s): the response cache is bypassed and "
                        "no notification is sent; trying again every %gs", self.cause, what,
                        self.retry)

    def succeeded(self) -> None:
        with self._lock:
            since, self._down_since, self.cause = self._down_since, None, None
        if since is not None:
            log.warning("redis answers again after %.1fs: the response cache is used again",
                        self.clock() - since)


class RedisBus:
    """Pub/sub on `{prefix}:log`: writers publish the head position, followers wake; and
    the shared response cache (`get`, `set`).

    Redis is only a cache and a bus: no method raises, and none waits on a Redis that is
    away. The first call that times out or loses its connection (each waits at most the
    socket timeout, 2 s) opens the breaker: for REDIS_RETRY seconds every call is skipped
    at once (a miss, nothing sent, a poll), then one quick PING tries Redis again."""

    def __init__(self, url: str, prefix: str, retry: float = REDIS_RETRY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        import redis

        self.client: Any = redis.Redis.from_url(url, socket_connect_timeout=1,
                                                socket_timeout=2)
        self._probe: Any = redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT,
                                                socket_timeout=PROBE_TIMEOUT)
        self.channel = f"{prefix}:log"
        self.breaker = Breaker(retry, clock)
        self._pubsub: Any = None

    def available(self, now: bool = False) -> bool:
        """Whether to call Redis now: yes while it answers; during an outage no, except
        once every REDIS_RETRY seconds (or at once, `now`), when a PING bounded by
        PROBE_TIMEOUT decides."""
        if not self.breaker.down:
            return True
        if not (self.breaker.try_again() or now):
            return False
        try:
            self._probe.ping()
        except Exception as e:  # noqa: BLE001 - still away: the breaker stays open
            self.breaker.failed(e, "ping")
            return False
        self.breaker.succeeded()
        return True

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        """`call()`'s result, or None when Redis is skipped or the call failed."""
        if not self.available():
            return None
        try:
            return call()
        except Exception as e:  # noqa: BLE001 - the cache and the bus are best effort
            if is_redis_outage(e):
                self.breaker.failed(e, what)
            else:
                log.warning("redis %s failed (%s)", what, type(e).__name__)
            return None

    def get(self, key: str) -> bytes | None:
        """The cached value, or None (a miss, or Redis away)."""
        return self._call("get", lambda: self.client.get(key))  # type: ignore[no-any-return]

    def set(self, key: str, value: bytes, ttl: int) -> None:
        self._call("set", lambda: self.client.set(key, value, ex=ttl))

    def publish(self, position: int) -> None:
        """Wakes the followers; skipped while Redis is away (they poll or LISTEN)."""
        self._call("publish", lambda: self.client.publish(self.channel, str(position)))

    def wait(self, stop: threading.Event, timeout: float) -> None:
        if not self.available():
            stop.wait(timeout)
            return
        try:
            if self._pubsub is None:
                self._pubsub = self.client.pubsub(ignore_subscribe_messages=True)
                self._pubsub.subscribe(self.channel)
            self._pubsub.get_message(timeout=timeout)
        except Exception as e:  # noqa: BLE001 - fall back to polling this round
            if is_redis_outage(e):
                self.breaker.failed(e, "subscribe")
            else:
                log.warning("redis subscribe failed (%s); polling", type(e).__name__)
            with contextlib.suppress(Exception):  # closing a broken connection
                self._pubsub.close()
            self._pubsub = None
            stop.wait(timeout)

    def ping(self) -> bool:
        return bool(self._call("ping", self.client.ping))

    def health(self) -> dict[str, Any]:
        """What /healthz says of Redis: `ok`, and while it is away the cause and when the
        cache tries it again. During an outage it asks Redis at once, with the bounded
        PING (a health check sees Redis back as soon as it is, and brings the cache back
        with it), never waiting out the socket timeout again."""
        if self.available(now=True) and self.ping():
            return {"ok": True}
        out: dict[str, Any] = {"ok": False}
        if self.breaker.down:
            out.update(error=self.breaker.cause, retry_in=round(self.breaker.retry_in(), 1))
        return out

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken connection
            if self._pubsub is not None:
                self._pubsub.close()
        for client in (self.client, self._probe):
            with contextlib.suppress(Exception):
                client.close()


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
