"""Redis is a cache and a bus: after a timeout or a lost connection a process stops asking
it (projections.notify.Breaker) and tries it again once every REDIS_RETRY seconds, with a
PING bounded by PROBE_TIMEOUT; each outage is logged once. On a fake client and a fake
clock: which calls reach Redis, and what is logged. (tests/faults/test_redis_outage.py
holds the same on a paused redis-server, through gunicorn.)"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
import redis

from projections.notify import PROBE_TIMEOUT, REDIS_RETRY, RedisBus


class FakeRedis:
    """Counts the calls that reach it; raises `error` while it is set."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.error: Exception | None = None
        self.data: dict[str, bytes] = {}

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.error is not None:
            raise self.error

    def get(self, key: str) -> bytes | None:
        self._call("get")
        return self.data.get(key)

    def set(self, key: str, value: bytes, ex: int) -> bool:
        self._call("set")
        self.data[key] = value
        return True

    def publish(self, channel: str, message: str) -> int:
        self._call("publish")
        return 0

    def ping(self) -> bool:
        self._call("ping")
        return True

    def pubsub(self, **_: Any) -> Any:
        self._call("pubsub")
        raise AssertionError("not reached in these tests")

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def bus() -> tuple[RedisBus, FakeRedis, FakeRedis, Clock]:
    clock = Clock()
    made = RedisBus("redis://127.0.0.1:1/0", "t", clock=clock)  # connects on first use only
    made.client, made._probe = FakeRedis(), FakeRedis()
    return made, made.client, made._probe, clock


def use(bus: RedisBus) -> None:
    """A read (cache get and put), a write's notification, a /healthz."""
    bus.get("k")
    bus.set("k", b"v", 300)
    bus.publish(7)
    bus.ping()


def test_after_a_timeout_redis_is_left_alone_then_tried_again_once(bus, caplog):
    bus, client, probe, clock = bus
    assert REDIS_RETRY > 0 and 0 < PROBE_TIMEOUT <= 0.5
    caplog.set_level(logging.WARNING, logger="projections.notify")
    use(bus)
    assert client.calls == ["get", "set", "publish", "ping"]

    client.calls.clear()
    client.error = probe.error = redis.TimeoutError("Timeout reading from socket")
    assert bus.get("k") is None  # the one call that waits out the socket timeout
    for _ in range(50):  # every later call is skipped at once, whatever it is
        use(bus)
        stop = threading.Event()
        stop.set()
        bus.wait(stop, 0.01)  # polls: no subscription to a Redis that is away
    assert client.calls == ["get"] and probe.calls == []
    # /healthz asks at once, with the bounded PING only.
    assert bus.health() == {"ok": False, "error": "TimeoutError", "retry_in": REDIS_RETRY}
    assert client.calls == ["get"] and probe.calls == ["ping"]
    probe.calls.clear()

    # After REDIS_RETRY seconds, one PING (bounded by PROBE_TIMEOUT) tries again: still
    # away, so the calls are skipped again for REDIS_RETRY seconds.
    clock.now += REDIS_RETRY
    use(bus)
    use(bus)
    assert client.calls == ["get"] and probe.calls == ["ping"]

    # Back: the next try finds it, and every call goes through again.
    client.error = probe.error = None
    clock.now += REDIS_RETRY / 2
    use(bus)
    assert client.calls == ["get"]
    clock.now += REDIS_RETRY / 2
    use(bus)
    assert client.calls == ["get", "get", "set", "publish", "ping"]
    assert probe.calls == ["ping", "ping"]
    assert bus.health() == {"ok": True}

    # Down again: a health check that finds Redis back brings the cache back at once.
    client.error = probe.error = redis.TimeoutError("Timeout reading from socket")
    bus.ping()
    assert bus.health()["ok"] is False
    client.error = probe.error = None
    assert bus.health() == {"ok": True}
    client.calls.clear()
    use(bus)
    assert client.calls == ["get", "set", "publish", "ping"]

    # One line when the outage is seen, one when it is over: not one per call.
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4, lines
    assert lines[0].startswith("redis unavailable (TimeoutError on get)")
    assert lines[1].startswith("redis answers again after 10.0s")
    assert lines[2].startswith("redis unavailable (TimeoutError on ping)")
    assert lines[3].startswith("redis answers again after 0.0s")


def test_a_lost_connection_opens_the_breaker_too(bus):
    bus, client, probe, clock = bus
    client.error = redis.ConnectionError("Error 111 connecting: Connection refused")
    bus.publish(3)
    use(bus)
    assert client.calls == ["publish"]


def test_only_one_caller_tries_redis_again(bus):
    """Many threads after the wait: one PING, the others skip at once."""
    bus, client, probe, clock = bus
    client.error = probe.error = redis.TimeoutError("Timeout reading from socket")
    bus.get("k")
    clock.now += REDIS_RETRY
    barrier = threading.Barrier(8)

    def read() -> None:
        barrier.wait()
        bus.get("k")

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert probe.calls == ["ping"] and client.calls == ["get"]


def test_an_error_that_is_not_an_outage_does_not_stop_the_cache(bus, caplog):
    """Redis refusing one command (out of memory, a wrong type) is not Redis away."""
    bus, client, probe, clock = bus
    client.error = redis.ResponseError("OOM command not allowed when used memory > 'maxmemory'")
    bus.set("k", b"v", 300)
    client.error = None
    assert bus.get("k") is None
    assert client.calls == ["set", "get"] and probe.calls == []
    assert "redis set failed (ResponseError)" in caplog.text
