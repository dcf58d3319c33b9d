"""POST /reports: what a report may say given what is recorded, and how refusals and
repeats read over HTTP."""

from __future__ import annotations

from tests.conftest import base_report


def test_a_retracted_report_sent_again_is_200_saying_by_which_report(admin):
    assert admin.report(base_report()).status_code == 201
    retraction = {"report": "r-retract", "source": {"name": "Desk", "kind": "analyst"},
                  "facts": [{"fact": "retraction", "target": {"report": "r-base"},
                             "reason": "wrong place"}]}
    assert admin.report(retraction).status_code == 201
    again = admin.report(base_report())
    assert again.status_code == 200
    assert again.json["recorded"] is False
    assert again.json["retracted"] == {"by": "r-retract", "reason": "wrong place"}
    live = admin.report(retraction)
    assert live.status_code == 200 and "retracted" not in live.json
