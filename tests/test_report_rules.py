"""What a report may say given what is recorded, and how a refusal reads: each refusal
names the fact index and the field, and says what to do."""

from __future__ import annotations

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
