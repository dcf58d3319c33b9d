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
    assert message == "actor 'jnim' is of kind armed_group, not person"


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
