"""Country-qualified regions, the datasets' attribute filters and one source's own figures
(figures_from), on SQLite and real PostgreSQL read models."""

from datetime import date

import pytest

from projections.readmodel.queries import IncidentFilter, open_views
from projections.readmodel.store import ReadModelStore
from projections.runner import Projector

# Two countries with a "Centre" region, and an incident without admin1 in each.
PLACES = [
    ("bf-centre", "Burkina Faso", "Centre", "Kadiogo", 7),
    ("bf-centre-2", "Burkina Faso", "Centre", None, 1),
    ("cm-centre", "Cameroon", "Centre", "Mfoundi", 4),
    ("bf-none", "Burkina Faso", None, None, 2),
    ("cm-none", "Cameroon", None, None, 3),
]


def region_report(report_id="regions", places=PLACES):
    facts = []
    for key, country, admin1, admin2, killed in places:
        location = {"name": key, "country": country}
        if admin1:
            location["admin1"] = admin1
        if admin2:
            location["admin2"] = admin2
        facts += [{"fact": "incident", "id": key, "date": "2020-11-12", "type": "battle",
                   "location": location},
                  {"fact": "casualties", "incident": key, "killed": killed}]
    return {"report": report_id, "source": {"name": "Desk", "kind": "analyst",
                                            "published": "2020-11-13"}, "facts": facts}


@pytest.fixture
def regions(sqlite_tracker, read_model):
    sqlite_tracker.record_report(region_report())
    runner = Projector(sqlite_tracker, read_model)
    runner.catch_up()
    return runner


# An always-true filter: the same tallies, grouped in SQL instead of read off the fold.
EVERYTHING = IncidentFilter(date_from=date(1990, 1, 1))


def rows(views, by, filters=None):
    return {r["key"]: r for r in views.casualties(by, filters)["rows"]}


@pytest.mark.parametrize("filters", [None, EVERYTHING], ids=["folded", "grouped"])
def test_two_countries_regions_of_one_name_are_two_rows(regions, filters):
    with open_views(regions.store) as views:
        admin1 = rows(views, "admin1", filters)
        admin2 = rows(views, "admin2", filters)
    assert {k: r["killed"]["best"] for k, r in admin1.items()} == {
        "Burkina Faso / Centre": 8, "Cameroon / Centre": 4,
        "Burkina Faso / (unknown)": 2, "Cameroon / (unknown)": 3}
    centre = admin1["Cameroon / Centre"]
    assert (centre["name"], centre["country"], centre["admin1"]) == (
        "Centre", "Cameroon", "Centre")
    unknown = admin1["Burkina Faso / (unknown)"]
    assert (unknown["name"], unknown["country"], unknown["admin1"]) == (
        "(unknown)", "Burkina Faso", None)
    assert {k: (r["killed"]["best"], r["incidents"]) for k, r in admin2.items()} == {
        "Burkina Faso / Centre / Kadiogo": (7, 1), "Burkina Faso / Centre / (unknown)": (1, 1),
        "Cameroon / Centre / Mfoundi": (4, 1), "Burkina Faso / (unknown) / (unknown)": (2, 1),
        "Cameroon / (unknown) / (unknown)": (3, 1)}
    kadiogo = admin2["Burkina Faso / Centre / Kadiogo"]
    assert (kadiogo["name"], kadiogo["country"], kadiogo["admin1"], kadiogo["admin2"]) == (
        "Kadiogo", "Burkina Faso", "Centre", "Kadiogo")


@pytest.mark.parametrize("filters, expected", [
    (IncidentFilter(admin1="centre"), {"bf-centre", "bf-centre-2", "cm-centre"}),
    (IncidentFilter(admin1="Cameroon / Centre"), {"cm-centre"}),
    (IncidentFilter(admin1="burkina faso / (unknown)"), {"bf-none"}),
    (IncidentFilter(admin1="(unknown)"), {"bf-none", "cm-none"}),
    (IncidentFilter(admin1="(unknown)", country="Cameroon"), {"cm-none"}),
    (IncidentFilter(admin2="Kadiogo"), {"bf-centre"}),
    (IncidentFilter(admin2="Burkina Faso / Centre / Kadiogo"), {"bf-centre"}),
    (IncidentFilter(admin2="Cameroon / Centre / Kadiogo"), set()),
    (IncidentFilter(admin2="Centre / Mfoundi"), {"cm-centre"}),
    (IncidentFilter(admin2="Burkina Faso / Centre / (unknown)"), {"bf-centre-2"}),
])
def test_region_filters_take_a_name_or_a_qualified_key(regions, filters, expected):
    with open_views(regions.store) as views:
        found = {i["id"] for i in views.incidents(filters)["incidents"]}
        tallied = sum(r["incidents"] for r in views.casualties("country", filters)["rows"])
    assert found == expected
    assert tallied == len(expected)


def test_changes_by_admin2_use_the_same_keys(sqlite_tracker, read_model):
    sqlite_tracker.record_report(region_report())
    runner = Projector(sqlite_tracker, read_model)
    runner.catch_up()
    with open_views(read_model) as views:
        middle = views.position
    sqlite_tracker.record_report({
        "report": "more", "source": {"name": "Wire", "kind": "media", "published": "2020-11-20"},
        "facts": [{"fact": "casualties", "incident": "cm-centre", "killed": 9}]})
    runner.catch_up()
    with open_views(read_model) as views:
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        moved = views.changes("admin2", middle, views.position, now, None)["rows"]
    assert [(r["key"], r["admin2"], r["before"]["best"], r["after"]["best"])
            for r in moved] == [("Cameroon / Centre / Mfoundi", "Mfoundi", 4, 9)]


def test_a_read_model_folded_with_the_old_keys_is_folded_again(sqlite_tracker, read_model,
                                                                caplog):
    """A read model folded before regions had their country (keys "Mopti", no view versions
    recorded: version 1) is dropped at open and folded again from the log: no column tells
    it apart, the view's version does."""
    sqlite_tracker.record_report(region_report())
    Projector(sqlite_tracker, read_model).catch_up()
    old = read_model.active()
    with read_model.engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM g{old}_tallies WHERE dim = 'admin2'")
        conn.exec_driver_sql(f"UPDATE g{old}_tallies SET key = 'Centre' WHERE dim = 'admin1' "
                             "AND key = 'Burkina Faso / Centre'")
        conn.exec_driver_sql("DELETE FROM rm_view_versions")
    reopened = ReadModelStore(read_model.url)
    try:
        Projector(sqlite_tracker, reopened).catch_up()
        assert "view casualties version 2 (folded by version 1)" in caplog.text
        with open_views(reopened) as views:
            keys = set(rows(views, "admin1"))
            assert "Burkina Faso / Centre" in keys and "Centre" not in keys
            assert "Burkina Faso / Centre / Kadiogo" in rows(views, "admin2")
        # Opened again with nothing older: kept as it is.
        caplog.clear()
        again = ReadModelStore(read_model.url)
        try:
            again.setup()
            assert "dropped" not in caplog.text
            assert again.active() == reopened.active()
        finally:
            again.close()
    finally:
        reopened.close()


# -- the datasets' attributes ----------------------------------------------------------------

def dataset_report():
    acled = [("acled:1", {"interaction": "28", "disorder_type": "Political violence",
                          "civilian_targeting": "Civilian targeting"}, 5),
             ("acled:2", {"interaction": "60", "disorder_type": "Demonstrations"}, 0),
             ("acled:3", {"interaction": "12", "disorder_type": "Political violence"}, 2)]
    ucdp = [("ucdp:1", "one-sided violence", {"dyad_new_id": "931", "dyad_name":
                                              "Government of CAR - Civilians",
                                              "conflict_new_id": "464",
                                              "conflict_name": "Government of CAR - Civilians"},
             11),
            ("ucdp:2", "state-based conflict", {"dyad_new_id": "876", "dyad_name":
                                                "Government of CAR - CPJP",
                                                "conflict_new_id": "416", "conflict_name":
                                                "Central African Republic: Government"}, 6)]
    facts = []
    for key, attributes, killed in acled:
        facts += [{"fact": "incident", "id": key, "date": "2020-11-12", "type": "battle",
                   "location": {"name": key, "country": "Burkina Faso"},
                   "attributes": attributes},
                  {"fact": "casualties", "incident": key, "killed": killed}]
    for key, subtype, attributes, killed in ucdp:
        facts += [{"fact": "incident", "id": key, "date": "2019-05-01", "type": "battle",
                   "subtype": subtype, "location": {"name": key,
                                                    "country": "Central African Republic"},
                   "attributes": attributes},
                  {"fact": "casualties", "incident": key, "killed": killed}]
    return {"report": "datasets", "source": {"name": "Desk", "kind": "analyst"},
            "facts": facts}


@pytest.mark.parametrize("filters, expected", [
    (IncidentFilter(interaction="28"), {"acled:1"}),
    (IncidentFilter(disorder_type="political  VIOLENCE"), {"acled:1", "acled:3"}),
    (IncidentFilter(civilian_targeting="civilian targeting"), {"acled:1"}),
    (IncidentFilter(type_of_violence="3"), {"ucdp:1"}),
    (IncidentFilter(type_of_violence="1"), {"ucdp:2"}),
    (IncidentFilter(type_of_violence="2"), set()),
    (IncidentFilter(dyad="931"), {"ucdp:1"}),
    (IncidentFilter(dyad="government of car - cpjp"), {"ucdp:2"}),
    (IncidentFilter(conflict_name="416"), {"ucdp:2"}),
    (IncidentFilter(conflict_name="Government of CAR - Civilians"), {"ucdp:1"}),
    (IncidentFilter(disorder_type="Political violence", interaction="12"), {"acled:3"}),
])
def test_dataset_attribute_filters(sqlite_tracker, read_model, filters, expected):
    sqlite_tracker.record_report(dataset_report())
    Projector(sqlite_tracker, read_model).catch_up()
    killed = {"acled:1": 5, "acled:2": 0, "acled:3": 2, "ucdp:1": 11, "ucdp:2": 6}
    with open_views(read_model) as views:
        found = {i["id"] for i in views.incidents(filters)["incidents"]}
        exported = {d["id"] for d in views.iter_incidents(filters, summary=False)}
        tally = views.casualties("country", filters)
    assert found == exported == expected
    assert tally["total"]["best"] == sum(killed[k] for k in expected)
    assert sum(r["incidents"] for r in tally["rows"]) == len(expected)


# -- one source's own figures ----------------------------------------------------------------

def two_sources(tracker):
    """The issue's example: HRW and ACLED on one incident; ACLED published later, so the
    evidence rules pick its 13; HRW says 20. HRW also reported a second incident without a
    figure; ACLED alone a third."""
    tracker.record_report({
        "report": "acled-row", "source": {"name": "ACLED", "kind": "dataset",
                                          "published": "2020-12-01"},
        "facts": [
            {"fact": "incident", "id": "djibo", "date": "2020-11-10", "type": "battle",
             "location": {"name": "Djibo", "admin1": "Sahel", "country": "Burkina Faso"}},
            {"fact": "casualties", "incident": "djibo", "killed": 13},
            {"fact": "incident", "id": "arbinda", "date": "2020-11-11", "type": "battle",
             "location": {"name": "Arbinda", "admin1": "Sahel", "country": "Burkina Faso"}},
            {"fact": "casualties", "incident": "arbinda", "killed": 4}]})
    tracker.record_report({
        "report": "hrw-report", "source": {"name": "Human Rights Watch", "kind": "ngo",
                                           "published": "2020-11-20"},
        "facts": [
            {"fact": "casualties", "incident": "djibo", "killed": 20, "low": 18, "high": 25,
             "breakdown": {"civilians": 20}},
            {"fact": "incident", "id": "kaya", "date": "2020-11-09",
             "type": "violence_against_civilians",
             "location": {"name": "Kaya", "admin1": "Centre-Nord",
                          "country": "Burkina Faso"}}]})


def test_figures_from_reads_one_sources_own_figures(sqlite_tracker, read_model):
    two_sources(sqlite_tracker)
    Projector(sqlite_tracker, read_model).catch_up()
    with open_views(read_model) as views:
        selected = views.incidents(IncidentFilter(source="Human Rights Watch"))["incidents"]
        own = views.incidents(IncidentFilter(figures_from="human rights watch"))["incidents"]
        by_source = views.casualties("country", IncidentFilter(source="Human Rights Watch"))
        by_figures = views.casualties("admin1",
                                      IncidentFilter(figures_from="Human Rights Watch"))
        exported = {d["id"]: d for d in views.iter_incidents(
            IncidentFilter(figures_from="Human Rights Watch"), summary=False)}
    # source= selects the incidents HRW reported on; the figures are the evidence rules'.
    assert {i["id"]: i["killed"]["best"] for i in selected} == {"djibo": 13, "kaya": 0}
    assert by_source["total"]["best"] == 13
    # figures_from= gives HRW's own: 20 (18-25), and null where HRW gave none.
    djibo = next(i for i in own if i["id"] == "djibo")
    assert {k: djibo["killed"][k] for k in ("best", "low", "high")} == {
        "best": 20, "low": 18, "high": 25}
    assert djibo["killed"]["basis"]["source"] == "Human Rights Watch"
    assert djibo["civilians"] == {"best": 20}
    kaya = next(i for i in own if i["id"] == "kaya")
    assert kaya["killed"]["best"] is None and kaya["civilians"]["best"] is None
    assert {i["id"] for i in own} == {"djibo", "kaya"}
    assert exported["djibo"]["killed"]["best"] == 20
    assert exported["kaya"]["killed"]["best"] is None
    # The tally adds up HRW's figures over the incidents it gave figures for.
    assert [(r["key"], r["killed"]["best"], r["incidents"], r["civilians"]["best"])
            for r in by_figures["rows"]] == [("Burkina Faso / Sahel", 20, 1, 20)]
    assert by_figures["total"] == {"best": 20, "low": 18, "high": 25}
    assert by_figures["filters"]["figures_from"] == "Human Rights Watch"
