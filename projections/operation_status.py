"""Operation status: each operation's status and its history, lead, partners, the
incidents linked to it and their casualties."""

from __future__ import annotations

from typing import Any

from projections.base import Projection, handles, uid
from projections.figures import ZERO, add, strip
from projections.incident_state import INCIDENT_EVENTS, fold_incident, killed
from projections.views.base import Batch, DocKey
from tracker.audit import to_jsonable
from tracker.domain.base import entity_id, set_path


def op_doc_id(key: str) -> str:
    return entity_id("operation", key).hex


def link(state: dict[str, Any] | None) -> tuple[str, dict[str, int]] | None:
    """(operation key, killed) an incident contributes, or None."""
    if state is None or state["retracted"] or not state["details"].get("operation"):
        return None
    return state["details"]["operation"], strip(killed(state))


class OperationStatusProjection(Projection):
    """Per operation: status, status history, lead, partners, incidents and killed."""

    name = "operations"
    version = 1
    collections = ("operation", "incident")

    def prefetch_keys(self, event: Any) -> list[DocKey]:
        coll = "incident" if type(event).__name__ in INCIDENT_EVENTS else "operation"
        return [(coll, uid(event))]

    def absent_keys(self, event: Any) -> list[DocKey]:
        # Not OperationLaunched: incidents may name an operation before it is launched.
        return [("incident", uid(event))] if type(event).__name__ == "IncidentReported" else []

    @handles("OperationLaunched")
    def launched(self, event: Any, position: int, batch: Batch) -> None:
        d = to_jsonable(event.details)
        existing = batch.get("operation", uid(event)) or {}
        batch.put("operation", uid(event), {
            "id": event.key, "name": d["name"], "status": d.get("status", "active"),
            "lead": d["lead"], "partners": d.get("partners", []), "started": d.get("started"),
            "notes": d.get("notes"), "report": event.provenance["report"], "retracted": None,
            "history": [{"status": d.get("status", "active"), "previous": None,
                         "date": d.get("started"), "report": event.provenance["report"],
                         "position": position}],
            # Incidents may name the operation before it is launched in the log.
            "incidents": existing.get("incidents", {}),
        })

    @handles("OperationStatusChanged")
    def status_changed(self, event: Any, position: int, batch: Batch) -> None:
        doc = batch.get("operation", uid(event))
        if doc is None:
            return
        doc["history"].append({"status": event.status, "previous": event.previous,
                               "date": to_jsonable(event.when),
                               "report": event.provenance["report"], "position": position})
        doc["status"] = event.status
        batch.put("operation", uid(event), doc)

    @handles("OperationCorrected")
    def corrected(self, event: Any, position: int, batch: Batch) -> None:
        doc = batch.get("operation", uid(event))
        if doc is not None:
            set_path(doc, event.field, to_jsonable(event.value))
            batch.put("operation", uid(event), doc)

    @handles("OperationRetracted")
    def retracted(self, event: Any, position: int, batch: Batch) -> None:
        doc = batch.get("operation", uid(event))
        if doc is not None:
            doc["retracted"] = event.reason
            batch.put("operation", uid(event), doc)

    @handles("OperationReportRetracted")
    def report_retracted(self, event: Any, position: int, batch: Batch) -> None:
        doc = batch.get("operation", uid(event))
        if doc is None:
            return
        if doc["report"] == event.report:
            doc["retracted"] = event.reason
        kept = [h for h in doc["history"] if h["report"] != event.report]
        doc["history"] = kept or doc["history"][:1]
        doc["status"] = doc["history"][-1]["status"]
        batch.put("operation", uid(event), doc)

    @handles(*INCIDENT_EVENTS)
    def incident_changed(self, event: Any, position: int, batch: Batch) -> None:
        doc_id = uid(event)
        state = batch.get("incident", doc_id)
        # The link before this batch is noted at the incident's first event in it; `flush`
        # compares it with the link after, once per incident.
        touched: dict[str, Any] = batch.scratch.setdefault("touched", {})
        if doc_id not in touched:
            touched[doc_id] = link(state)
        after = fold_incident(state, event, position, keep=frozenset({"operation"}))
        if after is not None:
            batch.put("incident", doc_id, after)

    def flush(self, batch: Batch) -> None:
        for doc_id, old in batch.scratch.pop("touched", {}).items():
            after = batch.get("incident", doc_id)
            if after is None:
                continue
            new = link(after)
            if old == new:
                continue
            if old is not None:
                self._set_incident(batch, old[0], after["id"], None)
            if new is not None:
                self._set_incident(batch, new[0], after["id"], new[1])

    @staticmethod
    def _set_incident(batch: Batch, op_key: str, incident: str,
                      figure: dict[str, int] | None) -> None:
        doc = batch.get("operation", op_doc_id(op_key)) or {"id": op_key, "incidents": {}}
        if figure is None:
            doc["incidents"].pop(incident, None)
        else:
            doc["incidents"][incident] = figure
        batch.put("operation", op_doc_id(op_key), doc)


def operation_killed(doc: dict[str, Any]) -> dict[str, int]:
    total = dict(ZERO)
    for figure in doc.get("incidents", {}).values():
        total = add(total, figure)
    return total
