"""The Operation aggregate: a named military operation, its lead, partners and status."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from tracker.domain.base import Revisable, copy_tree, entity_id, set_path


class Operation(Revisable, Aggregate):
    """A military operation (Barkhane, Takuba) and the history of its status."""

    @event("OperationLaunched")
    def __init__(self, key: str, details: dict[str, Any], provenance: dict[str, Any]) -> None:
        self.key = key
        # A copy: the event keeps what was reported, whatever happens to the aggregate.
        self.details = copy_tree(details)
        self.report = provenance["report"]
        self.retracted: str | None = None
        self.retracted_reports: set[str] = set()
        # Each status and the report that gave it, so a retracted report's change is undone.
        self.status_history: list[dict[str, Any]] = [
            {"status": self.details.get("status"), "report": self.report}]

    @staticmethod
    def create_id(key: str) -> UUID:
        return entity_id("operation", key)

    @property
    def status(self) -> str:
        return str(self.details["status"])

    def is_same_report_of(self, details: dict[str, Any]) -> bool:
        return all(self.details.get(k) == v for k, v in details.items())

    def change_status(self, status: str, when: date | None, provenance: dict[str, Any]) -> None:
        if status != self.status:
            self._status_changed(
                status=status, previous=self.status, when=when, provenance=provenance
            )

    @event("OperationStatusChanged")
    def _status_changed(
        self, status: str, previous: str, when: date | None, provenance: dict[str, Any]
    ) -> None:
        self.details["status"] = status
        self.status_history.append({"status": status, "report": provenance["report"]})

    @event("OperationCorrected")
    def _corrected(
        self, field: str, previous: Any, value: Any, reason: str, provenance: dict[str, Any]
    ) -> None:
        self._note_correction(field, previous, value, provenance["report"])
        set_path(self.details, field, value)

    @event("OperationRetracted")
    def _retracted(self, reason: str, provenance: dict[str, Any]) -> None:
        self.retracted = reason

    @event("OperationReportRetracted")
    def _report_retracted(self, report: str, reason: str, provenance: dict[str, Any]) -> None:
        self.retracted_reports.add(report)
        if self.report == report:
            self.retracted = reason
        self._withdraw_corrections(report)
        # The status changes it reported stop counting (as in the operations view).
        kept = [h for h in self.status_history if h["report"] != report]
        self.status_history = kept or self.status_history[:1]
        self.details["status"] = self.status_history[-1]["status"]
