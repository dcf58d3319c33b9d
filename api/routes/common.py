"""What every read endpoint does: read access, min_position, as_of, ETag/304."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, current_app, request

from api.auth import check_read
from api.wiring import get_services
from projections.queries import QueryError, Views
from projections.wiring import parse_as_of
from tracker.exceptions import ViewsBehindError

ERRORS = (400, 401, 403, 404, 422, 503)


def open_views(names: list[str], args: dict[str, Any]) -> tuple[Views, str]:
    """Views to read (live, or replayed as of a moment) and the ETag of the answer."""
    check_read()
    services = get_services()
    wanted = args.get("min_position")
    if wanted:
        wait_for(names, wanted)
    as_of = parse_as_of(args.get("as_of"))
    store = services.store
    positions = [store.position(services.runner.ns_of(n) or "") for n in names]
    if as_of is not None:
        positions.append(services.tracker.max_position())
    tag = hashlib.sha256(f"{request.full_path}|{positions}|{as_of}".encode()).hexdigest()[:32]
    return services.views(as_of), f'"{tag}"'


def wait_for(names: list[str], position: int) -> None:
    services = get_services()
    head = services.tracker.max_position()
    if position > head:
        raise QueryError(f"min_position {position} is beyond the end of the log ({head}); "
                         "pass a position a write returned")
    if services.settings.inline_projection:
        services.runner.catch_up()
    timeout = float(current_app.config.get("MIN_POSITION_TIMEOUT", 5.0))
    try:
        for name in names:
            services.store.wait(services.runner.ns_of, name, position, timeout=timeout)
    except TimeoutError as e:
        raise ViewsBehindError(f"{e}; try again shortly") from None


def not_modified(etag: str) -> Response | None:
    """A 304 response when the client already holds this version."""
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = Response(status=304)
        response.headers["ETag"] = etag
        return response
    return None
