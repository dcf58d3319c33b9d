"""An import's pace waits on the read model's server (embedded mode with PostgreSQL and no
Redis: a helper folds alongside). With that PostgreSQL cluster paused (SIGSTOP of its own
processes), the pace returns within a bound and raises nothing: the writes then meet the
outage themselves, as they would unpaced."""

from __future__ import annotations

import threading
import time

import pytest

from api.services import Services
from tests.conftest import base_report
from tracker.config import Settings

pytestmark = pytest.mark.fault

PACE_BOUND = 45.0  # the store's own bounds (statement timeout 30 s) and more to spare


def test_the_pace_returns_within_a_bound_while_postgres_is_paused(own_postgres):
    settings = Settings(database_url=f"{own_postgres.url}?schema=paced", inline=True)
    services = Services.from_settings(settings)
    services.tracker.record_report(base_report())
    done: list[float] = []
    errors: list[BaseException] = []
    with services.projecting_alongside() as pace:
        pace()  # the views within reach: returns at once
        own_postgres.pause()
        try:
            started = time.monotonic()

            def run() -> None:
                try:
                    pace()
                except BaseException as e:  # noqa: BLE001 - asserted below
                    errors.append(e)
                done.append(time.monotonic() - started)

            waiter = threading.Thread(target=run, daemon=True)
            waiter.start()
            waiter.join(PACE_BOUND + 5)
        finally:
            own_postgres.resume()
    services.close()
    print(f"pace returned {done[0] if done else None} s after the pause")
    assert done and done[0] <= PACE_BOUND, done
    assert errors == []
