"""The sources view (the view the read side's structure was proven on): every source live
reports cite and how many incidents each reported, now and as of any moment; and a read
model made before a view existed is folded again, not left without it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from projections.readmodel.queries import IncidentFilter, open_views
from projections.readmodel.schema import generation_metadata
from projections.readmodel.store import ReadModelStore
from projections.runner import Projector
from tests.conftest import base_report
from tracker.config import Settings


def report(report_id: str, source: str, incident: str, killed: int = 1) -> dict:
    return {"report": report_id, "source": {"name": source, "kind": "media"},
            "facts": [{"fact": "incident", "id": incident, "date": "2021-03-01",
                       "type": "battle", "location": {"name": "X", "country": "Mali"}},
                      {"fact": "casualties", "incident": incident, "killed": killed}]}


def retraction(report_id: str, target: str, reason: str) -> dict:
    return {"report": report_id, "source": {"name": "Desk", "kind": "analyst"},
            "facts": [{"fact": "retraction", "target": {"report": target}, "reason": reason}]}


def retract_then_moment(tracker, runner, target: str, reason: str) -> datetime:
    """Retracts `target` (after a moment) and folds; returns the moment before."""
    time.sleep(0.01)
    before = datetime.now(UTC)
    tracker.record_report(retraction(f"x-{target}", target, reason))
    runner.catch_up()
    return before


def sources(store, as_of=None) -> dict[str, int]:
    with open_views(store, as_of) as views:
        return {r["name"]: r["incidents"] for r in views.sources()["sources"]}


def test_sources_count_the_incidents_each_reported_now_and_as_of(database_url, make_tracker):
    tracker = make_tracker(database_url)
    store = ReadModelStore(Settings(database_url=database_url).read_model_url())
    runner = Projector(tracker, store)
    try:
        tracker.record_report(base_report("r1"))               # Ministry: niaki
        tracker.record_report(report("w1", "Wire", "a"))
        tracker.record_report(report("w2", "WIRE", "b"))       # the same source, cased apart
        tracker.record_report(report("m2", "Ministry", "a"))   # a second source on "a"
        runner.catch_up()
        assert sources(store) == {"Wire": 2, "Ministry": 2}
        before = retract_then_moment(tracker, runner, "w2", "duplicate wire")
        assert sources(store) == {"Wire": 1, "Ministry": 2}
        assert sources(store, before) == {"Wire": 2, "Ministry": 2}
        runner.rebuild()
        assert sources(store) == {"Wire": 1, "Ministry": 2} and runner.verify() == []
    finally:
        store.close()


def test_a_retracted_reports_source_leaves_an_incident_that_stays(database_url, make_tracker):
    """A second source's report on a live incident, retracted: the source leaves the
    incident's sources, the sources view and the source filter (a 422 once no live report
    cites it), and as_of before the retraction still shows it."""
    from projections.readmodel.queries import IncidentFilter, QueryError

    tracker = make_tracker(database_url)
    store = ReadModelStore(Settings(database_url=database_url).read_model_url())
    runner = Projector(tracker, store)
    try:
        tracker.record_report(report("w1", "Wire", "a"))
        tracker.record_report(report("o2", "Other Wire", "a", killed=3))
        runner.catch_up()
        assert sources(store) == {"Wire": 1, "Other Wire": 1}
        before = retract_then_moment(tracker, runner, "o2", "wrong incident")
        assert sources(store) == {"Wire": 1}
        assert sources(store, before) == {"Wire": 1, "Other Wire": 1}
        with open_views(store) as views:
            (row,) = views.incidents()["incidents"]
            assert (row["sources"], row["killed"]["best"]) == (["Wire"], 1)
            try:
                views.incidents(IncidentFilter(source="Other Wire"))
                raise AssertionError("a source no live report cites is refused")
            except QueryError as e:
                assert e.field == "source"
        with open_views(store, before) as views:
            (row,) = views.incidents(IncidentFilter(source="Other Wire"))["incidents"]
            assert row["sources"] == ["Wire", "Other Wire"]
        # The registering report retracted while another stays: the other's source stays.
        tracker.record_report(report("o3", "Other Wire", "a", killed=4))
        tracker.record_report(retraction("y", "w1", "withdrawn"))
        runner.catch_up()
        assert sources(store) == {"Other Wire": 1}
        runner.rebuild()
        assert sources(store) == {"Other Wire": 1} and runner.verify() == []
    finally:
        store.close()


def test_a_generation_made_before_a_view_existed_is_folded_again(sqlite_database_url,
                                                                 make_tracker):
    tracker = make_tracker(sqlite_database_url)
    url = Settings(database_url=sqlite_database_url).read_model_url()
    store = ReadModelStore(url)
    tracker.record_report(base_report("r1"))
    Projector(tracker, store).catch_up()
    gen = store.ensure_active()
    with store.engine.begin() as conn:
        generation_metadata(gen).tables[f"g{gen}_sources"].drop(conn)
    store.close()

    store = ReadModelStore(url)
    try:
        runner = Projector(tracker, store)
        runner.catch_up()
        gen = store.ensure_active()
        assert store.position(gen) == tracker.max_position()
        assert sources(store) == {"Ministry": 1}
        assert runner.verify() == []
    finally:
        store.close()


def test_an_incidents_sources_after_a_retraction_do_not_depend_on_how_it_was_folded(
        database_url, make_tracker):
    """The live views fold from documents read back from their rows (JSON with sorted
    keys) where a rebuild keeps them in memory: the sources left after a retraction are
    in one order either way, so `rebuild --verify` finds no difference."""
    tracker = make_tracker(database_url)
    store = ReadModelStore(Settings(database_url=database_url).read_model_url())
    runner = Projector(tracker, store, cache_entries=0)
    try:
        tracker.record_report(report("m1", "S1", "x", killed=1))
        runner.catch_up()
        tracker.record_report(report("m2", "S2", "x", killed=2))
        runner.catch_up()
        tracker.record_report(report("m3", "S1", "x", killed=3))
        runner.catch_up()
        tracker.record_report(retraction("m4", "m1", "wrong"))
        runner.catch_up()
        with open_views(store) as views:
            live = views.incident("x")["sources"]
        assert sorted(live) == ["S1", "S2"]
        assert runner.verify() == []
        runner.rebuild()
        with open_views(store) as views:
            assert views.incident("x")["sources"] == live
    finally:
        store.close()


def test_an_assessments_source_is_the_incidents_and_the_basis_names_it(
        database_url, make_tracker):
    """An analysts' assessment is what that desk reported on the incident: best's basis
    names its source, and the incident's sources, /sources and the source filter have it
    until its report is retracted."""
    tracker = make_tracker(database_url)
    store = ReadModelStore(Settings(database_url=database_url).read_model_url())
    runner = Projector(tracker, store)
    try:
        tracker.record_report(report("w1", "Wire", "x", killed=4))
        tracker.record_report({"report": "a1", "source": {"name": "Analyst desk",
                                                          "kind": "analyst"},
                               "facts": [{"fact": "assessment", "incident": "x",
                                          "killed": 6, "reason": "two more found"}]})
        runner.catch_up()
        with open_views(store) as views:
            shown = views.incident("x")
            assert shown["killed"]["best"] == 6
            assert shown["killed"]["basis"]["source"] == "Analyst desk"
            assert shown["sources"] == ["Wire", "Analyst desk"]
            assert [i["id"] for i in views.incidents(
                IncidentFilter(source="Analyst desk"))["incidents"]] == ["x"]
        assert sources(store) == {"Wire": 1, "Analyst desk": 1}
        tracker.record_report(retraction("r1", "a1", "the desk was wrong"))
        runner.catch_up()
        assert sources(store) == {"Wire": 1}
        with open_views(store) as views:
            assert views.incident("x")["killed"]["basis"]["source"] == "Wire"
        assert runner.verify() == []
    finally:
        store.close()
