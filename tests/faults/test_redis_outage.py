"""Redis paused (SIGSTOP: it accepts connections and never answers) under gunicorn and a
follower: after one slow answer per worker (the call that waits out the 2 s socket
timeout), reads, writes and /healthz answer at normal speed from the read model, the
cache and the notifications skipped (projections.notify.Breaker); once Redis answers
again, each worker uses the cache again within REDIS_RETRY seconds of its next request.
The bounds are hang guards, far above what a healthy read takes, not benchmarks."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import redis

from projections.notify import REDIS_RETRY
from tests.faults.conftest import report, wait_until
from tests.faults.test_bounds import call
from tests.faults.test_outages import caught_up, env_for, started

pytestmark = pytest.mark.fault

WORKERS = 2        # Production's gunicorn workers: each finds the outage once
QUICK = 1.0        # an answer that waited on no Redis timeout
SLOW_BOUND = 5.0   # the one answer per worker that meets the outage (a 2 s socket timeout)
URL = "/casualties?by=country"


def niger(body: dict[str, Any]) -> int:
    return {r["key"]: r["killed"]["best"] for r in body["rows"]}["Niger"]


def test_a_paused_redis_costs_one_slow_answer_per_worker_then_none(pg_database_url,
                                                                   own_redis):
    prod, token = started(env_for(pg_database_url, own_redis.url))
    cache = redis.Redis.from_url(own_redis.url, socket_timeout=5)
    try:
        status, body, _, _ = call("POST", f"{prod.base}/reports", report(1, 7), token)
        assert status == 201
        wait_until(lambda: caught_up(prod, body["positions"][-1]), 20, "the views")
        assert call("GET", f"{prod.base}{URL}")[0] == 200

        own_redis.pause()
        timings: list[tuple[str, float]] = []
        for _ in range(10):
            status, body, _, seconds = call("GET", f"{prod.base}{URL}")
            assert status == 200 and niger(body) == 7, (status, body)
            timings.append(("read", seconds))
        for n in (2, 3, 4):  # a write's notification is skipped too
            status, body, _, seconds = call("POST", f"{prod.base}/reports", report(n, 1),
                                            token)
            assert status == 201, body
            timings.append(("write", seconds))
        status, health, _, seconds = call("GET", f"{prod.base}/healthz")
        timings.append(("healthz", seconds))
        assert status == 200 and health["status"] == "degraded", health
        assert health["redis"]["ok"] is False, health
        slow = [t for t in timings if t[1] >= QUICK]
        assert len(slow) <= WORKERS and max(s for _, s in timings) < SLOW_BOUND, timings

        # The tester's burst: 24 reads at once took 12-20 s each, waiting on Redis in turn.
        burst: list[float] = []

        def read() -> None:
            status, _, _, seconds = call("GET", f"{prod.base}/incidents?limit=5")
            assert status == 200
            burst.append(seconds)

        threads = [threading.Thread(target=read) for _ in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(burst) == 24 and max(burst) < SLOW_BOUND, sorted(burst)
        written = body["positions"][-1]
        wait_until(lambda: caught_up(prod, written), 20, "the views, Redis still paused")

        # Back: each worker tries Redis again at its first request REDIS_RETRY seconds
        # after its last try, and serves from the cache again. A cached answer doctored
        # here comes back: the cache is read, not only written.
        own_redis.resume()

        def served_from_cache() -> bool:
            status, body, headers, _ = call("GET", f"{prod.base}{URL}")
            assert status == 200
            key = f"fault:log:resp:{headers['ETag']}"
            doctored = {**body, "rows": [{**r, "killed": {**r["killed"], "best": 424242}}
                                         for r in body["rows"]]}
            cache.set(key, json.dumps(doctored), ex=60)
            return all(niger(call("GET", f"{prod.base}{URL}")[1]) == 424242
                       for _ in range(2 * WORKERS + 2))

        wait_until(served_from_cache, 4 * REDIS_RETRY, "the cache to be used again",
                   every=0.5)
        health = call("GET", f"{prod.base}/healthz")[1]
        assert health["redis"] == {"ok": True}, health
        assert prod.alive()
    finally:
        own_redis.resume()
        cache.close()
        prod.stop()
