"""Pure fold of one incident's events into a plain dict, shared by the views that need it.

Every function here takes the current state (or None) and one event and returns the new
state; nothing reads or writes a store. `IncidentDocuments` is the base of the views that
keep one such state per incident.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from projections.base import Projection, uid
from projections.figures import incident_killed
from projections.views.base import DocKey
from tracker.audit import to_jsonable
from tracker.domain.base import set_path

INCIDENT_EVENTS = ("IncidentReported", "CasualtiesReported", "MaterielReported",
                   "IncidentCorrected", "IncidentRetracted", "IncidentReportRetracted")


class IncidentDocuments(Projection):
    """A projection that keeps one document per incident, in its 'incident' collection,
    written only by that incident's events."""

    def prefetch_keys(self, event: Any) -> list[DocKey]:
        return [("incident", uid(event))]

    def absent_keys(self, event: Any) -> list[DocKey]:
        # An incident's first event: no document of it can exist yet.
        return [("incident", uid(event))] if type(event).__name__ == "IncidentReported" else []


def fold_incident(state: dict[str, Any] | None, event: Any, position: int,
                  keep: frozenset[str] | None = None) -> dict[str, Any] | None:
    """The incident after `event` (an event of the Incident aggregate).

    Changes `state` in place (copying every document would dominate a rebuild): callers
    take what they need from the state before calling. With `keep`, only those detail
    fields are kept, and no sources, materiel or corrections lists: a slim state for views
    that only count."""
    name = type(event).__name__
    prov = event.provenance
    slim = keep is not None
    if name == "IncidentReported":
        details = event.details if keep is None else {
            k: v for k, v in event.details.items() if k in keep}
        state = {"id": event.key, "details": copy_details(details), "report": prov["report"],
                 "figures": {}, "retracted": None}
        if not slim:
            state.update(reports=[prov["report"]], sources=[prov["source"]["name"]],
                         materiel=[], corrections=[], first_position=position,
                         last_position=position, recorded=event.timestamp.isoformat())
        return state
    if state is None:
        return None
    if not slim:
        state["last_position"] = position
        if prov["report"] not in state["reports"]:
            state["reports"].append(prov["report"])
    if name == "CasualtiesReported":
        state["figures"][f"{event.source}\x1f{event.actor or ''}"] = {
            "source": event.source, "actor": event.actor, "killed": event.killed,
            "low": event.low, "high": event.high, "report": prov["report"], "seq": position,
            **({} if slim else to_jsonable(event.extra)),
        }
        if not slim and event.source not in state["sources"]:
            state["sources"].append(event.source)
    elif name == "MaterielReported":
        if not slim:
            state["materiel"].append({"action": event.action, "items": list(event.items),
                                      "report": prov["report"]})
    elif name == "IncidentCorrected":
        if keep is None or event.field.split(".", 1)[0] in keep:
            set_path(state["details"], event.field, to_jsonable(event.value))
        if not slim:
            state["corrections"].append({
                "field": event.field, "previous": to_jsonable(event.previous),
                "value": to_jsonable(event.value), "reason": event.reason,
                "report": prov["report"], "position": position})
    elif name == "IncidentRetracted":
        state["retracted"] = event.reason
    elif name == "IncidentReportRetracted":
        if state["report"] == event.report:
            state["retracted"] = event.reason
        state["figures"] = {k: f for k, f in state["figures"].items()
                            if f["report"] != event.report}
        if not slim:
            state["materiel"] = [m for m in state["materiel"] if m["report"] != event.report]
    return state


def copy_details(details: dict[str, Any]) -> dict[str, Any]:
    """A JSON-ready copy of an incident's details, sharing nothing with the event (the
    fold changes states in place). Dates are the only non-JSON values; containers are
    at most two levels deep, so this is much cheaper than a generic deep conversion."""
    out: dict[str, Any] = {}
    for key, value in details.items():
        if isinstance(value, date):
            out[key] = value.isoformat()
        elif isinstance(value, dict):
            out[key] = dict(value)
        elif isinstance(value, list):
            out[key] = [dict(v) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


def involved_actors(state: dict[str, Any]) -> list[str]:
    """Actors taking part, in report order, plus any actor a figure names."""
    actors = [a["actor"] for a in state["details"].get("actors", [])]
    for f in state["figures"].values():
        if f.get("actor") and f["actor"] not in actors:
            actors.append(f["actor"])
    return actors


def killed(state: dict[str, Any]) -> dict[str, Any]:
    return incident_killed(state["figures"])
