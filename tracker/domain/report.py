"""The Report aggregate: one received report, its content hash and what it touched."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from tracker.domain.base import copy_tree, entity_id


class Report(Aggregate):
    """A fact report as received. Its id is the idempotency key of the whole report."""

    @event("ReportRecorded")
    def __init__(
        self,
        key: str,
        source: dict[str, Any],
        content_hash: str,
        fact_count: int,
        entities: list[list[str]],
        provenance: dict[str, Any],
    ) -> None:
        self.key = key
        self.source = copy_tree(source)
        self.content_hash = content_hash
        self.fact_count = fact_count
        self.entities = copy_tree(entities)
        self.retracted: str | None = None

    @staticmethod
    def create_id(key: str) -> UUID:
        return entity_id("report", key)

    def retract(self, reason: str, provenance: dict[str, Any]) -> None:
        if self.retracted is None:
            self._retracted(reason=reason, provenance=provenance)

    @event("ReportRetracted")
    def _retracted(self, reason: str, provenance: dict[str, Any]) -> None:
        self.retracted = reason
