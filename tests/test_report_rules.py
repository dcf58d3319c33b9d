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
