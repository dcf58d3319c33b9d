"""The four views over the seed and over event lists, on SQLite and the real Redis."""

import json
from datetime import date, datetime, timedelta

import pytest

from projections.queries import Views
from projections.runner import ProjectionRunner, replay_as_of
from projections.views.base import Batch, ViewPositionConflict
from tests.conftest import base_report
from tracker.exceptions import EntityNotFoundError


@pytest.fixture
def runner(seeded, view_store):
    r = ProjectionRunner(seeded, view_store)
    r.catch_up()
    return r


def snapshot(views: Views) -> str:
    return json.dumps({
        "leadership": views.leadership("jnim"),
        "casualties": {by: views.casualties(by) for by in
                       ("country", "admin1", "actor", "month", "type")},
        "operations": views.operations(),
        "incidents": views.incidents(limit=1000),
    }, sort_keys=True)


def test_seed_leadership(runner):
    jnim = Views(runner.store).leadership("jnim")
    assert jnim["name"] == "Jama'at Nusrat al-Islam wal-Muslimin"
    assert [(e["person"], e["role"]) for e in jnim["leaders"]] == [("iyad-ag-ghali", "leader")]
    former = {(e["person"], e["role"]): e for e in jnim["former"]}
    deputy = former[("bah-ag-moussa", "deputy")]
    assert (deputy["reason"], deputy["incident"], deputy["until"]) == (
        "killed", "menaka-raid-2020-11", "2020-11-13")
    assert deputy["name"] == "Bah ag Moussa"


def test_seed_casualties(runner):
    views = Views(runner.store)
    by_country = views.casualties("country")
    assert [(r["key"], r["killed"]["best"]) for r in by_country["rows"]] == [("Mali", 35)]
    assert by_country["total"] == {"best": 35, "low": 35, "high": 35}
    by_admin1 = {r["key"]: r["killed"]["best"] for r in views.casualties("admin1")["rows"]}
    assert (by_admin1["Mopti"], by_admin1["Menaka"]) == (30, 5)
    by_month = {r["key"]: r["incidents"] for r in views.casualties("month")["rows"]}
    assert by_month["2020-11"] == 2  # the corrected dates, not 2015


def test_seed_operations(runner):
    ops = {o["id"]: o for o in Views(runner.store).operations()["operations"]}
    assert (ops["barkhane"]["status"], ops["takuba"]["status"]) == ("active", "active")
    assert ops["barkhane"]["incidents"] == ["menaka-raid-2020-11", "niaki-battle-2020-11"]
    assert ops["barkhane"]["killed"]["best"] == 35
    assert ops["takuba"]["partners"] == ["estonia", "mali-armed-forces"]


def test_seed_incident_detail_keeps_sources_and_corrections(runner):
    niaki = Views(runner.store).incident("niaki-battle-2020-11")
    assert niaki["date"] == "2020-11-13"
    assert niaki["killed"]["best"] == 30
    assert niaki["sources"][-1] == "French Ministry of the Armed Forces"
    assert niaki["corrections"][0]["previous"] == "2015-11-13"
    assert {m["action"] for m in niaki["materiel"]} == {"seized", "destroyed"}


def test_catching_up_again_changes_nothing(runner):
    before = snapshot(Views(runner.store))
    assert runner.catch_up() == 0
    fresh = ProjectionRunner(runner.tracker, runner.store)  # another process, empty caches
    assert fresh.catch_up() == 0
    assert snapshot(Views(runner.store)) == before


def test_a_batch_replayed_at_an_old_position_is_refused(runner):
    store = runner.store
    ns = store.active("casualties")
    before = snapshot(Views(store))
    head = store.position(ns)
    replay = Batch(store, ns, cache=__import__("collections").OrderedDict())
    replay.put("tally:country", "Mali", {"key": "Mali", "best": 999, "low": 0, "high": 0,
                                         "incidents": 1})
    with pytest.raises(ViewPositionConflict):
        store.commit({ns: replay.writes}, {ns: (head - 10, head)})
    assert snapshot(Views(store)) == before


def test_events_fed_twice_through_two_runners_land_once(sqlite_tracker, view_store):
    sqlite_tracker.record_report(base_report())
    a = ProjectionRunner(sqlite_tracker, view_store, batch_size=2)
    b = ProjectionRunner(sqlite_tracker, view_store, batch_size=2)
    a.catch_up()
    b.catch_up()
    a.catch_up()
    rows = Views(view_store).casualties("country")["rows"]
    assert rows == [{"key": "Mali", "killed": {"best": 30, "low": 30, "high": 30},
                     "incidents": 1}]


def test_a_later_figure_from_the_same_source_supersedes_in_the_tally(sqlite_tracker, view_store):
    sqlite_tracker.record_report(base_report())
    ministry = {"name": "Ministry", "kind": "official"}
    sqlite_tracker.record_report({"report": "r2", "source": ministry,
                                  "facts": [{"fact": "casualties", "incident": "niaki",
                                             "actor": "jnim", "killed": 32}]})
    sqlite_tracker.record_report({"report": "r3", "source": {"name": "NGO", "kind": "ngo"},
                                  "facts": [{"fact": "casualties", "incident": "niaki",
                                             "actor": "jnim", "killed": 40}]})
    ProjectionRunner(sqlite_tracker, view_store).catch_up()
    assert Views(view_store).casualties("country")["total"] == {"best": 40, "low": 32, "high": 40}


def test_retracting_a_report_drops_its_figure_from_the_tallies(sqlite_tracker, view_store):
    runner = ProjectionRunner(sqlite_tracker, view_store)
    sqlite_tracker.record_report(base_report())
    sqlite_tracker.record_report({"report": "r2", "source": {"name": "Blog", "kind": "media"},
                                  "facts": [{"fact": "casualties", "incident": "niaki",
                                             "killed": 300}]})
    runner.catch_up()
    assert Views(view_store).casualties("country")["total"]["best"] == 300

    sqlite_tracker.record_report({"report": "r3", "source": {"name": "Desk", "kind": "analyst"},
                                  "facts": [{"fact": "retraction", "target": {"report": "r2"},
                                             "reason": "fabricated"}]})
    runner.catch_up()
    assert Views(view_store).casualties("country")["total"] == {"best": 30, "low": 30, "high": 30}


def test_retracting_an_incident_removes_it_from_every_view(sqlite_tracker, view_store):
    sqlite_tracker.record_report(base_report())
    sqlite_tracker.record_report({"report": "r2", "source": {"name": "Desk", "kind": "analyst"},
                                  "facts": [{"fact": "retraction", "target": {"incident": "niaki"},
                                             "reason": "never happened"}]})
    ProjectionRunner(sqlite_tracker, view_store).catch_up()
    views = Views(view_store)
    assert views.casualties("country")["rows"] == []
    assert views.incidents()["incidents"] == []
    assert views.incident("niaki")["retracted"] == "never happened"


def test_filters_and_paging(runner):
    views = Views(runner.store)
    mopti = views.casualties("admin1", actor="jnim", date_from=date(2020, 11, 1))
    assert {r["key"]: r["killed"]["best"] for r in mopti["rows"]} == {"Mopti": 30, "Menaka": 5}
    first = views.incidents(country="mali", limit=3)
    assert len(first["incidents"]) == 3 and first["next"]
    rest = views.incidents(country="mali", limit=3, cursor=first["next"])
    assert [i["id"] for i in rest["incidents"]] == ["mali-coup-2020"] and rest["next"] is None
    assert views.incidents(actor="mali-government")["incidents"][0]["id"] == (
        "mali-prisoner-exchange-2020-10")


def test_unknown_group_is_not_found(runner):
    with pytest.raises(EntityNotFoundError):
        Views(runner.store).leadership("nobody")


def test_as_of_before_the_seed_is_empty_and_between_reports_is_uncorrected(seeded):
    events = [e for _, e in seeded.iter_events()]
    first = events[0].timestamp
    correction = next(e for e in events if type(e).__name__ == "ReportRecorded"
                      and e.key == "corrections-2020-11-article-errors")

    before = replay_as_of(seeded, first - timedelta(seconds=1))
    empty = Views(before.store, as_of=first)
    assert empty.casualties("country")["rows"] == []
    assert empty.operations()["operations"] == []
    with pytest.raises(EntityNotFoundError):
        empty.leadership("jnim")

    corrected_at = datetime.fromisoformat(correction.provenance["recorded_at"])
    between = replay_as_of(seeded, corrected_at - timedelta(microseconds=1))
    views = Views(between.store)
    assert views.incident("niaki-battle-2020-11")["date"] == "2015-11-13"
    assert {r["key"] for r in views.casualties("month")["rows"]} >= {"2015-11"}
    deputy = next(e for e in views.leadership("jnim")["former"] if e["role"] == "deputy")
    assert deputy["until"] == "2015-11-13"


def test_rebuild_is_blue_green_and_gives_identical_output(runner):
    before = snapshot(Views(runner.store))
    old = runner.store.active("casualties")
    switched = runner.rebuild()
    assert switched["casualties"] != old
    assert old not in runner.store.namespaces()
    assert snapshot(Views(runner.store)) == before
    runner.rebuild(["leadership"])
    assert snapshot(Views(runner.store)) == before


def test_verify_passes_then_names_a_hand_altered_document(runner):
    assert all(d == [] for d in runner.verify().values())
    ns = runner.store.active("casualties")
    position = runner.store.position(ns)
    runner.store.commit({ns: {("tally:country", "Mali"): {"key": "Mali", "best": 36, "low": 35,
                                                          "high": 35, "incidents": 4}}},
                        {ns: (position, position)})
    differences = runner.verify(["casualties"])["casualties"]
    assert len(differences) == 1
    assert differences[0].startswith("tally:country/Mali: live") and "'best': 36" in differences[0]


def operations_report(report_id: str, facts: list) -> dict:
    return {"report": report_id, "source": {"name": "Desk", "kind": "analyst"}, "facts": facts}


def test_an_incident_follows_its_operation_through_corrections_and_retraction(
        sqlite_tracker, view_store):
    runner = ProjectionRunner(sqlite_tracker, view_store)
    sqlite_tracker.record_report(base_report())
    # Linked by a correction, after it was reported.
    sqlite_tracker.record_report(operations_report("r-ops", [
        {"fact": "operation", "id": "op-a", "name": "A", "lead": "france"},
        {"fact": "correction", "target": {"incident": "niaki"}, "field": "operation",
         "value": "op-a", "reason": "linked"},
    ]))
    runner.catch_up()
    ops = {o["id"]: o for o in Views(view_store).operations()["operations"]}
    assert (ops["op-a"]["incidents"], ops["op-a"]["killed"]["best"]) == (["niaki"], 30)

    # Moved to another operation: it leaves the first one, with its deaths.
    sqlite_tracker.record_report(operations_report("r-ops-2", [
        {"fact": "operation", "id": "op-b", "name": "B", "lead": "france"},
        {"fact": "correction", "target": {"incident": "niaki"}, "field": "operation",
         "value": "op-b", "reason": "relinked"},
        {"fact": "casualties", "incident": "niaki", "killed": 33},
    ]))
    runner.catch_up()
    ops = {o["id"]: o for o in Views(view_store).operations()["operations"]}
    assert (ops["op-a"]["incidents"], ops["op-a"]["killed"]["best"]) == ([], 0)
    assert (ops["op-b"]["incidents"], ops["op-b"]["killed"]["best"]) == (["niaki"], 33)

    # Retracted: it counts for no operation.
    sqlite_tracker.record_report(operations_report("r-ops-3", [
        {"fact": "retraction", "target": {"incident": "niaki"}, "reason": "never happened"}]))
    runner.catch_up()
    ops = {o["id"]: o for o in Views(view_store).operations()["operations"]}
    assert (ops["op-b"]["incidents"], ops["op-b"]["killed"]["best"]) == ([], 0)
    assert Views(view_store).operations("op-b")["status"] == "active"


def test_an_incident_reported_with_its_operation_in_one_report_counts(
        sqlite_tracker, view_store):
    runner = ProjectionRunner(sqlite_tracker, view_store)
    report = base_report()
    report["facts"].insert(0, {"fact": "operation", "id": "op-c", "name": "C",
                               "lead": "france"})
    report["facts"][3]["operation"] = "op-c"
    sqlite_tracker.record_report(report)
    runner.catch_up()
    assert Views(view_store).operations("op-c")["incidents"] == ["niaki"]
    assert Views(view_store).operations("op-c")["killed"]["best"] == 30


def test_casualties_by_operation(runner):
    rows = Views(runner.store).casualties("operation")["rows"]
    assert [(r["key"], r["killed"]["best"], r["incidents"]) for r in rows] == [
        ("barkhane", 35, 2)]
