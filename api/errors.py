"""One JSON error shape for every error: {"code", "status", "message", "errors"}.

One table maps exception classes to HTTP statuses; HTTP errors raised by Flask itself
(404 on an unknown route, 405, 413, 415…) and unexpected exceptions get the same shape,
never an HTML page or a stack trace.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from projections.readmodel.queries import QueryError
from tracker.exceptions import (
    AuthError,
    ConcurrentWriteError,
    ConfigurationError,
    EntityNotFoundError,
    EventUnreadableError,
    ForbiddenError,
    ReportConflictError,
    ReportValidationError,
    StoreUnavailableError,
    TokenError,
    TrackerError,
    ViewsBehindError,
)
from tracker.tlog import TreeError
from tracker.transparency import NoCheckpointError, ProofError, SigningKeyError

log = logging.getLogger(__name__)

STATUS: dict[type[Exception], int] = {
    ReportValidationError: 422,
    QueryError: 422,
    ProofError: 422,
    NoCheckpointError: 409,
    SigningKeyError: 500,
    TreeError: 500,
    EntityNotFoundError: 404,
    ReportConflictError: 409,
    ConcurrentWriteError: 409,
    AuthError: 401,
    ForbiddenError: 403,
    TokenError: 400,
    ViewsBehindError: 503,
    StoreUnavailableError: 503,
    EventUnreadableError: 500,
    ConfigurationError: 500,
}


def error_body(status: int, message: str, errors: Any = None) -> dict[str, Any]:
    """The one error shape: `errors` is always a list of {field, message} (plus `fact`
    for a refused report's facts)."""
    return {"code": status, "status": HTTPStatus(status).phrase, "message": message,
            "errors": field_errors(errors)}


def field_errors(errors: Any, prefix: str = "") -> list[dict[str, Any]]:
    """webargs/marshmallow messages ({location: {field: [messages]}}) as a flat list."""
    if errors is None:
        return []
    if isinstance(errors, list):
        if all(isinstance(e, dict) and "message" in e for e in errors):
            return errors
        return [{"field": prefix or "request", "message": str(m)} for m in errors]
    if isinstance(errors, dict):
        out: list[dict[str, Any]] = []
        for key, value in errors.items():
            name = str(key)
            if name in ("query", "json", "path", "headers", "form") and not prefix:
                out += field_errors(value)
            else:
                out += field_errors(value, f"{prefix}.{name}" if prefix else name)
        return out
    return [{"field": prefix or "request", "message": str(errors)}]


def invalid_request_message(listed: list[dict[str, Any]]) -> str:
    """The message of a 422 for bad parameters: each field with what is wrong with it."""
    return "invalid request: " + "; ".join(f"{e['field']}: {e['message']}"
                                           for e in listed[:10])


def status_of(e: TrackerError) -> int:
    """The HTTP status of a domain error (the STATUS table; 400 for any other)."""
    return next((s for cls, s in STATUS.items() if isinstance(e, cls)), 400)


def _tracker_error(e: TrackerError) -> Any:
    status = status_of(e)
    errors = e.to_dict().get("errors")
    response = jsonify(error_body(status, str(e), errors))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tracker"'
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


def _http_error(e: HTTPException) -> Any:
    status = e.code or 500
    errors = None
    data = getattr(e, "data", None)  # webargs puts its field messages here
    if isinstance(data, dict) and "messages" in data:
        errors = data["messages"]
    message = e.description or HTTPStatus(status).phrase
    if status == 422 and errors:
        message = invalid_request_message(field_errors(errors))
    if status == 413:
        message = "the request body is too large"
    response = jsonify(error_body(status, message, errors))
    response.status_code = status
    for key, value in (e.get_headers() if status == 405 else []):
        if key.lower() == "allow":
            response.headers["Allow"] = value
    return response


# Seconds a client should wait before sending again after a 503 for an outage: the API
# tries the store again FAIL_FAST (0.5 s) after it failed, so it serves within about a
# second of the store's return.
RETRY_AFTER = 1


def _store_unavailable(e: Exception) -> Any:
    """An outage of PostgreSQL (or the SQLite files): a JSON 503 with Retry-After, saying
    what failed (the disk is full; no answer in time; connection refused…) without any
    secret. The process answers the next requests at once with the same, without waiting
    on the store again, for FAIL_FAST seconds (then it tries again)."""
    response = jsonify(error_body(503, outage_message(e)))
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


def outage_message(e: Exception) -> str:
    """What a 503 says of an outage (logged, and the process marked unavailable for
    FAIL_FAST seconds): the API's JSON and the dashboard's page say the same."""
    import redis
    from flask import current_app

    from api.services import FAIL_FAST, describe_outage

    what = describe_outage(e)
    log.warning("store unavailable: %s (%s)", what, type(e).__name__)
    services = current_app.extensions.get("tracker")
    if services is not None and not isinstance(e, redis.RedisError) and what != "disk full":
        services.mark_unavailable(FAIL_FAST, what)
    if what == "disk full":
        from flask import request

        nothing = ", nothing was recorded" if request.method not in ("GET", "HEAD") else ""
        message = (f"storage full: the disk is full{nothing}; free space on the server, "
                   "then try again")
    else:
        message = f"storage unavailable ({what}); try again in {RETRY_AFTER} s"
    return message


def _unexpected(e: Exception) -> Any:
    log.exception("unexpected error")
    response = jsonify(error_body(500, "internal error; it has been logged"))
    response.status_code = 500
    return response


def register_error_handlers(app: Flask) -> None:
    from tracker.outages import outage_types

    app.register_error_handler(TrackerError, _tracker_error)
    # One list of what an outage is (tracker.outages), for the API, the follower and the
    # projector alike: each answers a JSON 503.
    for outage in outage_types():
        if issubclass(outage, Exception) and not issubclass(outage, TrackerError):
            app.register_error_handler(outage, _store_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
