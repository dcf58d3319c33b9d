"""The founding article's facts as fact reports, and a loader that records them."""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracker.application import ConflictTracker, RecordResult


def seed_reports() -> list[dict[str, Any]]:
    """The seed reports in the order they were first published (file name order)."""
    files = sorted(
        (f for f in resources.files(__package__).iterdir() if f.name.endswith(".json")),
        key=lambda f: f.name,
    )
    return [json.loads(f.read_text(encoding="utf-8")) for f in files]


def load_seeds(tracker: ConflictTracker, recorded_by: str = "seed") -> list[RecordResult]:
    """Records every seed report; reports already recorded record nothing. A seed report
    recorded by an earlier version of the seeds (say, before its source gave `published`)
    is kept as it was: the log is never rewritten, and seeding again must not fail; its
    result says so (`warning`)."""
    from tracker.application import RecordResult
    from tracker.exceptions import ReportConflictError

    results = []
    for report in seed_reports():
        try:
            results.append(tracker.record_report(report, recorded_by=recorded_by))
        except ReportConflictError:
            results.append(RecordResult(
                report["report"], recorded=False,
                warning="an earlier version of this seed report is recorded; it is kept "
                        "(send a correction or a new report to change what it says)"))
    return results
