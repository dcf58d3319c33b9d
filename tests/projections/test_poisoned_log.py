"""A poisoned log never stops the views for good: an event already stored that cannot be
folded (a store written before the format's limits) stops the views just before it —
never skipping it — the failure is recorded and named (/healthz, verify), and an
administrator's quarantine decision, itself an event, lets the views go on."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from projections.readmodel.queries import open_views
from projections.readmodel.store import ReadModelStore
from projections.runner import Projector
from tests.conftest import base_report
from tracker import fields as tf
from tracker.config import Settings
from tracker.exceptions import FoldStuckError, QuarantineError

# Past a 64-bit column on both backends (SQLite: OverflowError; PostgreSQL: out of range).
POISON = 2**63


def poisoned_report(report_id: str, monkeypatch) -> dict:
    """A report as a store written before the limits could hold: a figure past 64 bits."""
    monkeypatch.setattr(tf, "MAX_COUNT", 2**70)
    r = base_report(report_id, published="2020-11-14")
    r["facts"] = [{"fact": "casualties", "incident": "niaki", "killed": POISON}]
    return r


def good(report_id: str, killed: int) -> dict:
    return {"report": report_id, "source": {"name": f"src {report_id}", "kind": "media",
                                            "published": "2020-11-15"},
            "facts": [{"fact": "incident", "id": report_id, "date": "2020-11-12",
                       "type": "battle", "location": {"name": "X", "country": "Niger"}},
                      {"fact": "casualties", "incident": report_id, "killed": killed}]}


@pytest.fixture
def store(database_url):
    s = ReadModelStore(Settings(database_url=database_url).read_model_url())
    yield s
    s.close()


def niger(store) -> int:
    with open_views(store) as views:
        rows = {r["key"]: r["killed"]["best"] for r in views.casualties("country")["rows"]}
    return rows.get("Niger", 0)


def test_the_views_stop_before_a_poisoned_event_name_it_and_go_on_once_it_is_set_aside(
        database_url, make_tracker, store, monkeypatch):
    tracker = make_tracker(database_url)
    tracker.record_report(base_report("r1"))
    tracker.record_report(good("g1", 3))
    bad = tracker.record_report(poisoned_report("bad", monkeypatch)).positions
    monkeypatch.undo()
    tracker.record_report(good("g2", 4))
    head = tracker.max_position()

    runner = Projector(tracker, store, batch_size=1000)
    runner.catch_up()  # one batch holds all four reports: the good ones before land
    gen = store.ensure_active()
    assert store.position(gen) == bad[0] - 1
    failure = store.failure()
    assert failure is not None
    assert (failure["position"], failure["last"], failure["report"]) == (bad[0], bad[-1], "bad")
    assert "CasualtiesReported" in failure["events"] and failure["reason"]
    assert niger(store) == 3

    # Tried again (not folded past, never skipped), and a rebuild refuses to activate a
    # generation that stopped short, leaving the active views as they were.
    runner._stuck.clear()
    runner.catch_up()
    assert store.position(gen) == bad[0] - 1 and store.failure()["attempts"] == 2
    with pytest.raises(FoldStuckError, match=f"positions? {bad[0]}"):
        Projector(tracker, store).rebuild()
    assert store.active() == gen and store.position(gen) == bad[0] - 1

    # The way out: set the report's events aside (an event in the log, with its reason).
    with pytest.raises(QuarantineError):
        tracker.quarantine([head + 5], "nope")
    assert tracker.quarantine(bad, "figure past 64 bits, from an old store") == bad
    assert tracker.quarantined() == dict.fromkeys(bad, "figure past 64 bits, from an old store")
    runner.catch_up()
    assert store.position(gen) == tracker.max_position()
    assert store.failure() is None
    assert niger(store) == 7
    # The poisoned events are still in the log, and a rebuild agrees with the views.
    assert tracker.list_events(after=bad[0] - 1, limit=1)["events"][0]["position"] == bad[0]
    runner.rebuild()
    assert niger(store) == 7 and runner.verify() == []


def test_a_stuck_fold_is_named_by_healthz_and_verify(tmp_path, monkeypatch):
    from api import create_app

    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    app = create_app({"TESTING": True, "DATABASE_URL": url, "REDIS_URL": None})
    services = app.extensions["tracker"]
    try:
        tracker = services.tracker
        tracker.record_report(base_report("r1"))
        bad = tracker.record_report(poisoned_report("bad", monkeypatch)).positions
        monkeypatch.undo()
        services.after_write()  # the inline projection stops before it, without raising

        body = app.test_client().get("/api/v1/healthz").get_json()
        assert body["status"] == "degraded"
        assert body["stuck"]["position"] == bad[0] and body["stuck"]["report"] == "bad"
        assert f"tracker quarantine {bad[0]}" in body["stuck"]["message"]

        env = {"TRACKER_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
        run = subprocess.run([sys.executable, "-m", "api.cli", "verify"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 1
        assert f"views STUCK: the views cannot fold the events at positions {bad[0]}" in (
            run.stderr), run.stderr
        assert "Traceback" not in run.stderr

        spans = f"{bad[0]}-{bad[-1]}" if len(bad) > 1 else str(bad[0])
        run = subprocess.run([sys.executable, "-m", "api.cli", "quarantine", spans,
                              "--reason", "old store"], env=env, capture_output=True,
                             text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        run = subprocess.run([sys.executable, "-m", "api.cli", "verify"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert "set aside from the views" in run.stderr
        body = app.test_client().get("/api/v1/healthz").get_json()
        assert body["status"] == "ok" and "stuck" not in body
    finally:
        services.close()


def damage(path, position: int, how: str) -> None:
    """Damages one stored event of a SQLite store: its JSON cut short, or its class
    renamed to one that does not exist (its JSON still readable)."""
    with sqlite3.connect(path) as conn:
        if how == "json":
            conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                         (b'{"broken', position))
        else:
            conn.execute("UPDATE stored_events SET topic = 'tracker.domain.gone:Gone.Event' "
                         "WHERE rowid = ?", (position,))


@pytest.mark.parametrize(("damaged", "how", "named", "stays"), [
    ("r1's first event", "json", "r1", "before r1"),
    ("r1's third event", "json", "r1", "before r1"),
    ("r1's last event", "json", "r1", "before r1"),
    ("r1's third event", "topic", "r1", "before r1"),
    ("g2's first event", "json", "g2", "after r1"),
])
@pytest.mark.parametrize("batch_size", [1, 1000])
def test_an_unreadable_event_is_named_with_its_report_and_the_reports_before_it_land(
        tmp_path, make_tracker, caplog, damaged, how, named, stays, batch_size):
    """A stored event that cannot be read names the report of its save (its first
    event's, readable), not `report None`; and the reports before that save land,
    whatever the batch (the views stayed where the batch began)."""
    path = tmp_path / "events.sqlite"
    tracker = make_tracker(f"sqlite:///{path}")
    tracker.record_report(good("g1", 3))
    r1 = tracker.record_report(base_report("r1")).positions
    g2 = tracker.record_report(good("g2", 4)).positions
    assert len(r1) >= 4 and r1[-1] + 1 == g2[0]
    position = {"r1's first event": r1[0], "r1's third event": r1[2],
                "r1's last event": r1[-1], "g2's first event": g2[0]}[damaged]
    damage(path, position, how)

    store = ReadModelStore(Settings(database_url=f"sqlite:///{path}").read_model_url())
    try:
        Projector(tracker, store, batch_size=batch_size).catch_up()
        failure = store.failure()
        assert failure is not None
        assert (failure["position"], failure["last"], failure["report"]) == (
            position, position, named), failure
        assert store.position(store.ensure_active()) == (
            r1[0] - 1 if stays == "before r1" else r1[-1])
        assert niger(store) == 3
        assert f"(report {named}): the stored event is unreadable" in caplog.text
        assert "report None" not in caplog.text
    finally:
        store.close()


def test_healthz_names_the_report_of_an_unreadable_event(tmp_path):
    from api import create_app

    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    app = create_app({"TESTING": True, "DATABASE_URL": url, "REDIS_URL": None})
    services = app.extensions["tracker"]
    try:
        tracker = services.tracker
        tracker.record_report(good("g1", 3))
        r1 = tracker.record_report(base_report("r1")).positions
        damage(tmp_path / "events.sqlite", r1[-1], "json")
        services.after_write()  # the inline projection stops before r1, without raising

        body = app.test_client().get("/api/v1/healthz").get_json()
        assert body["status"] == "degraded"
        assert (body["stuck"]["position"], body["stuck"]["report"]) == (r1[-1], "r1"), body
        assert f"position {r1[-1]} (report r1)" in body["stuck"]["message"]
        assert body["view_store"]["position"] == r1[0] - 1
    finally:
        services.close()


def test_an_older_postgres_read_model_is_migrated_to_64_bit_figures(pg_database_url,
                                                                      make_tracker):
    """A read model made before the limits (32-bit figures, narrow key columns) is brought
    to the current layout in place, and then holds sums past 2^31."""
    tracker = make_tracker(pg_database_url)
    url = Settings(database_url=pg_database_url).read_model_url()
    store = ReadModelStore(url)
    gen = store.ensure_active()
    with store.engine.begin() as conn:
        for column in ("best", "low", "high", "civilians", "wounded", "incidents"):
            conn.exec_driver_sql(f"ALTER TABLE g{gen}_tallies ALTER COLUMN {column} "
                                 "TYPE INTEGER")
        conn.exec_driver_sql(f"ALTER TABLE g{gen}_tallies ALTER COLUMN key TYPE VARCHAR(400)")
        conn.exec_driver_sql("DELETE FROM rm_schema")
    store.close()

    store = ReadModelStore(url)
    try:
        store.setup()
        with store.engine.connect() as conn:
            types = dict(conn.exec_driver_sql(
                "SELECT column_name, data_type FROM information_schema.columns WHERE "
                f"table_schema = current_schema() AND table_name = 'g{gen}_tallies'").all())
        assert types["best"] == types["incidents"] == "bigint"
        for i in range(250):
            tracker.record_report(good(f"m{i}", tf.MAX_COUNT))
        Projector(tracker, store).catch_up()
        assert store.failure() is None
        assert niger(store) == 250 * tf.MAX_COUNT > 2**31
    finally:
        store.close()
