"""The Quarantine aggregate: stored events the views set aside, by an administrator's
decision, because they cannot be folded (a store written before the format's limits, or a
damaged event). One per log; every decision is an event with its reason and who made it,
so setting an event aside is as traceable as recording it. The events themselves stay in
the log, in `tracker log` and `tracker history`, untouched."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from tracker.domain.base import entity_id

LOG_KEY = "log"


class Quarantine(Aggregate):
    """The log positions whose events the views do not fold."""

    @event("QuarantineOpened")
    def __init__(self, key: str) -> None:
        self.key = key
        self.positions: dict[int, str] = {}

    @staticmethod
    def create_id(key: str) -> UUID:
        return entity_id("quarantine", key)

    def set_aside(self, positions: list[int], reason: str, provenance: dict[str, Any]) -> None:
        new = sorted(p for p in set(positions) if p not in self.positions)
        if new:
            self._set_aside(positions=new, reason=reason, provenance=provenance)

    @event("EventsQuarantined")
    def _set_aside(self, positions: list[int], reason: str, provenance: dict[str, Any]
                   ) -> None:
        for p in positions:
            self.positions[p] = reason
