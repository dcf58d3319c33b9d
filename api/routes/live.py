"""GET /api/v1/stream: server-sent events announcing each new position of the views, and
which views moved, so that a page updates within a second or two of a new report.

Each stream wakes on what the deployment has: PostgreSQL LISTEN/NOTIFY on the event store's
channel, Redis pub/sub, or a short poll; then it reads the views' position (shared by every
process), so any API worker can serve any client. It sends a keep-alive comment every
`KEEPALIVE` seconds and ends after `TRACKER_STREAM_SECONDS` (default 25, below gunicorn's
worker timeout); EventSource reconnects by itself (`retry: 1000`), sending `Last-Event-ID`,
and the stream then announces the current position at once if the client is behind.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, request, stream_with_context

from api.auth import check_read
from api.routes import QueryParser
from api.schemas import NoArgsSchema
from api.wiring import get_services
from tracker import deadlines

bp = Blueprint("live", __name__)

KEEPALIVE = 10.0
WAKE = 0.5  # the longest a moved position waits to be seen
# Each look at the stores ends within this (the request's own deadline ends when the
# stream begins): a stalled PostgreSQL ends the stream, it does not hold its thread.
STEP_BOUND = 5.0
# Which views an event class moves (by the aggregate in its topic).
VIEWS_OF = {"Incident": ("casualties", "incidents", "operations", "changes", "sources"),
            "Actor": ("leadership", "actors"), "Operation": ("operations",)}
ALL_VIEWS = ("casualties", "incidents", "operations", "changes", "leadership", "actors",
             "sources")


def moved_views(tracker: Any, after: int, upto: int) -> list[str]:
    """The views the events in (after, upto] move; all of them for a long stretch."""
    if upto - after > 2000 or after <= 0:
        return list(ALL_VIEWS)
    views: set[str] = set()
    for n in tracker.recorder.select_notifications(after, upto - after, stop=upto,
                                                   inclusive_of_start=False):
        aggregate = n.topic.rsplit(":", 1)[-1].split(".", 1)[0]
        views.update(VIEWS_OF.get(aggregate, ()))
    return [v for v in ALL_VIEWS if v in views]


def message(position: int, views: list[str]) -> str:
    return (f"id: {position}\nevent: position\n"
            f"data: {json.dumps({'position': position, 'views': views})}\n\n")


@bp.get("/api/v1/stream")
def stream() -> Response:
    # An unknown parameter is a JSON 422 naming it, and a reader without the token reads
    # need (TRACKER_READ_REQUIRES_TOKEN) a JSON 401/403, as on every read: before
    # anything is streamed.
    QueryParser().parse(NoArgsSchema(), request, location="query")
    check_read()
    services = get_services()
    seconds = float(current_app.config.get("STREAM_SECONDS", 25))
    last = request.headers.get("Last-Event-ID", "")
    try:
        seen = int(last) if last.strip() else None
    except ValueError:
        seen = None

    def events() -> Iterator[str]:
        nonlocal seen
        from projections.notify import poll, waiter_for

        yield "retry: 1000\n\n"
        stop = threading.Event()
        try:
            wait, close = waiter_for(services.tracker, services.bus)
        except Exception:  # noqa: BLE001 - an outage: poll the views instead
            wait, close = poll, (lambda: None)
        try:
            deadline = time.monotonic() + seconds
            quiet_since = time.monotonic()
            while time.monotonic() < deadline:
                try:
                    with deadlines.bounded(STEP_BOUND, fresh=True):
                        _, position = services.store.active_and_position()
                except Exception:  # noqa: BLE001 - the read model is away: say so, end
                    yield "event: unavailable\ndata: {}\n\n"
                    return
                if seen is None or position != seen:
                    try:
                        with deadlines.bounded(STEP_BOUND, fresh=True):
                            views = (list(ALL_VIEWS) if seen is None else
                                     moved_views(services.tracker, seen, position))
                    except Exception:  # noqa: BLE001 - the event store is away
                        views = list(ALL_VIEWS)
                    yield message(position, views)
                    seen, quiet_since = position, time.monotonic()
                elif time.monotonic() - quiet_since >= KEEPALIVE:
                    yield ": keep-alive\n\n"
                    quiet_since = time.monotonic()
                wait(stop, WAKE)
        finally:
            close()

    response = Response(stream_with_context(events()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # no proxy buffering (nginx)
    return response
