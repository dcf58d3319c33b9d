"""Recovering without a hand: a read model that came back empty is folded again by the
supervised follower; a damaged stored event is named by its position everywhere and
touches nothing else; /healthz tells the truth about lag."""

import sqlite3
import threading

from click.testing import CliRunner

from api.cli import main
from api.follower import supervise
from api.services import Services
from bench.synthetic import synthetic_reports
from projections.readmodel.queries import open_views
from tests.conftest import drop_pg_schema
from tracker.config import Settings


def test_the_follower_refolds_a_read_model_that_came_back_empty(sqlite_database_url,
                                                                pg_views_url):
    services = Services.from_settings(Settings(database_url=sqlite_database_url,
                                               views_url=pg_views_url, inline=False))
    for report in synthetic_reports(1500, seed=2, facts_per_report=100):
        services.tracker.record_report(report)
    head = services.tracker.max_position()
    stop = threading.Event()
    follower = threading.Thread(target=supervise, args=(services, stop, 0.05))
    follower.start()
    try:
        import time

        def at_head() -> bool:
            try:
                return services.store.active_and_position()[1] >= head
            except Exception:  # noqa: BLE001 - the schema is gone for a moment
                return False

        deadline = time.monotonic() + 60
        while not at_head():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with open_views(services.store) as views:
            before = views.casualties("country")
        # The read model's schema is lost (a new server, a restore gone wrong...).
        drop_pg_schema(pg_views_url.rsplit("schema=", 1)[1])
        deadline = time.monotonic() + 60
        while not at_head():
            assert time.monotonic() < deadline, "the follower did not refold the views"
            time.sleep(0.1)
        with open_views(services.store) as views:
            assert views.casualties("country") == before
    finally:
        stop.set()
        follower.join(30)
        services.close()


def test_a_damaged_event_is_named_by_its_position_and_the_rest_keeps_working(
        seeded_api, public, app, tmp_path, monkeypatch):
    with sqlite3.connect(tmp_path / "events.sqlite") as conn:
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = 8", (b'{"broken',))
    events = public.get("/events?after=5&limit=5")
    assert events.status_code == 500
    assert "position 8" in events.json["message"]
    assert events.json["errors"] == [{"field": "position", "message": "8"}]
    assert public.get("/casualties?by=country").status_code == 200
    assert public.get("/events?after=8").status_code == 200
    monkeypatch.setenv("TRACKER_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    log = CliRunner().invoke(main, ["log", "--limit", "20"])
    assert log.exit_code == 1 and "position 8" in log.output
    assert log.exception is None or isinstance(log.exception, SystemExit)
    verify = CliRunner().invoke(main, ["verify"])
    assert verify.exit_code == 1 and "position 8" in verify.output


def test_healthz_says_degraded_when_the_views_stay_behind(app, reporter, public):
    services = app.extensions["tracker"]
    app.config.update(HEALTH_MAX_LAG=0, HEALTH_GRACE=0.0)
    services.runner.catch_up()  # the tokens' events
    assert public.get("/healthz").json["status"] == "ok"
    services.settings = Settings(database_url=services.settings.database_url, inline=False)
    assert reporter.report({"report": "r", "source": {"name": "W", "kind": "media"}, "facts": [
        {"fact": "actor", "id": "a", "name": "A", "kind": "armed_group"}]}).status_code == 201
    public.get("/healthz")  # the lag is first seen
    health = public.get("/healthz")
    assert health.status_code == 200 and health.json["status"] == "degraded"
    assert health.json["behind"]["casualties"] > 0
    services.runner.catch_up()
    assert public.get("/healthz").json["status"] == "ok"


def test_fail_fast_answers_name_the_outage_the_first_one_saw():
    """After an outage is seen, the process answers at once for a moment (FAIL_FAST),
    without waiting on the store again; those answers say what the outage was, as the
    first did (connection refused), not only that the store is unavailable."""
    from api import create_app

    app = create_app({"TESTING": True, "REDIS_URL": None,
                      "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/test"})  # refused
    try:
        client = app.test_client()
        first = client.get("/api/v1/casualties?by=country")
        assert first.status_code == 503 and "connection refused" in first.json["message"]
        for path in ("/api/v1/history/incident/x", "/api/v1/events"):
            answer = client.get(path)
            assert answer.status_code == 503, path
            assert "(connection refused)" in answer.json["message"], answer.json
    finally:
        app.extensions["tracker"].close()
