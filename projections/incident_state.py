"""Pure fold of one incident's events into a plain dict, shared by the views that need it.

Every function here takes the current state (or None) and one event and returns the new
state; nothing reads or writes a store.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from projections.figures import incident_killed
from tracker.application import to_jsonable
from tracker.domain.base import set_path

INCIDENT_EVENTS = ("IncidentReported", "CasualtiesReported", "MaterielReported",
                   "IncidentCorrected", "IncidentRetracted", "IncidentReportRetracted")


def fold_incident(state: dict[str, Any] | None, event: Any, position: int) -> dict[str, Any] | None:
    """The incident after `event` (an event of the Incident aggregate).

    Changes `state` in place (copying every document would dominate a rebuild): callers
    take what they need from the state before calling."""
    name = type(event).__name__
    prov = event.provenance
    if name == "IncidentReported":
        return {
            "id": event.key,
            "details": copy_details(event.details),
            "report": prov["report"],
            "reports": [prov["report"]],
            "sources": [prov["source"]["name"]],
            "figures": {},
            "materiel": [],
            "corrections": [],
            "retracted": None,
            "first_position": position,
            "last_position": position,
            "recorded": event.timestamp.isoformat(),
        }
    if state is None:
        return None
    state["last_position"] = position
    if prov["report"] not in state["reports"]:
        state["reports"].append(prov["report"])
    if name == "CasualtiesReported":
        state["figures"][f"{event.source}\x1f{event.actor or ''}"] = {
            "source": event.source, "actor": event.actor, "killed": event.killed,
            "low": event.low, "high": event.high, "report": prov["report"], "seq": position,
            **to_jsonable(event.extra),
        }
        if event.source not in state["sources"]:
            state["sources"].append(event.source)
    elif name == "MaterielReported":
        state["materiel"].append({"action": event.action, "items": list(event.items),
                                  "report": prov["report"]})
    elif name == "IncidentCorrected":
        set_path(state["details"], event.field, to_jsonable(event.value))
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
