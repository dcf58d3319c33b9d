"""The Operation aggregate: a named military operation, its lead, partners and status."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from tracker.domain.base import entity_id, get_path, set_path


class Operation(Aggregate):
    """A military operation (Barkhane, Takuba) and the history of its status."""

    @event("OperationLaunched")
    def __init__(self, key: str, details: dict[str, Any], provenance: dict[str, Any]) -> None:
        self.key = key
        self.details = details
        self.report = provenance["report"]
        self.retracted: str | None = None
        self.retracted_reports: set[str] = set()

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

    def correct(self, field: str, value: Any, reason: str, provenance: dict[str, Any]) -> None:
        previous = get_path(self.details, field)
        if previous != value:
            self._corrected(
                field=field, previous=previous, value=value, reason=reason, provenance=provenance
            )

    @event("OperationCorrected")
    def _corrected(
        self, field: str, previous: Any, value: Any, reason: str, provenance: dict[str, Any]
    ) -> None:
        set_path(self.details, field, value)

    def retract(self, reason: str, provenance: dict[str, Any]) -> None:
        if self.retracted is None:
            self._retracted(reason=reason, provenance=provenance)

    @event("OperationRetracted")
    def _retracted(self, reason: str, provenance: dict[str, Any]) -> None:
        self.retracted = reason

    def retract_report(self, report: str, reason: str, provenance: dict[str, Any]) -> None:
        if report not in self.retracted_reports:
            self._report_retracted(report=report, reason=reason, provenance=provenance)

    @event("OperationReportRetracted")
    def _report_retracted(self, report: str, reason: str, provenance: dict[str, Any]) -> None:
        self.retracted_reports.add(report)
        if self.report == report:
            self.retracted = reason
