"""The evidence model: views depend on the set of live reports, not on the order they were
recorded in; a retraction withdraws exactly one report's claims; every best says where it
comes from (docs/report-format.md, "How figures combine")."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.readmodel.queries import open_views
from projections.readmodel.store import ReadModelStore
from projections.runner import Projector
from tracker.application import ConflictTracker
from tracker.config import Settings


def report(key: str, source: str, published: str, facts: list[dict]) -> dict:
    return {"report": key, "source": {"name": source, "kind": "media", "published": published},
            "facts": facts}


R1 = report("r1", "Reuters", "2021-01-05", [
    {"fact": "actor", "id": "french-forces", "name": "French forces", "kind": "state_force"},
    {"fact": "actor", "id": "group", "name": "The group", "kind": "armed_group"},
    {"fact": "incident", "id": "X", "date": "2021-01-04", "type": "battle",
     "location": {"name": "Boni", "admin1": "Mopti", "country": "Mali"},
     "actors": [{"actor": "french-forces", "side": "a"}, {"actor": "group", "side": "b"}]},
    {"fact": "casualties", "incident": "X", "killed": 19}])
R3 = report("r3", "AFP", "2021-01-10", [
    {"fact": "incident", "id": "Y", "date": "2021-01-09", "type": "battle",
     "location": {"name": "Gao", "admin1": "Gao", "country": "Mali"},
     "actors": [{"actor": "french-forces", "side": "a"}]},
    {"fact": "casualties", "incident": "Y", "killed": 4}])
R2 = report("r2", "MINUSMA", "2021-03-30", [
    {"fact": "casualties", "incident": "X", "killed": 22, "low": 19, "high": 22}])
R1B = report("r1b", "Reuters", "2021-01-06", [
    {"fact": "casualties", "incident": "X", "killed": 20}])
RETRACT_R1 = {"report": "retract-r1", "source": {"name": "Desk", "kind": "analyst"},
              "facts": [{"fact": "retraction", "target": {"report": "r1"},
                         "reason": "the wire story was withdrawn"}]}


@pytest.fixture
def record(database_url, make_tracker, read_model):
    tracker = make_tracker(database_url)
    projector = Projector(tracker, read_model)

    def run(*reports: dict):
        for r in reports:
            tracker.record_report(r)
        projector.catch_up()
        return open_views(read_model)

    return run


@pytest.mark.parametrize("order", [(R1, R3, R2, R1B), (R1, R3, R1B, R2), (R1, R1B, R2, R3)],
                         ids=["r2-then-r1b", "r1b-then-r2", "y-last"])
def test_best_is_the_latest_published_figure_whatever_the_recording_order(record, order):
    with record(*order) as views:
        x = views.incident("X")
        by_country = views.casualties("country")["rows"]
    assert {k: x["killed"][k] for k in ("best", "low", "high")} == {
        "best": 22, "low": 19, "high": 22}
    assert x["killed"]["basis"] == {"rule": "latest_published", "report": "r2",
                                    "source": "MINUSMA", "published": "2021-03-30"}
    assert [(r["key"], r["killed"]["best"]) for r in by_country] == [("Mali", 26)]


def test_retracting_one_report_withdraws_only_its_claims(record):
    record(R1, R3, R2, R1B)
    with record(RETRACT_R1) as views:
        x = views.incident("X")
        by_country = views.casualties("country")["rows"]
        french = {r["key"]: r for r in views.casualties("actor")["rows"]}["french-forces"]
        y = views.incident("Y")
        actors = {a["id"] for a in views.actors()["actors"]}
    # X stays: MINUSMA's r2 and Reuters' own later r1b still refer to it.
    assert x["retracted"] is None and x["details_withdrawn"] == "r1"
    # Reuters now stands at r1b's 20; MINUSMA gave 19-22 itself
    assert (x["killed"]["best"], x["killed"]["low"], x["killed"]["high"]) == (22, 19, 22)
    assert [(r["key"], r["killed"]["best"]) for r in by_country] == [("Mali", 26)]
    # The French forces stay, and still count Y (and X, whose details stand until corrected).
    assert "french-forces" in actors and y["retracted"] is None
    assert french["incidents"] == 2 and french["killed"]["best"] == 26


def test_an_incident_no_live_report_refers_to_leaves_the_views(record):
    record(R1, R3)
    with record(RETRACT_R1) as views:
        rows = views.casualties("country")["rows"]
        x = views.incident("X")
    assert x["retracted"] == "the wire story was withdrawn"
    assert [(r["key"], r["killed"]["best"]) for r in rows] == [("Mali", 4)]


def test_a_retracted_figure_gives_way_to_the_same_sources_previous_one(record):
    record(R1, R1B)
    with record({"report": "retract-r1b", "source": {"name": "Desk", "kind": "analyst"},
                 "facts": [{"fact": "retraction", "target": {"report": "r1b"},
                            "reason": "mistyped"}]}) as views:
        x = views.incident("X")
    assert x["killed"]["best"] == 19 and x["killed"]["basis"]["report"] == "r1"


def test_an_assessment_sets_best_until_its_report_is_retracted(record):
    assessment = {"report": "desk-1", "source": {"name": "Analysts", "kind": "analyst"},
                  "facts": [{"fact": "assessment", "incident": "X", "killed": 21,
                             "reason": "two of MINUSMA's dead are counted in Y"}]}
    with record(R1, R3, R2, R1B, assessment) as views:
        x = views.incident("X")
    assert (x["killed"]["best"], x["killed"]["low"], x["killed"]["high"]) == (21, 19, 22)
    assert x["killed"]["basis"]["rule"] == "assessment"
    assert x["killed"]["basis"]["report"] == "desk-1"
    with record({"report": "undo", "source": {"name": "Desk", "kind": "analyst"},
                 "facts": [{"fact": "retraction", "target": {"report": "desk-1"},
                            "reason": "superseded"}]}) as views:
        assert views.incident("X")["killed"]["best"] == 22


def test_a_single_source_says_so(record):
    with record(R1) as views:
        basis = views.incident("X")["killed"]["basis"]
    assert basis == {"rule": "single_source", "report": "r1", "source": "Reuters",
                     "published": "2021-01-05"}


# -- order independence, as a property ----------------------------------------------------------

SETUP = report("setup", "Registry", "2020-01-01", [
    {"fact": "actor", "id": "a", "name": "A", "kind": "armed_group"},
    {"fact": "actor", "id": "b", "name": "B", "kind": "state_force"},
    *[{"fact": "incident", "id": f"i{n}", "date": f"2021-0{n + 1}-01", "type": "battle",
       "location": {"name": f"P{n}", "admin1": f"R{n % 2}", "country": "Mali"},
       "actors": [{"actor": "a", "side": "a"}, {"actor": "b", "side": "b"}]}
      for n in range(3)]])


@st.composite
def figure_reports(draw: st.DrawFn) -> list[dict]:
    count = draw(st.integers(2, 7))
    # Every figure's date differs from every other's (equal dates go to the later recorded:
    # order would matter): the reports' dates, then the figures' own (a dataset row's).
    all_days = draw(st.lists(st.integers(0, 400), min_size=4 * count, max_size=4 * count,
                             unique=True))
    days, own_days = all_days[:count], iter(all_days[count:])
    out = []
    for n, day in enumerate(days):
        facts = []
        for incident in draw(st.lists(st.sampled_from(["i0", "i1", "i2"]), min_size=1,
                                      max_size=3, unique=True)):
            fact = {"fact": "casualties", "incident": incident,
                    "killed": draw(st.integers(0, 50))}
            if draw(st.booleans()):
                fact["actor"] = draw(st.sampled_from(["a", "b"]))
            if draw(st.booleans()):
                fact["low"] = draw(st.integers(0, 50))
            own = next(own_days)
            if draw(st.integers(0, 2)) == 0:
                fact["published"] = (date(2021, 1, 1) + timedelta(days=own)).isoformat()
            facts.append(fact)
        if draw(st.integers(0, 4)) == 0:
            facts.append({"fact": "assessment", "incident": "i0",
                          "killed": draw(st.integers(0, 50)), "reason": "desk"})
        published = (date(2021, 1, 1) + timedelta(days=day)).isoformat()
        out.append(report(f"f{n}", draw(st.sampled_from(["S1", "S2", "S3"])), published,
                          facts))
        if any(f.get("low", 0) > f["killed"] for f in facts if f["fact"] == "casualties"):
            # Only a dataset's figures may have a range that does not hold best
            # (docs/report-format.md, `casualties`): such a report is a dataset's.
            out[-1]["source"]["kind"] = "dataset"
    return out


@contextmanager
def folded(reports: list[dict], tmp: Path, name: str) -> Iterator[Any]:
    """The views after SETUP and `reports`, recorded in that order into a new store."""
    tracker = ConflictTracker.from_settings(
        Settings(database_url=f"sqlite:///{tmp / f'{name}.sqlite'}"))
    store = ReadModelStore(f"sqlite:///{tmp / f'{name}-views.sqlite'}")
    try:
        tracker.record_report(SETUP)
        for r in reports:
            tracker.record_report(r)
        Projector(tracker, store).catch_up()
        with open_views(store) as views:
            yield views
    finally:
        store.close()
        tracker.close()


def views_after(reports: list[dict], tmp: Path, name: str) -> str:
    with folded(reports, tmp, name) as views:
        return json.dumps({
            "casualties": {by: views.casualties(by)["rows"]
                           for by in ("country", "admin1", "actor", "month")},
            "incidents": [{k: i[k] for k in ("id", "killed", "civilians")}
                          for i in views.incidents(limit=100)["incidents"]],
        }, sort_keys=True, default=str)


@settings(max_examples=20, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(reports=figure_reports(), data=st.data())
def test_any_recording_order_of_the_same_reports_gives_the_same_views(reports, data):
    # Assessments are the analysts' latest word: their order is part of what they say, so
    # they keep theirs; every source report may land in any order around them.
    shuffled = data.draw(st.permutations(reports))
    assessed = [r["report"] for r in reports if any(f["fact"] == "assessment"
                                                    for f in r["facts"])]
    order = iter(assessed)
    shuffled = [next(order) if r["report"] in assessed else r["report"] for r in shuffled]
    by_key = {r["report"]: r for r in reports}
    with tempfile.TemporaryDirectory() as tmp:
        first = views_after(reports, Path(tmp), "recorded")
        second = views_after([by_key[k] for k in shuffled], Path(tmp), "shuffled")
    assert first == second


def test_the_csv_export_says_where_each_best_comes_from(record):
    from api.exports import incident_record

    with record(R1, R3, R1B, R2) as views:
        rows = {r["id"]: r for r in map(incident_record, views.iter_incidents(summary=False))}
    assert (rows["X"]["killed_best"], rows["X"]["basis_rule"], rows["X"]["basis_report"]) == (
        22, "latest_published", "r2")
    assert (rows["Y"]["basis_rule"], rows["Y"]["basis_report"]) == ("single_source", "r3")


def test_the_export_cites_the_sources_a_dataset_row_names_its_latest_live_revision(record):
    from api.exports import incident_record

    def row(name: str, published: str, facts: list[dict]) -> dict:
        return {"report": name, "source": {"name": "ACLED", "kind": "dataset",
                                           "published": published}, "facts": facts}

    first = row("acled-1", "2021-01-05", [
        {"fact": "incident", "id": "acled:9", "date": "2021-01-04", "type": "battle",
         "location": {"name": "Boni", "country": "Mali"},
         "ref": {"dataset": "ACLED", "row": "9", "sources": "Le Faso.net; RFI"}},
        {"fact": "casualties", "incident": "acled:9", "killed": 3,
         "ref": {"dataset": "ACLED", "row": "9", "sources": "Le Faso.net; RFI"}}])
    revised = row("acled-2", "2021-02-01", [
        {"fact": "casualties", "incident": "acled:9", "killed": 5,
         "ref": {"dataset": "ACLED", "row": "9", "sources": "Voice of America"}}])
    odd = row("manual", "2021-02-02", [
        {"fact": "casualties", "incident": "acled:9", "killed": 5, "ref": {"sources": 7}}])

    def cited(*reports: dict) -> str:
        with record(*reports) as views:
            [found] = map(incident_record, views.iter_incidents(summary=False))
        return str(found["cited_sources"])

    assert cited(first) == "Le Faso.net; RFI"
    assert cited(revised, odd) == "Voice of America"
    assert cited({"report": "undo", "source": {"name": "Desk", "kind": "analyst"},
                  "facts": [{"fact": "retraction", "target": {"report": "acled-2"},
                             "reason": "revision withdrawn"}]}) == "Le Faso.net; RFI"


@settings(max_examples=20, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(reports=figure_reports())
def test_the_basis_the_fold_stores_is_the_one_the_document_gives(reports):
    """The export reads where best comes from off the row (basis_rule, basis_report, as the
    fold worked it out); for every incident it is what the evidence rules give its document."""
    from api.exports import basis_columns

    with tempfile.TemporaryDirectory() as tmp, folded(reports, Path(tmp), "basis") as views:
        docs = list(views.iter_incidents(summary=False))
    assert docs
    for doc in docs:
        stored = {"basis_rule": doc.pop("basis_rule"), "basis_report": doc.pop("basis_report")}
        assert stored == basis_columns(doc), doc["id"]
