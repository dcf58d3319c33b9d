"""The Link aggregate: what reports say about whether two records are one real thing —
two incident records of one event, two actors that are one group. One aggregate per
unordered pair; each report's assertion is an event, so a link holds from the moment it
was recorded until its report is retracted, and the picture before it stays reproducible."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from tracker.domain.base import entity_id

SAME, DISTINCT = "same", "distinct"


def pair_key(kind: str, a: str, b: str) -> str:
    """The key of the link between records `a` and `b` of `kind` (either order)."""
    first, second = sorted((a, b))
    return f"{kind}:{first}|{second}"


class Link(Aggregate):
    """The live assertions about one pair of records, by report."""

    @event("LinkOpened")
    def __init__(self, key: str, kind: str, a: str, b: str, provenance: dict[str, Any]
                 ) -> None:
        self.key = key
        self.kind = kind
        self.a, self.b = a, b
        self.assertions: dict[str, dict[str, Any]] = {}
        self.retracted_reports: set[str] = set()

    @staticmethod
    def create_id(key: str) -> UUID:
        return entity_id("link", key)

    @property
    def status(self) -> str | None:
        """`distinct` while any live report says so (an analyst's "not the same" stands),
        else `same` while any live report links them, else None."""
        relations = {a["relation"] for a in self.assertions.values()}
        return DISTINCT if DISTINCT in relations else SAME if SAME in relations else None

    def assert_identity(self, relation: str, record: str, other: str, score: float | None,
                        method: str | None, provenance: dict[str, Any]) -> None:
        held = self.assertions.get(provenance["report"])
        if held is not None and held["relation"] == relation and held["record"] == record:
            return
        self._asserted(relation=relation, record=record, other=other, score=score,
                       method=method, provenance=provenance)

    @event("IdentityAsserted")
    def _asserted(self, relation: str, record: str, other: str, score: float | None,
                  method: str | None, provenance: dict[str, Any]) -> None:
        self.assertions[provenance["report"]] = {
            "relation": relation, "record": record, "other": other, "score": score,
            "method": method}

    def retract_report(self, report: str, reason: str, provenance: dict[str, Any]) -> None:
        if report not in self.retracted_reports:
            self._report_retracted(report=report, reason=reason, provenance=provenance)

    @event("LinkReportRetracted")
    def _report_retracted(self, report: str, reason: str, provenance: dict[str, Any]) -> None:
        self.retracted_reports.add(report)
        self.assertions.pop(report, None)
