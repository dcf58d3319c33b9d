"""Events as the log, entity histories and the API show them: JSON-ready, with provenance."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from eventsourcing.persistence import Notification

    from tracker.application import ConflictTracker

# The log's pages (`/events`, `tracker log`): positions are 64-bit signed integers in both
# event stores; a page holds at most MAX_EVENTS_PAGE events.
MAX_POSITION = 2**63 - 1
MAX_EVENTS_PAGE = 10_000

KIND_OF_TOPIC = {
    "tracker.domain.actor": "actor", "tracker.domain.incident": "incident",
    "tracker.domain.operation": "operation", "tracker.domain.report": "report",
    "tracker.domain.token": "token", "tracker.domain.quarantine": "quarantine",
    "tracker.domain.link": "link",
}


def recorded_at(event: Any) -> datetime:
    """Knowledge time of an event: when its report was recorded."""
    recorded = (getattr(event, "provenance", None) or {}).get("recorded_at")
    return datetime.fromisoformat(recorded) if recorded else event.timestamp  # type: ignore


def to_jsonable(value: Any) -> Any:
    """Dates, datetimes, UUIDs and sets as JSON-friendly values."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    return value


def describe_event(event: Any, position: int | None) -> dict[str, Any]:
    """One event as the log, history and API show it."""
    state = dict(vars(event))
    provenance = state.pop("provenance", {}) or {}
    topic_module = type(event).__module__
    kind = KIND_OF_TOPIC.get(topic_module, "unknown")
    subject = str(provenance.get("subject", ""))
    payload = {k: v for k, v in state.items()
               if k not in ("originator_id", "originator_version", "timestamp",
                            "originator_topic", "secret_hash")}
    return to_jsonable({
        "position": position,
        "type": type(event).__name__,
        "entity": {"kind": kind, "id": subject.partition("/")[2] or None,
                   "aggregate_id": event.originator_id, "version": event.originator_version},
        "recorded": provenance.get("recorded_at") or event.timestamp,
        "provenance": provenance,
        "payload": payload,
    })


def describe_notification(app: ConflictTracker, n: Notification) -> dict[str, Any]:
    return describe_event(app.mapper.to_domain_event(n), n.id)
