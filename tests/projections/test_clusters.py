"""Many sources, one picture: records of one event linked by `same_incident` are counted
once — transitively, under the record the link names — with figures following the evidence
rules across every member's live reports; a link holds from its report until that report
is retracted, `as_of` before it shows the records apart, `/changes` names it; a
`distinct_incidents` pair is never linked. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.readmodel.queries import open_views
from projections.runner import Projector
from tests.projections.test_evidence import figure_reports, views_after
from tracker.exceptions import ReportValidationError


def record_of(incident: str, source: str, published: str, killed: int, **figure) -> dict:
    return {"report": f"{source}-{incident}", "source": {"name": source, "kind": "dataset",
                                                         "published": published},
            "facts": [{"fact": "incident", "id": incident, "date": "2020-11-12",
                       "type": "battle", "location": {"name": "Niaki", "country": "Mali"}},
                      {"fact": "casualties", "incident": incident, "killed": killed,
                       **figure}]}


def link(report: str, *pairs: tuple[str, str], fact: str = "same_incident") -> dict:
    other = "same_as" if fact == "same_incident" else "other"
    return {"report": report, "source": {"name": "Desk", "kind": "analyst"},
            "facts": [{"fact": fact, "incident": a, other: b} for a, b in pairs]}


@pytest.fixture
def world(database_url, make_tracker, read_model):
    tracker = make_tracker(database_url)
    projector = Projector(tracker, read_model)

    class World:
        def record(self, *reports: dict) -> None:
            for r in reports:
                tracker.record_report(r)
            projector.catch_up()

        def views(self, as_of=None):
            return open_views(read_model, as_of)

    w = World()
    w.tracker, w.projector = tracker, projector  # type: ignore[attr-defined]
    w.record(record_of("acled:1", "ACLED", "2020-11-20", 30),
             record_of("ucdp:9", "UCDP", "2021-06-01", 28, low=20, high=40),
             record_of("hrw:3", "HRW", "2020-12-01", 33))
    return w


def totals(views) -> tuple[dict, int, list]:
    c = views.casualties("country")
    rows = views.incidents(limit=100)["incidents"]
    return c["total"], c["rows"][0]["incidents"], sorted((i["id"], i["members"]) for i in rows)


def test_linked_records_are_counted_once_with_figures_across_the_cluster(world):
    with world.views() as v:
        assert totals(v) == ({"best": 91, "low": 83, "high": 103}, 3,
                             [("acled:1", ["acled:1"]), ("hrw:3", ["hrw:3"]),
                              ("ucdp:9", ["ucdp:9"])])
    time.sleep(0.01)
    before = datetime.now(UTC)
    world.record(link("l1", ("acled:1", "ucdp:9")))
    with world.views() as v:
        # Best from the latest published (UCDP, June 2021); low/high across both sources.
        assert totals(v) == ({"best": 28 + 33, "low": 20 + 33, "high": 40 + 33}, 2,
                             [("acled:1", ["acled:1", "ucdp:9"]), ("hrw:3", ["hrw:3"])])
        detail = v.incident("ucdp:9")  # a member answers with its cluster
        assert (detail["id"], detail["members"]) == ("acled:1", ["acled:1", "ucdp:9"])
        assert detail["killed"]["basis"]["source"] == "UCDP"
        assert sorted(f["source"] for f in detail["figures"]) == ["ACLED", "UCDP"]
        changes = v.changes("country", 0, 10**12, before, None)["rows"]
        assert changes[0]["causes"][-1]["report"] == "l1"
        assert {s["name"]: s["incidents"] for s in v.sources()["sources"]} == {
            "ACLED": 1, "UCDP": 1, "HRW": 1}
    with world.views(before) as v:
        assert totals(v)[1] == 3
    assert world.projector.verify() == []


def test_links_are_transitive_and_retracting_one_splits_the_cluster(world):
    world.record(link("l1", ("acled:1", "ucdp:9")), link("l2", ("hrw:3", "ucdp:9")))
    with world.views() as v:
        total, incidents, rows = totals(v)
        assert incidents == 1 and rows == [("acled:1", ["acled:1", "hrw:3", "ucdp:9"])]
        assert total["best"] == 28 and (total["low"], total["high"]) == (20, 40)
    world.record({"report": "undo", "source": {"name": "Desk", "kind": "analyst"},
                  "facts": [{"fact": "retraction", "target": {"report": "l1"},
                             "reason": "different villages"}]})
    with world.views() as v:
        total, incidents, rows = totals(v)
        assert rows == [("acled:1", ["acled:1"]), ("hrw:3", ["hrw:3", "ucdp:9"])]
        assert (incidents, total["best"]) == (2, 30 + 28)
    world.projector.rebuild()
    with world.views() as v:
        assert totals(v)[2] == [("acled:1", ["acled:1"]), ("hrw:3", ["hrw:3", "ucdp:9"])]


def test_a_distinct_pair_is_never_linked(world):
    world.record(link("d1", ("acled:1", "ucdp:9"), fact="distinct_incidents"))
    with pytest.raises(ReportValidationError, match="distinct"):
        world.tracker.record_report(link("l1", ("ucdp:9", "acled:1")))
    # "Not the same", said after a link, unlinks them.
    world.record(link("l2", ("hrw:3", "ucdp:9")),
                 link("d2", ("hrw:3", "ucdp:9"), fact="distinct_incidents"))
    with world.views() as v:
        assert totals(v)[1] == 3


def test_a_retracted_member_counts_for_nothing_and_the_cluster_keeps_the_rest(world):
    world.record(link("l1", ("acled:1", "ucdp:9")),
                 {"report": "r", "source": {"name": "Desk", "kind": "analyst"},
                  "facts": [{"fact": "retraction", "target": {"incident": "acled:1"},
                             "reason": "duplicate row"}]})
    with world.views() as v:
        total, incidents, rows = totals(v)
        assert ("ucdp:9", ["ucdp:9"]) in rows and incidents == 2
        assert total["best"] == 28 + 33


LINKS = st.lists(st.sampled_from([("i0", "i1"), ("i1", "i2"), ("i2", "i0")]), min_size=1,
                 max_size=3, unique=True)


@settings(max_examples=15, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(reports=figure_reports(), links=LINKS, data=st.data())
def test_any_recording_order_of_reports_and_links_gives_the_same_views(reports, links, data):
    linked = [*reports, *(link(f"link{n}", pair) for n, pair in enumerate(links))]
    linked = [r for r in linked if not any(f["fact"] == "assessment" for f in r["facts"])]
    shuffled = data.draw(st.permutations(linked))
    with tempfile.TemporaryDirectory() as tmp:
        first = views_after(linked, Path(tmp), "recorded")
        second = views_after(list(shuffled), Path(tmp), "shuffled")
    assert first == second
    assert len(json.loads(first)["incidents"]) < 3  # the links did merge records


def test_small_batches_and_caches_give_what_a_rebuild_gives(database_url, make_tracker,
                                                            read_model):
    """The working set's caches (documents, links, neighbours, canonical actors) are
    dropped and read again between batches: the views must not depend on it."""
    from tests.projections.test_actor_identity import DATASET_KEY, imported

    tracker = make_tracker(database_url)
    projector = Projector(tracker, read_model, batch_size=2, cache_entries=1)
    reports = [
        record_of("a:1", "ACLED", "2020-11-20", 30),
        record_of("u:9", "UCDP", "2021-06-01", 28, low=20, high=40),
        record_of("h:3", "HRW", "2020-12-01", 33),
        imported(),
        {"report": "b", "source": {"name": "Desk", "kind": "analyst"},
         "facts": [{"fact": "actor", "id": "jnim", "name": "JNIM", "kind": "armed_group"}]},
        link("l1", ("a:1", "u:9")), link("l2", ("u:9", "h:3")),
        {"report": "sa", "source": {"name": "Desk", "kind": "analyst"},
         "facts": [{"fact": "same_actor", "actor": "jnim", "same_as": DATASET_KEY}]},
        {"report": "undo", "source": {"name": "Desk", "kind": "analyst"},
         "facts": [{"fact": "retraction", "target": {"report": "l1"}, "reason": "no"}]},
    ]
    for r in reports:
        tracker.record_report(r)
        projector.catch_up()
    assert projector.verify() == []
    with open_views(read_model) as v:
        assert sorted((i["id"], i["members"]) for i in v.incidents(limit=100)["incidents"]
                      if i["id"].startswith(("a:", "h:", "u:"))) == [
            ("a:1", ["a:1"]), ("u:9", ["u:9", "h:3"])]
        assert [r["key"] for r in v.casualties("actor")["rows"]] == ["jnim"]


def test_a_fold_writing_its_rows_by_copy_gives_what_a_rebuild_gives(world, monkeypatch):
    # A batch writing COPY_FROM rows or more to a table loads them by COPY (PostgreSQL),
    # as a large accepted file of links does: here every batch does.
    import projections.readmodel.fold as fold

    monkeypatch.setattr(fold, "COPY_FROM", 1)
    world.record(link("l1", ("acled:1", "ucdp:9")), link("l2", ("hrw:3", "ucdp:9")),
                 {"report": "undo", "source": {"name": "Desk", "kind": "analyst"},
                  "facts": [{"fact": "retraction", "target": {"report": "l1"},
                             "reason": "different villages"}]})
    with world.views() as v:
        assert totals(v)[2] == [("acled:1", ["acled:1"]), ("hrw:3", ["hrw:3", "ucdp:9"])]
    assert world.projector.verify() == []
