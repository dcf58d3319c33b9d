"""What every read endpoint does: read access, min_position, as_of, ETag/304, and the
shared response cache (Redis), whose keys carry the view position they were read at."""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from flask import Response, current_app, request, stream_with_context

from api.auth import check_read
from api.services import parse_as_of
from api.wiring import get_services
from projections.readmodel.queries import QueryError, ReadViews
from tracker import deadlines
from tracker.exceptions import ViewsBehindError

log = logging.getLogger(__name__)
ERRORS = (400, 401, 403, 404, 422, 503)
CACHE_TTL = 300


def read_view(args: dict[str, Any], query: Callable[[ReadViews], dict[str, Any]],
              headers: Callable[[dict[str, Any]], dict[str, str]] | None = None) -> Any:
    """Answers a view request: 304 when the client holds this version, else the data
    (from the shared cache when another worker already read it at this position)."""
    check_read()
    services = get_services()
    wanted = args.get("min_position")
    if wanted:
        wait_for(wanted)
    as_of = parse_as_of(args.get("as_of"))
    with services.views(as_of) as views:
        tag = view_etag(views)
        cached = not_modified(tag)
        if cached is not None:
            return cached
        data = cache_get(tag)
        if data is None:
            data = query(views)
            cache_put(tag, data)
    extra = headers(data) if headers else {}
    return data, 200, {"ETag": tag, "Cache-Control": "no-cache", **extra,
                       **position_headers(views)}


def position_headers(views: ReadViews) -> dict[str, str]:
    """Every view answer says the log position it was read at and the latest signed
    checkpoint (`<size> <root hex>`), so a reader can cite it (GET /cite) and check it."""
    from api.routes.transparency import latest_checkpoint_header

    out = {"X-Tracker-Position": str(views.at if views.as_of is not None else views.position)}
    checkpoint = latest_checkpoint_header()
    if checkpoint:
        out["X-Tracker-Checkpoint"] = checkpoint
    return out


def view_etag(views: ReadViews) -> str:
    """The ETag of an answer read from `views`: the request, the generation, and the
    position it was read at (for `as_of`, the position that knowledge time maps to)."""
    version = f"{views.gen}:{views.at}" if views.as_of is not None else \
        f"{views.gen}:{views.position}"
    return '"' + hashlib.sha256(f"{request.full_path}|{version}".encode()
                                ).hexdigest()[:32] + '"'


def stream_view(args: dict[str, Any], produce: Callable[[ReadViews], Iterator[Any]],
                mimetype: str, filename: str | None = None) -> Any:
    """Streams an export read from one snapshot of the views (held until the last row is
    sent): every matching row, in constant memory. ETag and 304 as for every view."""
    check_read()
    services = get_services()
    if args.get("min_position"):
        wait_for(args["min_position"])
    as_of = parse_as_of(args.get("as_of"))
    snapshot = services.views(as_of)
    views = snapshot.__enter__()
    try:
        tag = view_etag(views)
        cached = not_modified(tag)
        if cached is not None:
            snapshot.__exit__(None, None, None)
            return cached
        rows = produce(views)
    except BaseException:
        snapshot.__exit__(*sys.exc_info())
        raise

    def generate() -> Iterator[Any]:
        try:
            yield from rows
        finally:
            snapshot.__exit__(None, None, None)

    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(stream_with_context(generate()), mimetype=mimetype, headers=headers)


def cache_get(tag: str) -> dict[str, Any] | None:
    """The answer another worker cached at this version, or None: a miss, or Redis away
    (projections.notify.RedisBus: then it is not asked again for a few seconds)."""
    bus = get_services().bus
    if bus is None:
        return None
    body = bus.get(f"{bus.channel}:resp:{tag}")
    return orjson.loads(body) if body else None  # type: ignore[no-any-return]


def cache_put(tag: str, data: dict[str, Any]) -> None:
    bus = get_services().bus
    if bus is None:
        return
    bus.set(f"{bus.channel}:resp:{tag}", orjson.dumps(data), CACHE_TTL)


def wait_for(position: int) -> None:
    """Blocks until the views include `position` (a write's), or answers 503. The timeout
    bounds the whole wait, each call to the stores included (tracker.deadlines)."""
    services = get_services()
    timeout = float(current_app.config.get("MIN_POSITION_TIMEOUT", 5.0))
    with deadlines.bounded(timeout):
        head = services.tracker.max_position()
        if position > head:
            raise QueryError(f"min_position {position} is beyond the end of the log "
                             f"({head}); pass a position a write returned", "min_position")
        if services.settings.inline_projection:
            services.runner.catch_up()
        delay = 0.005
        while services.store.active_and_position()[1] < position:
            left = deadlines.remaining()
            if left is None or left <= delay:
                raise ViewsBehindError(f"the views did not reach position {position} within "
                                       f"{timeout}s; try again shortly")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def not_modified(etag: str) -> Response | None:
    """A 304 response when the client already holds this version (`etag`, quoted): RFC
    9110's weak comparison and '*', by werkzeug's parser of If-None-Match."""
    if request.if_none_match.contains_weak(etag.strip('"')):
        response = Response(status=304)
        response.headers["ETag"] = etag
        return response
    return None
