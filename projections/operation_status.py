"""Operation status: each operation's status and its history, lead and partners.

The incidents linked to an operation and their casualties are a dimension of the casualty
tallies (`tally:operation`), which fold each incident once for every figure they show;
`Views.operations` puts the two together."""

from __future__ import annotations

from typing import Any

from projections.base import Projection, handles, uid
from projections.views.base import Batch, DocKey
from tracker.audit import to_jsonable
from tracker.domain.base import entity_id, set_path


def op_doc_id(key: str) -> str:
    return entity_id("operation", key).hex


class OperationStatusProjection(Projection):
    """Per operation: status, status history, lead and partners."""

    name = "operations"
    version = 2
    collections = ("operation",)

    def prefetch_keys(self, event: Any) -> list[DocKey]:
        return [("operation", uid(event))]

    def absent_keys(self, event: Any) -> list[DocKey]:
        return [("operation", uid(event))] if type(event).__name__ == "OperationLaunched" else []

    @handles("OperationLaunched")
    def launched(self, event: Any, position: int, batch: Batch) -> None:
        d = to_jsonable(event.details)
        batch.put("operation", uid(event), {
            "id": event.key, "name": d["name"], "status": d.get("status", "active"),
            "lead": d["lead"], "partners": d.get("partners", []), "started": d.get("started"),
            "notes": d.get("notes"), "report": event.provenance["report"], "retracted": None,
            "history": [{"status": d.get("status", "active"), "previous": None,
                         "date": d.get("started"), "report": event.provenance["report"],
                         "position": position}],
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
