"""What a report may say given what is recorded, and how a refusal reads: each refusal
names the fact index and the field, and says what to do."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import base_report
from tracker.exceptions import ReportValidationError

DESK = {"name": "Desk", "kind": "analyst"}


def report(report_id: str, *facts: dict[str, Any], source: dict[str, Any] | None = None
           ) -> dict[str, Any]:
    return {"report": report_id, "source": source or DESK, "facts": list(facts)}


def refused(tracker, data: dict[str, Any]) -> list[tuple[int | None, str, str]]:
    """The (fact, field, message) of each error; nothing may have been recorded."""
    head = tracker.max_position()
    with pytest.raises(ReportValidationError) as info:
        tracker.record_report(data)
    assert tracker.max_position() == head
    return [(e.index, e.field, e.message) for e in info.value.errors]


def test_a_person_field_naming_a_group_says_its_kind_without_a_wrong_article(sqlite_tracker):
    sqlite_tracker.record_report(base_report())
    [(index, field, message)] = refused(sqlite_tracker, report(
        "r-role", {"fact": "death", "person": "jnim", "date": "2020-11-12"}))
    assert (index, field) == (0, "person")
    assert message == "actor 'jnim' is of kind armed_group, not a person"


def test_retracting_an_unknown_report_says_no_such_report_was_recorded(sqlite_tracker):
    sqlite_tracker.record_report(base_report())
    [(index, field, message)] = refused(sqlite_tracker, report(
        "r-retract", {"fact": "retraction", "target": {"report": "no-such-report"},
                      "reason": "r"}))
    assert (index, field) == (0, "target.report")
    assert message == "unknown report 'no-such-report': no report with this id has been " \
                      "recorded"
    assert "register" not in message


def test_sending_a_retracted_report_again_says_it_was_retracted_and_by_which(tracker):
    tracker.record_report(base_report())
    assert tracker.record_report(base_report()).retracted is None
    tracker.record_report(report("r-retract", {"fact": "retraction",
                                               "target": {"report": "r-base"},
                                               "reason": "wrong place"}))
    again = tracker.record_report(base_report())
    assert not again.recorded
    assert again.retracted == {"by": "r-retract", "reason": "wrong place"}
    assert again.to_dict()["retracted"] == {"by": "r-retract", "reason": "wrong place"}


def test_the_cli_says_a_report_sent_again_was_retracted(tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from api.cli import main

    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'events.sqlite'}")
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    base, retraction = tmp_path / "base.json", tmp_path / "retract.json"
    base.write_text(json.dumps(base_report()))
    retraction.write_text(json.dumps(report("r-retract", {
        "fact": "retraction", "target": {"report": "r-base"}, "reason": "wrong place"})))
    runner = CliRunner()
    for path in (base, retraction):
        assert runner.invoke(main, ["report", str(path)]).exit_code == 0
    out = runner.invoke(main, ["report", str(base)]).output
    assert "was already recorded and was retracted by report 'r-retract'" in out
    assert "nothing new" in out


# -- finding 10: one answer lists every problem, and says when one follows from another ----

INCIDENT = {"fact": "incident", "id": "x", "date": "2020-11-12", "type": "battle",
            "location": {"name": "X", "country": "Mali"}}


def test_a_fact_naming_an_entity_whose_registration_was_refused_says_so(sqlite_tracker):
    sqlite_tracker.record_report(base_report())
    found = refused(sqlite_tracker, report(
        "r-op",
        {"fact": "operation", "id": "op", "name": "Op", "lead": "france",
         "partners": ["jnim", "niger-army"]},
        {**INCIDENT, "operation": "op", "actors": [{"actor": "jnmi"}]},
        {"fact": "casualties", "incident": "x", "killed": 3},
        {"fact": "operation_status", "operation": "op", "status": "concluded"},
    ))
    assert found == [
        (0, "partners.1", "unknown actor 'niger-army': no report has registered it "
                          "(register it in this report or an earlier one)"),
        (1, "actors.0.actor", "unknown actor 'jnmi': no report has registered it "
                              "(register it in this report or an earlier one)"),
    ]
    # Facts 2 and 3 name what facts 1 and 0 would have registered: nothing is wrong with
    # them but that, so they are not listed (they were "unknown incident 'x': … register it
    # in this report" although the report does).


def test_a_follow_on_refusal_says_which_refused_fact_it_follows(sqlite_tracker):
    from tracker.facts import UnitOfWork
    from tracker.reports import parse_report

    data = report("r-x", INCIDENT, {"fact": "casualties", "incident": "x", "killed": 3})
    uow = UnitOfWork(sqlite_tracker, parse_report(data), {})
    uow.refused[("incident", "x")] = 0
    error = uow._unknown(parse_report(data).facts[1], "incident", "incident", "x")
    assert error.follows == 0
    assert error.message == ("incident 'x' is registered by fact 0 of this report, which "
                             "was refused")


def test_format_errors_and_reference_errors_come_in_one_answer(sqlite_tracker):
    sqlite_tracker.record_report(base_report())
    bad_incident = {**INCIDENT, "location": {"name": "X"}}
    found = refused(sqlite_tracker, report(
        "r-both",
        bad_incident,
        {"fact": "casualties", "incident": "x", "killed": 3},
        {"fact": "alias", "actor": "ghost", "alias": "Ghost"},
        {"fact": "casualties", "incident": "niaki", "killed": "many"},
    ))
    # The format's problems (facts 0 and 3) and the references' (fact 2) at once; fact 1
    # only names the incident fact 0 would have registered.
    assert [(i, f) for i, f, _ in found] == [(0, "location.country"), (2, "actor"),
                                              (3, "killed")]
    assert found[1][2].startswith("unknown actor 'ghost'")


def test_a_report_of_only_format_errors_is_refused_before_any_lookup(sqlite_tracker):
    found = refused(sqlite_tracker, report("r-fmt", {"fact": "casualties", "incident": "x"}))
    assert found == [(0, "killed", "is required")]


def test_a_refused_registration_of_an_existing_entity_is_not_a_follow_on(sqlite_tracker):
    # The incident exists (other details): facts naming it are checked as usual.
    sqlite_tracker.record_report(base_report())
    niaki = copy.deepcopy(base_report()["facts"][2])
    niaki["date"] = "2020-11-11"
    found = refused(sqlite_tracker, report(
        "r-dup", niaki, {"fact": "casualties", "incident": "niaki", "killed": 3}))
    assert [(i, f) for i, f, _ in found] == [(0, "id")]


# -- finding 2: an alias finds one actor -----------------------------------------------------

GROUPS = [
    {"fact": "actor", "id": "isgs", "name": "Islamic State in the Greater Sahara",
     "kind": "armed_group", "aliases": ["ISGS"]},
    {"fact": "actor", "id": "bf-army", "name": "Armed Forces of Burkina Faso",
     "kind": "state_force"},
    {"fact": "actor", "id": "jnim", "name": "Jama'at Nusrat al-Islam wal-Muslimin",
     "kind": "armed_group", "aliases": ["GSIM"]},
]


@pytest.fixture
def groups(tracker):
    tracker.record_report(report("r-groups", *GROUPS))
    return tracker


@pytest.mark.parametrize("alias, other, which", [
    ("Armed Forces of Burkina Faso", "bf-army", "name"),
    ("armed forces of  burkina faso", "bf-army", "name"),  # lookups ignore case and spacing
    ("gsim", "jnim", "alias"),
    ("Jnim", "jnim", "id"),
    ("Isgs", "isgs", "id and alias"),  # the id, and the alias ISGS
    ("BF-ARMY", "bf-army", "id"),
])
def test_an_alias_that_already_finds_another_actor_is_refused_naming_it(groups, alias, other,
                                                                       which):
    target = "isgs" if other != "isgs" else "bf-army"
    [(index, field, message)] = refused(groups, report(
        "r-alias", {"fact": "alias", "actor": target, "alias": "Burkinabe forces"},
        {"fact": "alias", "actor": target, "alias": alias}))
    assert (index, field) == (1, "alias")
    assert message.startswith(f"'{alias}' already names actor '{other}' (its {which})")
    assert "same_actor" in message


def test_an_actor_fact_alias_and_an_alias_correction_are_checked_too(groups):
    [(index, field, message)] = refused(groups, report("r-actor", {
        "fact": "actor", "id": "mali-army", "name": "Armed Forces of Mali",
        "kind": "state_force", "aliases": ["FAMa", "ISGS"]}))
    assert (index, field) == (0, "aliases.1")
    assert message.startswith("'ISGS' already names actor 'isgs' (its id and alias)")
    [(index, field, message)] = refused(groups, report("r-fix", {
        "fact": "correction", "target": {"actor": "bf-army"}, "field": "aliases",
        "value": ["FABF", "GSIM"], "reason": "r"}))
    assert (index, field) == (0, "value.1")
    assert message.startswith("'GSIM' already names actor 'jnim' (its alias)")


def test_an_actor_named_as_another_actors_alias_is_refused(groups):
    # Two actors may share a name (two people called alike), but not one's alias.
    assert groups.record_report(report("r-same-name", {
        "fact": "actor", "id": "bf-army-2", "name": "Armed Forces of Burkina Faso",
        "kind": "state_force"})).recorded
    for name, other in (("GSIM", "jnim"), ("isgs ", "isgs")):
        [(index, field, message)] = refused(groups, report("r-new", {
            "fact": "actor", "id": "new-group", "name": name, "kind": "armed_group"}))
        assert (index, field) == (0, "name")
        assert message.startswith(f"'{name.strip()}' is an alias of actor '{other}'")
    [(index, field, message)] = refused(groups, report("r-rename", {
        "fact": "correction", "target": {"actor": "bf-army"}, "field": "name",
        "value": "GSIM", "reason": "r"}))
    assert (index, field) == (0, "value")


def test_two_actors_of_one_report_cannot_be_given_one_alias_in_either_order(groups):
    first = {"fact": "alias", "actor": "isgs", "alias": "Dawla"}
    second = {"fact": "alias", "actor": "bf-army", "alias": "dawla"}
    for facts, at in (([first, second], 1), ([second, first], 1)):
        [(index, field, message)] = refused(groups, report("r-two", *facts))
        assert (index, field) == (at, "alias") and "already names actor" in message
    registered = {"fact": "actor", "id": "dawla", "name": "Dawla", "kind": "armed_group"}
    for facts in ([first, registered], [registered, first]):
        assert len(refused(groups, report("r-three", *facts))) == 1


def test_an_alias_may_repeat_the_actors_own_names_and_a_linked_actors(groups):
    # Its own id (another case), name or alias: nothing new, nothing refused.
    groups.record_report(report("r-own", {"fact": "alias", "actor": "isgs", "alias": "Isgs"},
                                {"fact": "alias", "actor": "isgs", "alias": "ISGS"}))
    # Two records of one actor (same_actor) may be found by each other's names.
    groups.record_report(report(
        "r-linked", {"fact": "actor", "id": "eigs", "name": "EIGS", "kind": "armed_group"},
        {"fact": "same_actor", "actor": "isgs", "same_as": "eigs"},
        {"fact": "alias", "actor": "isgs", "alias": "EIGS"}))
    assert "EIGS" in groups.get_entity("actor", "isgs")["details"]["aliases"]


def test_a_withdrawn_alias_or_a_retracted_actor_no_longer_holds_the_name(groups):
    groups.record_report(report("r-dawla", {"fact": "alias", "actor": "isgs",
                                            "alias": "Dawla"}))
    move = report("r-move", {"fact": "alias", "actor": "bf-army", "alias": "Dawla"})
    assert len(refused(groups, move)) == 1
    groups.record_report(report("r-x", {"fact": "retraction", "target": {"report": "r-dawla"},
                                        "reason": "wrong group"}))
    assert groups.record_report(move).recorded
    groups.record_report(report("r-y", {"fact": "retraction", "target": {"actor": "jnim"},
                                        "reason": "duplicate"}))
    assert groups.record_report(report("r-jnim", {"fact": "alias", "actor": "isgs",
                                                  "alias": "GSIM"})).recorded


def test_an_alias_spelt_as_a_datasets_actor_name_still_links_it(tracker, tmp_path):
    # The documented exception: an alias that is exactly a dataset's name for an actor
    # imported under it links the two (same_actor), rather than being refused.
    from tracker.ingestion.rows import actor_key

    name = "Islamic State (Greater Sahara)"
    imported = actor_key("acled", name)
    tracker.record_report(report("r-import", {"fact": "actor", "id": imported, "name": name,
                                              "kind": "armed_group"},
                                 source={"name": "ACLED", "kind": "dataset"}))
    tracker.record_report(report("r-groups", *GROUPS))
    result = tracker.record_report(report("r-alias", {"fact": "alias", "actor": "isgs",
                                                      "alias": name}))
    assert result.recorded
    history = tracker.get_history("link", f"actor:isgs|{imported}")
    assert history[-1]["payload"]["method"] == f"alias '{name}'"


# -- finding 12: a fact naming an actor by an alias ------------------------------------------

def test_a_fact_naming_an_actor_by_its_alias_or_name_is_told_its_id(groups):
    groups.record_report(report("r-p", {"fact": "actor", "id": "abu-huzeifa",
                                        "name": "Huzeifa", "kind": "person"}))
    found = refused(groups, report(
        "r-role",
        {"fact": "role", "person": "abu-huzeifa", "group": "ISGS",
         "role": "military_commander"},
        {"fact": "role", "person": "huzeifa", "group": "isgs", "role": "leader"},
        {"fact": "role", "person": "abu-huzeifa", "group": "no-such-group", "role": "leader"},
        {"fact": "role", "person": "abu-huzeifa", "group": "BF-Army", "role": "leader"}))
    assert found == [
        (0, "group", "unknown actor 'ISGS': it is an alias of actor 'isgs'; facts name "
                     "actors by their exact id (write 'isgs')"),
        (1, "person", "unknown actor 'huzeifa': it is the name of actor 'abu-huzeifa'; "
                      "facts name actors by their exact id (write 'abu-huzeifa')"),
        (2, "group", "unknown actor 'no-such-group': no report has registered it (register "
                     "it in this report or an earlier one)"),
        (3, "group", "unknown actor 'BF-Army': the id differs in case: 'bf-army'; facts "
                     "name actors by their exact id (write 'bf-army')"),
    ]


# -- the generated reports (tests/reports_strategy.py) keep to these rules -------------------

def test_generated_reports_are_accepted_under_every_rule(tmp_path):
    """The strategy the API's fuzzing posts (tests/api/test_gunicorn.py) generates reports
    the application accepts, one store for all of them (so aliases meet other reports'
    names), quicker and with more examples than over HTTP."""
    import itertools

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.reports_strategy import reports
    from tracker.application import ConflictTracker
    from tracker.config import Settings

    tracker = ConflictTracker.from_settings(
        Settings(database_url=f"sqlite:///{tmp_path / 'events.sqlite'}"))
    numbers = itertools.count(1)

    @settings(max_examples=150, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def accepted(data: st.DataObject) -> None:
        generated = data.draw(reports(next(numbers)))
        try:
            assert tracker.record_report(generated).recorded
        except ReportValidationError as e:
            raise AssertionError(f"{e}\n{generated}") from None

    try:
        accepted()
    finally:
        tracker.close()


# -- finding 13: a second source repeating an incident with other details -------------------

def test_repeating_an_incident_with_other_details_names_them_and_the_real_fix(sqlite_tracker):
    sqlite_tracker.record_report(base_report())
    afp = {"fact": "incident", "id": "niaki", "date": "2020-11-13", "type": "battle",
           "location": {"name": "Niaki", "country": "Mali"}}
    [(index, field, message)] = refused(sqlite_tracker, report(
        "r-afp", afp, {"fact": "casualties", "incident": "niaki", "killed": 12},
        source={"name": "AFP", "kind": "media"}))
    assert (index, field) == (0, "id")
    assert message == (
        "incident 'niaki' is already recorded with other details (date: recorded "
        "2020-11-12, this fact 2020-11-13; location.admin1: recorded 'Mopti', this fact "
        "none; actors: recorded [france, jnim], this fact none): to add figures or other "
        "facts about it, leave this incident fact out and name the incident by its id; to "
        "change a detail, send a correction fact")
    # Which is what works:
    assert sqlite_tracker.record_report(report(
        "r-afp", {"fact": "casualties", "incident": "niaki", "killed": 12},
        source={"name": "AFP", "kind": "media"})).recorded


# -- finding 6: corrections keep an incident's coordinates whole, and null clears ------------

def correction(target: dict[str, str], field: str, value: Any) -> dict[str, Any]:
    return {"fact": "correction", "target": target, "field": field, "value": value,
            "reason": "r"}


NIAKI = {"incident": "niaki"}


def test_a_correction_may_not_leave_an_incident_with_one_coordinate(sqlite_tracker):
    sqlite_tracker.record_report(base_report())
    [(index, field, message)] = refused(sqlite_tracker, report(
        "r-lat", correction(NIAKI, "location.latitude", 15.5)))
    assert (index, field) == (0, "value")
    assert message.startswith("would leave the incident with a latitude and no longitude")
    # Both in one report (in either order) stand; so does moving one of two.
    sqlite_tracker.record_report(report("r-both", correction(NIAKI, "location.longitude", -4),
                                        correction(NIAKI, "location.latitude", 15.5)))
    sqlite_tracker.record_report(report("r-move", correction(NIAKI, "location.latitude", 15)))
    location = sqlite_tracker.get_entity("incident", "niaki")["details"]["location"]
    assert (location["latitude"], location["longitude"]) == (15, -4)
    # Clearing one of them is refused; clearing both is how coordinates are withdrawn.
    [(index, field, message)] = refused(sqlite_tracker, report(
        "r-clear-one", correction(NIAKI, "location.longitude", None)))
    assert (index, field) == (0, "value")
    assert message.startswith("would leave the incident with a latitude and no longitude")
    sqlite_tracker.record_report(report("r-clear", correction(NIAKI, "location.latitude", None),
                                        correction(NIAKI, "location.longitude", None)))
    location = sqlite_tracker.get_entity("incident", "niaki")["details"]["location"]
    assert location.get("latitude") is None and location.get("longitude") is None


def test_a_correction_to_null_clears_an_optional_field_only(sqlite_tracker):
    sqlite_tracker.record_report(base_report())
    sqlite_tracker.record_report(report("r-clear", correction(NIAKI, "location.admin1", None)))
    assert sqlite_tracker.get_entity("incident", "niaki")["details"]["location"].get(
        "admin1") is None
    history = sqlite_tracker.get_history("incident", "niaki")[-1]["payload"]
    assert (history["field"], history["previous"], history["value"]) == (
        "location.admin1", "Mopti", None)
    found = refused(sqlite_tracker, report(
        "r-bad", correction(NIAKI, "date", None),
        correction({"actor": "jnim"}, "kind", None),
        {"fact": "correction", "target": NIAKI, "field": "type", "reason": "r"}))
    assert [(i, f) for i, f, _ in found] == [(0, "value"), (1, "value"), (2, "value")]
    assert found[0][2].startswith("for 'date' must be given: every incident has one (null "
                                  "clears only incident fields date_end, subtype")
    assert "location.latitude" in found[0][2]
    assert found[2][2] == "is required"


# -- finding 7: facts that contradict recorded dates -----------------------------------------

HUZEIFA = [
    {"fact": "actor", "id": "isgs", "name": "Islamic State in the Greater Sahara",
     "kind": "armed_group"},
    {"fact": "actor", "id": "huzeifa", "name": "Abu Huzeifa", "kind": "person"},
    {"fact": "role", "person": "huzeifa", "group": "isgs", "role": "leader",
     "since": "2021-08-18"},
]


def test_a_status_change_dated_before_the_operation_started_is_refused(sqlite_tracker):
    sqlite_tracker.record_report(base_report())
    operation = {"fact": "operation", "id": "bourrasque", "name": "Bourrasque",
                 "lead": "france", "started": "2020-10-01"}
    concluded = {"fact": "operation_status", "operation": "bourrasque",
                 "status": "concluded", "date": "2020-09-01"}
    # In the same report as the operation, and in a later one.
    [(index, field, message)] = refused(sqlite_tracker, report("r-op", operation, concluded))
    assert (index, field) == (1, "date")
    assert message.startswith("2020-09-01 is before operation 'bourrasque' started "
                              "(2020-10-01)")
    sqlite_tracker.record_report(report("r-op", operation))
    assert refused(sqlite_tracker, report("r-status", concluded))[0][:2] == (0, "date")
    # On the day it started, or later, or undated: recorded.
    for n, day in enumerate(("2020-10-01", "2021-01-01", None)):
        status = {**concluded, "status": ("suspended", "active", "concluded")[n], "date": day}
        assert sqlite_tracker.record_report(report(f"r-status-{n}", status)).recorded


def test_a_death_dated_before_a_held_role_began_is_refused_a_capture_is_not(sqlite_tracker):
    sqlite_tracker.record_report(report("r-isgs", *HUZEIFA))
    death = {"fact": "death", "person": "huzeifa", "date": "2020-01-01"}
    [(index, field, message)] = refused(sqlite_tracker, report("r-death", death))
    assert (index, field) == (0, "date")
    assert message.startswith("2020-01-01 is before huzeifa's role leader in isgs began "
                              "(2021-08-18)")
    # A capture dated before the role began may be an earlier one, released since (the
    # release may come in a later report): recorded.
    capture = {"fact": "capture", "person": "huzeifa", "date": "2016-12-24"}
    assert sqlite_tracker.record_report(report("r-capture", capture)).recorded
    # A date known to the month counts to its last day.
    assert sqlite_tracker.record_report(report(
        "r-death", {**death, "date": "2021-08-01", "date_precision": "month"})).recorded


def test_a_role_starting_after_a_recorded_death_or_ending_before_it_began_is_refused(
        sqlite_tracker):
    sqlite_tracker.record_report(report("r-isgs", *HUZEIFA))
    [(index, field, message)] = refused(sqlite_tracker, report("r-end", {
        "fact": "role_ended", "person": "huzeifa", "group": "isgs", "role": "leader",
        "reason": "removed", "date": "2021-01-01"}))
    assert (index, field) == (0, "date")
    assert "a role cannot end before it began" in message
    sqlite_tracker.record_report(report("r-death", {"fact": "death", "person": "huzeifa",
                                                    "date": "2022-06-01"}))
    [(index, field, message)] = refused(sqlite_tracker, report("r-role", {
        "fact": "role", "person": "huzeifa", "group": "isgs", "role": "deputy",
        "since": "2023-01-01"}))
    assert (index, field) == (0, "since")
    assert message.startswith("2023-01-01 is after huzeifa's recorded death on 2022-06-01")
    # A role the person held before: recorded (and ended by the death, as before).
    assert sqlite_tracker.record_report(report("r-role", {
        "fact": "role", "person": "huzeifa", "group": "isgs", "role": "deputy",
        "since": "2020-01-01"})).recorded


def test_a_person_holding_roles_keeps_kind_person(sqlite_tracker):
    sqlite_tracker.record_report(report("r-isgs", *HUZEIFA))
    [(index, field, message)] = refused(sqlite_tracker, report(
        "r-kind", correction({"actor": "huzeifa"}, "kind", "armed_group")))
    assert (index, field) == (0, "value")
    assert message.startswith("actor 'huzeifa' holds roles (leader in isgs): only a person "
                              "holds roles")
    # Once the role ended, the kind may be corrected (the record was of a group).
    sqlite_tracker.record_report(report("r-end", {
        "fact": "role_ended", "person": "huzeifa", "group": "isgs", "role": "leader",
        "reason": "unknown"}))
    assert sqlite_tracker.record_report(report(
        "r-kind", correction({"actor": "huzeifa"}, "kind", "armed_group"))).recorded


# -- finding 8: a figure's range, written by hand ----------------------------------------------

@pytest.mark.parametrize("figure, field, start", [
    ({"killed": 20, "low": 25, "high": 15}, "low", "25 is above high (15)"),
    ({"killed": 20, "low": 25}, "low", "25 is above killed (20), the best figure"),
    ({"killed": 20, "low": 10, "high": 15}, "high", "15 is below killed (20), the best figure"),
    ({"killed": 20, "high": 15}, "high", "15 is below killed (20)"),
])
def test_a_hand_written_figure_whose_range_does_not_hold_it_is_refused(sqlite_tracker, figure,
                                                                       field, start):
    sqlite_tracker.record_report(base_report())
    for kind in ("media", "official", "analyst", "ngo", "other"):
        [(index, named, message)] = refused(sqlite_tracker, report(
            "r-range", {"fact": "casualties", "incident": "niaki", **figure},
            source={"name": "Reuters", "kind": kind}))
        assert (index, named) == (0, field)
        assert message.startswith(start)
        assert "low <= killed <= high" in message
    [(index, named, _)] = refused(sqlite_tracker, report(
        "r-assess", {"fact": "assessment", "incident": "niaki", "reason": "r", **figure}))
    assert (index, named) == (0, field)


def test_a_datasets_figure_is_kept_as_given_and_flagged(sqlite_tracker):
    sqlite_tracker.record_report(base_report())
    result = sqlite_tracker.record_report(report(
        "r-ucdp", {"fact": "casualties", "incident": "niaki", "killed": 20, "low": 25,
                   "high": 15}, source={"name": "UCDP GED", "kind": "dataset"}))
    assert result.recorded
    figures = sqlite_tracker.get_entity("incident", "niaki")["figures"].values()
    assert {(f["killed"], f["low"], f["high"]) for f in figures} >= {(20, 25, 15)}


def test_a_range_that_holds_best_is_recorded(sqlite_tracker):
    sqlite_tracker.record_report(base_report())
    for n, figure in enumerate(({"killed": 20, "low": 20, "high": 20},
                                {"killed": 20, "low": 15, "high": 25}, {"killed": 0},
                                {"killed": 20, "low": 3}, {"killed": 20, "high": 30})):
        assert sqlite_tracker.record_report(report(
            f"r-ok-{n}", {"fact": "casualties", "incident": "niaki", **figure},
            source={"name": "Reuters", "kind": "media"})).recorded


def test_a_name_shared_with_one_actor_and_an_alias_of_another_is_refused(groups):
    # "Dawla" names aaa, and is the alias of zzz (linked to aaa as the same actor): a new
    # actor named so would be found by zzz's alias.
    groups.record_report(report(
        "r-dawla", {"fact": "actor", "id": "aaa", "name": "Dawla", "kind": "armed_group"},
        {"fact": "actor", "id": "zzz", "name": "Z", "kind": "armed_group",
         "aliases": ["Dawla"]},
        {"fact": "same_actor", "actor": "aaa", "same_as": "zzz"}))
    [(index, field, message)] = refused(groups, report("r-new", {
        "fact": "actor", "id": "new-group", "name": "Dawla", "kind": "armed_group"}))
    assert (index, field) == (0, "name")
    assert message.startswith("'Dawla' is an alias of actor 'zzz'")


def test_a_retracted_death_no_longer_ends_roles_nor_refuses_new_ones(tracker):
    """The rules read the person's state as the live reports leave it: a retracted death
    gives back the roles it ended (as the leadership view does) and no longer refuses a
    later role; a role-holder is then a person again for the kind rule."""
    tracker.record_report(report("r-isgs", *HUZEIFA))
    tracker.record_report(report("r-death", {"fact": "death", "person": "huzeifa",
                                             "date": "2022-06-01"}))
    assert tracker.get_entity("actor", "huzeifa")["roles"] == {}
    tracker.record_report(report("r-x", {"fact": "retraction",
                                         "target": {"report": "r-death"}, "reason": "wrong"}))
    person = tracker.get_entity("actor", "huzeifa")
    assert person["fate"] is None and list(person["roles"]) == ["isgs/leader"]
    assert tracker.record_report(report("r-role", {
        "fact": "role", "person": "huzeifa", "group": "isgs", "role": "deputy",
        "since": "2023-01-01"})).recorded
    assert refused(tracker, report("r-kind", correction(
        {"actor": "huzeifa"}, "kind", "armed_group")))[0][:2] == (0, "value")


def test_a_planned_status_may_come_before_the_start(sqlite_tracker):
    sqlite_tracker.record_report(base_report())
    sqlite_tracker.record_report(report("r-op", {
        "fact": "operation", "id": "op", "name": "Op", "lead": "france",
        "started": "2020-10-01"}))
    assert sqlite_tracker.record_report(report("r-plan", {
        "fact": "operation_status", "operation": "op", "status": "planned",
        "date": "2020-09-01"})).recorded


def test_an_incident_fact_sent_again_after_a_cleared_field_is_the_same(sqlite_tracker):
    """A field cleared by a null correction, or set back by a withdrawn one, is absent:
    a second source sending the incident as it now stands records nothing new for it."""
    sqlite_tracker.record_report(base_report())
    sqlite_tracker.record_report(report("r-c", correction(
        {"incident": "niaki"}, "location.admin2", "Djenne")))
    sqlite_tracker.record_report(report("r-x", {"fact": "retraction",
                                                "target": {"report": "r-c"},
                                                "reason": "wrong"}))
    (incident,) = [f for f in base_report()["facts"] if f["fact"] == "incident"]
    assert sqlite_tracker.record_report(report("r-again", incident, source={
        "name": "Paper", "kind": "media"})).recorded


def test_a_withdrawn_actors_names_no_longer_block_another(sqlite_tracker):
    sqlite_tracker.record_report(report("r-a", {"fact": "actor", "id": "isgs",
                                                "name": "Islamic State Sahel",
                                                "kind": "armed_group",
                                                "aliases": ["IS Sahel"]}))
    sqlite_tracker.record_report(report("r-x", {"fact": "retraction",
                                                "target": {"report": "r-a"},
                                                "reason": "wrong"}))
    assert sqlite_tracker.record_report(report("r-b", {
        "fact": "actor", "id": "issp", "name": "IS Sahel Province", "kind": "armed_group",
        "aliases": ["IS Sahel"]})).recorded


def test_a_report_may_correct_the_date_its_other_facts_would_contradict(sqlite_tracker):
    """The date checks read the dates as the report leaves them: a status dated before the
    recorded start, sent with a correction of the start, is recorded; so is a role after
    the recorded death sent with a correction of the death's date."""
    sqlite_tracker.record_report(base_report())
    sqlite_tracker.record_report(report("r-op", {
        "fact": "operation", "id": "op", "name": "Op", "lead": "france",
        "started": "2014-08-01"}))
    status = {"fact": "operation_status", "operation": "op", "status": "active",
              "date": "2014-07-20"}
    assert refused(sqlite_tracker, report("r-s", status))[0][:2] == (0, "date")
    assert sqlite_tracker.record_report(report(
        "r-s", status, correction({"operation": "op"}, "started", "2014-07-20"))).recorded
    sqlite_tracker.record_report(report("r-isgs", *HUZEIFA))
    sqlite_tracker.record_report(report("r-death", {"fact": "death", "person": "huzeifa",
                                                    "date": "2022-06-01"}))
    role = {"fact": "role", "person": "huzeifa", "group": "isgs", "role": "deputy",
            "since": "2023-01-01"}
    assert refused(sqlite_tracker, report("r-role", role))[0][:2] == (0, "since")
    assert sqlite_tracker.record_report(report(
        "r-role", role, correction({"actor": "huzeifa"}, "fate.date", "2023-06-01"))).recorded
