"""The production path under outages, on real servers of the tests' own: Redis paused and
restarted empty, PostgreSQL stopped and started, six processes starting together."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from tests.faults.conftest import ROOT, Production, http, report, wait_until

pytestmark = pytest.mark.fault


def env_for(database_url: str, redis: str | None, prefix: str = "fault") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(TRACKER_DATABASE_URL=database_url, TRACKER_REDIS_PREFIX=prefix,
               TRACKER_MIN_POSITION_TIMEOUT="10")
    if redis:
        env["TRACKER_REDIS_URL"] = redis
    else:
        env["TRACKER_INLINE_PROJECTION"] = "0"
    return env


def started(env: dict[str, str]) -> tuple[Production, str]:
    prod = Production(env)
    assert prod.cli("seed").returncode == 0
    made = prod.cli("token", "create", "--role", "reporter", "--name", "fault-reporter")
    assert made.returncode == 0, made.stderr
    prod.start()
    return prod, made.stdout.strip()


def caught_up(prod: Production, position: int) -> bool:
    status, _, _ = http("GET", f"{prod.base}/casualties?by=country&min_position={position}")
    return status == 200


def test_redis_paused_then_restarted_empty_degrades_and_recovers(pg_database_url, own_redis):
    prod, token = started(env_for(pg_database_url, own_redis.url))
    try:
        status, body, _ = http("POST", f"{prod.base}/reports", report(1, 7), token)
        assert status == 201
        wait_until(lambda: caught_up(prod, body["positions"][-1]), 20, "the views")

        # A hang, not a crash: reads bypass the cache, writes still land.
        own_redis.pause()
        status, body, seconds = http("GET", f"{prod.base}/casualties?by=country")
        assert seconds < 10 and (status == 200 or (status == 503 and body["code"] == 503))
        if status == 200:
            assert {r["key"]: r["killed"]["best"] for r in body["rows"]}["Niger"] == 7
        status, written, seconds = http("POST", f"{prod.base}/reports", report(2, 5), token)
        assert status == 201 and seconds < 10
        own_redis.resume()
        wait_until(lambda: caught_up(prod, written["positions"][-1]), 20, "the views")
        _, body, _ = http("GET", f"{prod.base}/casualties?by=country")
        assert {r["key"]: r["killed"]["best"] for r in body["rows"]}["Niger"] == 12
        assert prod.alive()

        # Restarted empty: nothing to repair by hand; answers stay correct.
        own_redis.stop()
        own_redis.start()
        _, body, _ = http("GET", f"{prod.base}/casualties?by=country")
        assert {r["key"]: r["killed"]["best"] for r in body["rows"]}["Niger"] == 12
        status, written, _ = http("POST", f"{prod.base}/reports", report(3, 1), token)
        assert status == 201
        wait_until(lambda: caught_up(prod, written["positions"][-1]), 20, "the views")
        _, body, _ = http("GET", f"{prod.base}/casualties?by=country")
        assert {r["key"]: r["killed"]["best"] for r in body["rows"]}["Niger"] == 13
        health = http("GET", f"{prod.base}/healthz")[1]
        assert health["status"] == "ok" and health["redis"]["ok"]
        assert prod.alive()
    finally:
        prod.stop()


def test_postgres_down_then_back_answers_503_then_recovers_by_itself(own_postgres, own_redis):
    prod, token = started(env_for(f"{own_postgres.url}?schema=tracker", own_redis.url))
    try:
        status, body, _ = http("POST", f"{prod.base}/reports", report(1, 4), token)
        assert status == 201

        own_postgres.stop()
        status, body, seconds = http("POST", f"{prod.base}/reports", report(2, 6), token)
        assert status == 503 and body["code"] == 503 and seconds < 20, (status, body)
        health_status, health, _ = http("GET", f"{prod.base}/healthz")
        assert health_status == 503 and health["status"] == "unavailable"
        time.sleep(5)
        own_postgres.start()

        def written() -> dict | None:
            status, body, _ = http("POST", f"{prod.base}/reports", report(2, 6), token)
            return body if status in (200, 201) else None

        body = wait_until(written, 20, "writes to succeed again", every=0.5)
        wait_until(lambda: caught_up(prod, max(body["positions"] or [0])), 20, "the views")
        _, tally, _ = http("GET", f"{prod.base}/casualties?by=country")
        assert {r["key"]: r["killed"]["best"] for r in tally["rows"]}["Niger"] == 10
        assert prod.alive(), "no process had to be restarted"
    finally:
        prod.stop()
    verify = prod.cli("verify")
    assert verify.returncode == 0, verify.stderr
    rebuilt = prod.cli("rebuild", "--verify")
    assert rebuilt.returncode == 0, rebuilt.stderr


def test_six_processes_starting_together_on_a_fresh_schema_all_succeed(pg_database_url):
    env = env_for(pg_database_url, None)
    barrier = threading.Barrier(6)
    results: list[subprocess.CompletedProcess[str]] = []

    def run(args: list[str]) -> None:
        barrier.wait()
        results.append(subprocess.run([sys.executable, "-m", "api.cli", *args], env=env,
                                      cwd=ROOT, capture_output=True, text=True, timeout=120))

    commands = [["seed"], ["seed"], ["project"], ["project"], ["query", "casualties", "--by",
                                                              "country", "--json"], ["verify"]]
    threads = [threading.Thread(target=run, args=(c,)) for c in commands]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert [r.returncode for r in results] == [0] * 6, [r.stderr[-500:] for r in results]
    # The projectors may have run before the seeds landed: one more catch-up, then read.
    subprocess.run([sys.executable, "-m", "api.cli", "project"], env=env, cwd=ROOT,
                   check=True, capture_output=True, timeout=60)
    final = subprocess.run([sys.executable, "-m", "api.cli", "query", "casualties", "--by",
                            "country", "--json"], env=env, cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
    assert '"best": 35' in final.stdout
