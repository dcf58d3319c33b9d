"""One JSON error shape for every error: {"code", "status", "message", "errors"}.

One table maps exception classes to HTTP statuses; HTTP errors raised by Flask itself
(404 on an unknown route, 405, 413, 415…) and unexpected exceptions get the same shape,
never an HTML page or a stack trace.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from eventsourcing.persistence import OperationalError as StoreOperationalError
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


def _tracker_error(e: TrackerError) -> Any:
    status = next((s for cls, s in STATUS.items() if isinstance(e, cls)), 400)
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
        listed = field_errors(errors)
        message = "invalid request: " + "; ".join(f"{e['field']}: {e['message']}"
                                                  for e in listed[:10])
    if status == 413:
        message = "the request body is too large"
    response = jsonify(error_body(status, message, errors))
    response.status_code = status
    for key, value in (e.get_headers() if status == 405 else []):
        if key.lower() == "allow":
            response.headers["Allow"] = value
    return response


RETRY_AFTER = 5


def _store_unavailable(e: Exception) -> Any:
    """An outage of PostgreSQL (or the SQLite files): a JSON 503 with Retry-After. The
    process answers the next requests at once with the same, without waiting on the store
    again, for a few seconds (then it tries again)."""
    from flask import current_app

    log.warning("store unavailable: %s: %s", type(e).__name__, str(e).splitlines()[0][:200]
                if str(e) else "")
    import redis

    services = current_app.extensions.get("tracker")
    if services is not None and not isinstance(e, redis.RedisError):
        services.mark_unavailable(RETRY_AFTER)
    response = jsonify(error_body(503, f"storage unavailable ({type(e).__name__}); try again "
                                       f"in {RETRY_AFTER} s"))
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


def _unexpected(e: Exception) -> Any:
    log.exception("unexpected error")
    response = jsonify(error_body(500, "internal error; it has been logged"))
    response.status_code = 500
    return response


def register_error_handlers(app: Flask) -> None:
    import psycopg
    import redis
    from eventsourcing.persistence import InterfaceError as StoreInterfaceError
    from sqlalchemy.exc import OperationalError as ViewsOperationalError
    from sqlalchemy.exc import TimeoutError as ViewsPoolTimeout

    app.register_error_handler(TrackerError, _tracker_error)
    app.register_error_handler(ViewsOperationalError, _store_unavailable)
    app.register_error_handler(ViewsPoolTimeout, _store_unavailable)
    app.register_error_handler(StoreInterfaceError, _store_unavailable)
    app.register_error_handler(psycopg.OperationalError, _store_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(StoreOperationalError, _store_unavailable)
    app.register_error_handler(redis.ConnectionError, _store_unavailable)
    app.register_error_handler(redis.TimeoutError, _store_unavailable)
    app.register_error_handler(Exception, _unexpected)
