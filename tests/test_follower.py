"""Production path: PostgreSQL event store and read model, Redis as the bus, a
`tracker project --follow` process killed with SIGKILL in the middle of catching up, then
restarted."""

import os
import signal
import subprocess
import sys
import time

from api.services import Services
from bench.synthetic import synthetic_reports
from projections.readmodel.queries import open_views
from tests.conftest import redis_url
from tracker.config import Settings


def start_follower(env: dict, batch_size: int, fixed: bool = False) -> subprocess.Popen:
    """A follower; `fixed`: batches of batch_size however far behind (else they grow to
    --max-batch's default while it catches up)."""
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "project", "--follow", "--poll", "0.2",
         "--batch-size", str(batch_size),
         *(("--max-batch", str(batch_size)) if fixed else ())],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_a_follower_killed_mid_catch_up_resumes_to_a_clean_rebuild(pg_database_url, redis_prefix):
    settings = Settings(database_url=pg_database_url, redis_url=redis_url(),
                        redis_prefix=redis_prefix)
    assert not settings.inline_projection
    services = Services.from_settings(settings)
    for report in synthetic_reports(4000, seed=3):
        services.record_report(report, recorded_by="test")
    head = services.tracker.max_position()
    env = {**os.environ, "TRACKER_DATABASE_URL": pg_database_url,
           "TRACKER_REDIS_URL": redis_url(), "TRACKER_REDIS_PREFIX": redis_prefix}
    store = services.store

    def position() -> int:
        return store.active_and_position()[1]

    # Kill the follower while it is part-way through the log.
    follower = start_follower(env, batch_size=25, fixed=True)
    try:
        wait_until(lambda: position() > 200, 60, "the follower to start folding")
    finally:
        follower.send_signal(signal.SIGKILL)
        follower.wait(10)
    killed_at = position()
    assert 0 < killed_at < head, (killed_at, head)

    # Restart: it resumes from its tracking position (far behind: in larger batches) and
    # follows new writes too.
    follower = start_follower(env, batch_size=1000)
    try:
        wait_until(lambda: position() >= head, 60, "the restarted follower to catch up")
        services.record_report({"report": "after-restart", "source": {"name": "Wire",
                                                                       "kind": "media"},
                                "facts": [{"fact": "casualties", "incident": "syn-inc-1",
                                           "killed": 99}]}, recorded_by="test")
        new_head = services.tracker.max_position()
        wait_until(lambda: position() >= new_head, 30, "the follower to see a new report")
    finally:
        follower.send_signal(signal.SIGTERM)
        follower.wait(10)
    assert follower.returncode == 0, follower.stderr.read().decode() if follower.stderr else ""

    # The views equal a clean rebuild from the log, row for row.
    with open_views(store) as views:
        live = views.casualties("admin1")
    assert services.runner.verify() == []
    services.runner.rebuild()
    with open_views(store) as views:
        assert views.casualties("admin1") == live
    services.close()
