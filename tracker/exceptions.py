"""Errors of the write side. The API maps each class to one HTTP status."""

from __future__ import annotations

from typing import Any


class TrackerError(Exception):
    """Raised when a command breaks a rule of the tracker."""

    code = "tracker_error"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self)}


class FactError(TrackerError):
    """Raised when one fact of a report is invalid; names the fact index and field."""

    code = "invalid_fact"

    def __init__(self, index: int | None, field: str, message: str,
                 follows: int | None = None) -> None:
        self.index = index
        self.field = field
        self.message = message
        # The refused fact of the same report this refusal follows from (it names an
        # entity that fact would have registered), if any.
        self.follows = follows
        where = f"fact {index}" if index is not None else "report"
        super().__init__(f"{where}, field '{field}': {message}")

    def as_error(self) -> dict[str, Any]:
        return {"fact": self.index, "field": self.field, "message": self.message}


class ReportValidationError(TrackerError):
    """Raised when a report is refused; carries every fact error found."""

    code = "invalid_report"

    def __init__(self, errors: list[FactError]) -> None:
        self.errors = errors
        lines = "; ".join(str(e) for e in errors[:10])
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        super().__init__(f"report refused, nothing recorded: {lines}{more}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": str(self),
            "errors": [e.as_error() for e in self.errors],
        }


class ReportConflictError(TrackerError):
    """Raised when a report id was already recorded with other content."""

    code = "report_conflict"

    def __init__(self, report_id: str) -> None:
        self.report_id = report_id
        super().__init__(
            f"report '{report_id}' was already recorded with different content; "
            "send a new report (with a new id) that corrects or retracts it"
        )


class ConcurrentWriteError(TrackerError):
    """Raised when a report kept colliding with other writers and was not recorded."""

    code = "write_conflict"


class EntityNotFoundError(TrackerError):
    """Raised when an entity (actor, incident, operation, report) does not exist."""

    code = "not_found"

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"no {kind} with id '{key}'")


class StoreUnavailableError(TrackerError):
    """Raised when the event store or the read model cannot be reached (503); the
    request can be sent again once it is back."""

    code = "store_unavailable"


class EventUnreadableError(TrackerError):
    """Raised when a stored event cannot be decoded (damaged); names its log position."""

    code = "unreadable_event"

    def __init__(self, position: int | None, topic: str, reason: str) -> None:
        self.position = position
        self.topic = topic
        self.reason = reason
        where = f"at position {position}" if position is not None else "(position unknown)"
        super().__init__(f"the stored event {where} ({topic}) cannot be read: {reason}; "
                         "`tracker verify` checks the log")

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self),
                "errors": [{"field": "position", "message": str(self.position)}]}


class ConfigurationError(TrackerError):
    """Raised when the configuration (database URL, Redis URL) is unusable."""

    code = "configuration_error"


class TokenError(TrackerError):
    """Raised when a token cannot be issued (unknown role, name taken)."""

    code = "token_error"


class AuthError(TrackerError):
    """Raised when a request has no valid token (401)."""

    code = "unauthorized"


class ForbiddenError(TrackerError):
    """Raised when a token's role does not allow the request (403)."""

    code = "forbidden"


class ViewsBehindError(TrackerError):
    """Raised when the views have not reached a requested position in time (503)."""

    code = "views_behind"


class QuarantineError(TrackerError):
    """Raised when events cannot be set aside (a position not in the log, no reason)."""

    code = "quarantine_error"


class FoldStuckError(TrackerError):
    """Raised when a rebuild cannot fold an event of the log: it names the position and
    the reason; the active views are left as they were."""

    code = "fold_stuck"

    def __init__(self, failure: dict[str, Any]) -> None:
        self.failure = failure
        super().__init__(describe_failure(failure))


def describe_failure(f: dict[str, Any]) -> str:
    """One line naming a stuck fold: where, which report, why, and the way out."""
    span = (f"position {f['position']}" if f["position"] == f["last"]
            else f"positions {f['position']}..{f['last']}")
    report = f" (report {f['report']})" if f.get("report") else ""
    return (f"the views cannot fold the events at {span}{report}: {f['reason']}; "
            f"restore the event, or set it aside with `tracker quarantine {f['position']}"
            + ("" if f["position"] == f["last"] else f"-{f['last']}")
            + " --reason ...`")
