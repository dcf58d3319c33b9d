"""Checkpoints, proofs and citations while PostgreSQL is down: a JSON 503, never a 500 or
a hang; back to normal by themselves when it returns."""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import Production, http, wait_until
from tests.faults.test_outages import env_for

pytestmark = pytest.mark.fault

ROUTES = ("/checkpoint", "/checkpoints", "/proof/inclusion?position=3",
          "/proof/consistency?from=2", "/cite?view=casualties&by=country&key=Mali")


def test_transparency_routes_answer_503_while_postgres_is_down(own_postgres, own_redis,
                                                               tmp_path):
    env = env_for(f"{own_postgres.url}?schema=tracker", own_redis.url)
    prod = Production(env)
    assert prod.cli("seed").returncode == 0
    assert prod.cli("keygen", "--out", str(tmp_path)).returncode == 0
    prod.env["TRACKER_SIGNING_KEY"] = str(tmp_path / "tracker.key")
    signed = prod.cli("checkpoint")
    assert signed.returncode == 0, signed.stderr
    prod.start()
    try:
        for route in ROUTES:
            status, body, _ = http("GET", f"{prod.base}{route}")
            assert status == 200, (route, body)
        own_postgres.stop()
        for route in ROUTES:
            status, body, seconds = http("GET", f"{prod.base}{route}")
            assert status == 503 and body["code"] == 503 and seconds < 20, (route, status,
                                                                           body)
        time.sleep(5)
        own_postgres.start()

        def back() -> bool:
            return all(http("GET", f"{prod.base}{route}")[0] == 200 for route in ROUTES)

        wait_until(back, 30, "the transparency routes to answer again", every=0.5)
    finally:
        prod.stop()
