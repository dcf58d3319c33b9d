"""The incident index: every incident with location, date and precision, actors,
casualties (best/low/high and each source's figure), materiel, sources and corrections."""

from __future__ import annotations

from typing import Any

from projections.base import handles, uid
from projections.incident_state import INCIDENT_EVENTS, IncidentDocuments, fold_incident
from projections.views.base import Batch


class IncidentIndexProjection(IncidentDocuments):
    """One document per incident, for filtered, paged lists and detail pages."""

    name = "incidents"
    version = 1
    collections = ("incident",)

    @handles(*INCIDENT_EVENTS)
    def incident_changed(self, event: Any, position: int, batch: Batch) -> None:
        after = fold_incident(batch.get("incident", uid(event)), event, position)
        if after is not None:
            batch.put("incident", uid(event), after)
