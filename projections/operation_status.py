"""Operation status: a fold of the Operation aggregate's events into one document per
operation (status and its history, lead, partners). Its incidents and their killed are
read from the incidents and tallies of the read model (`by operation`)."""

from __future__ import annotations

from typing import Any

from projections.decode import RawEvent
from tracker.domain.base import entity_id, set_path, withdraw_corrections

OPERATION_EVENTS = frozenset({"OperationLaunched", "OperationStatusChanged",
                              "OperationCorrected", "OperationRetracted",
                              "OperationReportRetracted"})


def op_doc_id(key: str) -> str:
    return entity_id("operation", key).hex


def fold_operation(doc: dict[str, Any] | None, event: RawEvent) -> dict[str, Any] | None:
    """The operation after `event` (changes `doc` in place)."""
    e, name = event.data, event.name
    report = e["provenance"]["report"]
    if name == "OperationLaunched":
        d = e["details"]
        status = d.get("status", "active")
        return {"id": e["key"], "name": d["name"], "status": status, "lead": d["lead"],
                "partners": d.get("partners", []), "started": d.get("started"),
                "notes": d.get("notes"), "report": report, "retracted": None,
                "history": [{"status": status, "previous": None, "date": d.get("started"),
                             "report": report, "position": event.position}]}
    if doc is None:
        return None
    if name == "OperationStatusChanged":
        doc["history"].append({"status": e["status"], "previous": e["previous"],
                               "date": e.get("when"), "report": report,
                               "position": event.position})
        doc["status"] = e["status"]
    elif name == "OperationCorrected":
        # What retracting its report undoes (tracker.domain.base.withdraw_corrections).
        doc.setdefault("originals", {}).setdefault(e["field"], e["previous"])
        doc.setdefault("corrections", []).append(
            {"field": e["field"], "value": e["value"], "report": report})
        set_path(doc, e["field"], e["value"])
    elif name == "OperationRetracted":
        doc["retracted"] = e["reason"]
    elif name == "OperationReportRetracted":
        if doc["report"] == e["report"]:
            doc["retracted"] = e["reason"]
        live, changes = withdraw_corrections(doc.get("corrections", []),
                                             doc.get("originals", {}), e["report"])
        if changes:
            doc["corrections"] = live
            for path, value in changes:
                set_path(doc, path, value)
        kept = [h for h in doc["history"] if h["report"] != e["report"]]
        doc["history"] = kept or doc["history"][:1]
        doc["status"] = doc["history"][-1]["status"]
    return doc
