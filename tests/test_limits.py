"""Limits are part of the format: every value the write side accepts, the read model holds
exactly, on SQLite and PostgreSQL; a value past a bound is refused like any other bad
field, naming the fact and the field, and nothing of its report is recorded."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.readmodel.queries import IncidentFilter, open_views
from projections.readmodel.store import ReadModelStore
from projections.runner import Projector
from tracker import fields as tf
from tracker.config import Settings
from tracker.exceptions import ReportValidationError
from tracker.ingestion.importer import Importer

DATA = Path(__file__).parent / "fixtures" / "datasets"
TODAY = datetime.now(UTC).date()


def report(report_id: str, *, killed: int = 1, country: str = "Mali", admin1: str = "Mopti",
           day: str = "2020-11-12", source: str = "Ministry", incident: str = "i1",
           extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "report": report_id,
        "source": {"name": source, "kind": "official", "published": "2020-11-13"},
        "facts": [
            {"fact": "actor", "id": "jnim", "name": "JNIM", "kind": "armed_group"},
            {"fact": "incident", "id": incident, "date": day, "type": "battle",
             "location": {"name": "Niaki", "admin1": admin1, "country": country},
             "actors": [{"actor": "jnim", "side": "b"}], **(extra or {})},
            {"fact": "casualties", "incident": incident, "actor": "jnim", "killed": killed,
             "low": killed, "high": killed, "breakdown": {"civilians": killed}},
        ],
    }


@pytest.fixture
def projector(tracker):
    store = ReadModelStore(Settings(database_url=_url(tracker)).read_model_url())
    runner = Projector(tracker, store)
    yield runner
    store.close()


def _url(tracker) -> str:
    return tracker.test_url  # set by the fixture below


@pytest.fixture
def tracker(database_url, make_tracker):
    t = make_tracker(database_url)
    t.test_url = database_url
    return t


def test_the_longest_report_id_is_the_basis_an_export_names(tracker, projector):
    """The row keeps where best comes from (basis_report, a report id of up to the format's
    200 characters): the longest id is held whole, one past it is refused at the door."""
    from api.exports import incident_record

    longest = "r" * 200
    tracker.record_report(report(longest, incident="long"))
    with pytest.raises(ReportValidationError):
        tracker.record_report(report("r" * 201, incident="longer"))
    projector.catch_up()
    assert projector.store.failure() is None
    with open_views(projector.store) as views:
        rows = [incident_record(d) for d in views.iter_incidents(summary=False)]
    assert [(r["id"], r["basis_rule"], r["basis_report"]) for r in rows] == [
        ("long", "single_source", longest)]


def test_values_at_every_bound_are_held_exactly(tracker, projector):
    name = "ß" * tf.MAX_NAME  # 200 characters, 400 once case-folded
    last = (TODAY + timedelta(days=tf.DAYS_AHEAD)).isoformat()
    for i in range(3):
        tracker.record_report(report(f"r{i}", killed=tf.MAX_COUNT, country=name, admin1=name,
                                     incident=f"i{i}", day=("1900-01-01", last, "2020-01-01")[i],
                                     source="S" * tf.MAX_NAME))
    projector.catch_up()
    assert projector.store.failure() is None
    with open_views(projector.store) as views:
        by_country = views.casualties("country")
        assert by_country["rows"][0]["key"] == name
        assert by_country["total"] == dict.fromkeys(("best", "low", "high"), 3 * tf.MAX_COUNT)
        assert views.casualties("admin1")["rows"][0]["civilians"]["best"] == 3 * tf.MAX_COUNT
        assert views.casualties("actor")["rows"][0]["killed"]["best"] == 3 * tf.MAX_COUNT
        found = views.incidents(IncidentFilter(country=name.upper()), limit=10)["incidents"]
        assert sorted(i["date"] for i in found) == ["1900-01-01", "2020-01-01", last]
        assert views.casualties("country", IncidentFilter(admin1=name))["total"]["best"] == (
            3 * tf.MAX_COUNT)


PAST_BOUNDS = [
    # (what to change in the report, the fact index, the field named)
    (lambda r: r["facts"][2].update(killed=tf.MAX_COUNT + 1), 2, "killed"),
    (lambda r: r["facts"][2].update(high=2**31), 2, "high"),
    (lambda r: r["facts"][2].update(killed=10**30), 2, "killed"),
    (lambda r: r["facts"][2].update(breakdown={"civilians": 2**63}), 2, "breakdown"),
    (lambda r: r["facts"][1]["location"].update(country="Ma\x00li"), 1, "location.country"),
    (lambda r: r["facts"][1]["location"].update(admin1="x" * 201), 1, "location.admin1"),
    (lambda r: r["facts"][1].update(subtype="y" * 201), 1, "subtype"),
    (lambda r: r["facts"][1].update(date="1899-12-31"), 1, "date"),
    (lambda r: r["facts"][1].update(
        date=(TODAY + timedelta(days=tf.DAYS_AHEAD + 1)).isoformat()), 1, "date"),
    (lambda r: r["facts"][1].update(attributes={"n": 2**53}), 1, "attributes"),
    (lambda r: r["facts"][1].update(attributes={"s": "a\x00b"}), 1, "attributes"),
    (lambda r: r["facts"][0].update(name="JN\x1bIM"), 0, "name"),
    (lambda r: r["facts"][0].update(name="JNIM\nsecond line"), 0, "name"),
    (lambda r: r["facts"][2].update(notes="n" * (tf.MAX_TEXT + 1)), 2, "notes"),
    (lambda r: r["source"].update(name="Minis\x00try"), None, "source.name"),
    (lambda r: r["source"].update(published="1066-10-14"), None, "source.published"),
]


@pytest.mark.parametrize("change,index,field", PAST_BOUNDS)
def test_a_value_past_a_bound_is_refused_naming_it_and_nothing_is_recorded(
        sqlite_tracker, change, index, field):
    bad = report("bad")
    change(bad)
    before = sqlite_tracker.max_position()
    with pytest.raises(ReportValidationError) as info:
        sqlite_tracker.record_report(bad)
    assert [(e.index, e.field) for e in info.value.errors] == [(index, field)], info.value
    assert sqlite_tracker.max_position() == before


def test_notes_may_hold_several_lines():
    assert tf.long_text("first line\n\tsecond line") == "first line\n\tsecond line"
    with pytest.raises(tf.Invalid, match="U\\+0000"):
        tf.long_text("a\x00b")


def test_the_openapi_document_shows_the_bounds():
    from api import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite:///:memory:",
                      "REDIS_URL": None})
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    casualties = next(s for name, s in schemas.items() if name.startswith("CasualtiesFact"))
    assert casualties["properties"]["killed"]["maximum"] == tf.MAX_COUNT
    location = next(s for name, s in schemas.items() if name.startswith("Location"))
    assert location["properties"]["country"]["maxLength"] == tf.MAX_NAME
    app.extensions["tracker"].close()


# A count at and around its bound, text of lengths around its bound, with characters that
# case-fold longer, control characters and plain ones.
COUNTS = st.integers(tf.MAX_COUNT - 3, tf.MAX_COUNT + 3) | st.integers(0, 5)
CHARS = st.sampled_from(["a", "ß", "İ", "ﬃ", " ", "\x00", "\x1f", "\n", "é", "\u0085"])
TEXTS = st.integers(tf.MAX_NAME - 2, tf.MAX_NAME + 2).flatmap(
    lambda n: st.lists(CHARS, min_size=n, max_size=n).map("".join)) | st.just("Mali")
DAYS = st.sampled_from([date(1899, 12, 31), date(1900, 1, 1), date(2020, 2, 29),
                        TODAY + timedelta(days=tf.DAYS_AHEAD),
                        TODAY + timedelta(days=tf.DAYS_AHEAD + 1)])


def _expected_ok(killed: int, country: str, day: date) -> bool:
    stripped = country.strip()
    return (killed <= tf.MAX_COUNT and 0 < len(stripped) <= tf.MAX_NAME
            and not any(ord(c) < 32 or 127 <= ord(c) <= 159 for c in stripped)
            and date(1900, 1, 1) <= day <= TODAY + timedelta(days=tf.DAYS_AHEAD))


def test_values_at_and_past_the_bounds_through_report_fold_and_query(tracker, projector):
    """Property: a report is accepted exactly when its values lie within the bounds, and
    then the views fold it and give it back exactly; the views never get stuck."""
    counter = iter(range(10_000))
    totals: dict[str, int] = {}
    outcomes: set[bool] = set()

    @settings(max_examples=60, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(killed=COUNTS, country=TEXTS, day=DAYS)
    def prop(killed, country, day):
        n = next(counter)
        r = report(f"p{n}", killed=killed, country=country, day=day.isoformat(),
                   incident=f"p{n}")
        try:
            tracker.record_report(copy.deepcopy(r))
            accepted = True
        except ReportValidationError:
            accepted = False
        assert accepted == _expected_ok(killed, country, day), (killed, country, day)
        outcomes.add(accepted)
        if accepted:
            totals[country.strip()] = totals.get(country.strip(), 0) + killed
        projector.catch_up()
        assert projector.store.failure() is None
        assert projector.store.position(projector.store.ensure_active()) == (
            tracker.max_position())
        with open_views(projector.store) as views:
            rows = views.casualties("country")["rows"]
        assert {r["key"]: r["killed"]["best"] for r in rows} == totals

    prop()
    assert outcomes == {True, False}
    assert any(len(k) == tf.MAX_NAME for k in totals) or max(totals.values()) >= tf.MAX_COUNT


def test_an_import_row_past_a_bound_is_rejected_by_line_and_field(
        sqlite_database_url, make_tracker, tmp_path):
    import csv

    tracker = make_tracker(sqlite_database_url)
    with open(DATA / "acled_dyadic.csv", newline="") as f:
        rows = list(csv.reader(f))
    rows[1][rows[0].index("fatalities")] = "99999999999"
    bad = tmp_path / "acled.csv"
    with open(bad, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    summary = Importer(tracker, "acled").run(bad)
    assert summary.rejected >= 1
    assert any(e.startswith(f"{bad}:2:") and "killed" in e and "10,000,000" in e
               for e in summary.errors), summary.errors
    assert summary.incidents >= 1  # the other rows are imported
    store = ReadModelStore(Settings(database_url=sqlite_database_url).read_model_url())
    runner = Projector(tracker, store)
    runner.catch_up()
    assert store.failure() is None
    assert store.position(store.ensure_active()) == tracker.max_position()
    store.close()
