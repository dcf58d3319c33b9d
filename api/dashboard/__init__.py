"""GET /: the dashboard, a single page served by the API itself.

Server-rendered HTML plus a few small script modules of our own (static/: the page, its
chart, its map, DOM helpers, and a worker holding the live stream; no framework, no build
step, no third-party code, nothing loaded from another host). The first view's figures — the
casualty tallies by country, admin1 and month, the number of matching incidents and their
first page, for the URL's filters and `as_of` — are read here with the API's own queries
(ReadViews, dumped by the API's schemas) and rendered into the HTML as plain tables, with
the same JSON embedded (`<script type="application/json" id="initial">`): a page printed,
saved or captured without running a script shows them, and the script starts from them
without fetching them again. Everything after that the script reads from the public JSON
API, so the page stays the API's reference client. The filters live in the query string
(`country`, `type`, `actor`, `source`, `from`, `to`, `min_killed`, the API's other filters,
and `as_of`), so a view can be shared and reloaded; `group` names the group whose
leadership is shown.

A bad parameter (e.g. `?as_of=garbage`, an unknown actor) renders the page with the API's
own error message for it, with status 422 (HTML): the page shows what it can.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from marshmallow import ValidationError

bp = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static",
               static_url_path="/dashboard/static")

# The page's own parameter; every other one is a filter of the API (or as_of).
PAGE_PARAMETERS = ("group",)
# Incidents per page in the table (the script pages on with the API's cursor).
PAGE_SIZE = 50


def page_query() -> tuple[dict[str, str], str]:
    """The URL's filters and as_of (empty values dropped: an empty form field means "any"),
    and the group."""
    query = {k: v for k, v in request.args.items() if v.strip() and k not in PAGE_PARAMETERS}
    return query, request.args.get("group", "").strip() or "jnim"


def first_view(query: dict[str, str]) -> dict[str, Any]:
    """What the page shows first, read with the API's queries and dumped by its schemas:
    {"query", "position", "by_country" (every country under the other filters),
    "by_admin1", "by_month", "incidents" (the first page), "count"}; or {"query", "error"}
    (the API's error body) when a parameter is refused."""
    from api.auth import check_read
    from api.errors import (
        error_body,
        field_errors,
        invalid_request_message,
        outage_message,
        status_of,
    )
    from api.schemas import CasualtiesSchema, FilterArgsSchema, IncidentsPageSchema
    from api.services import parse_as_of
    from api.wiring import get_services
    from projections.readmodel.queries import IncidentFilter
    from tracker.exceptions import TrackerError
    from tracker.outages import is_outage

    try:
        args = FilterArgsSchema().load({k: v for k, v in query.items() if k != "min_position"})
    except ValidationError as e:
        listed = field_errors(e.messages)
        return {"query": query, "error": error_body(422, invalid_request_message(listed),
                                                    listed)}
    try:
        check_read()
        filters = IncidentFilter.from_args(args)
        with get_services().views(parse_as_of(args.get("as_of"))) as views:
            tally = CasualtiesSchema()
            listed = listed_by(filters)
            answer = {
                "query": query,
                "position": views.at if views.as_of is not None else views.position,
                "by_country": tally.dump(views.casualties("country",
                                                          filters.replace(country=None))),
                "by_admin1": tally.dump(views.casualties("admin1", filters)),
                "by_month": tally.dump(views.casualties("month", filters)),
                "incidents": IncidentsPageSchema().dump(views.incidents(filters,
                                                                        limit=PAGE_SIZE)),
            }
            if listed is not None and listed is not filters:
                answer["count"] = incident_count(tally.dump(views.casualties("admin1", listed)))
    except TrackerError as e:  # QueryError (an unknown actor…), a store outage, no token
        return {"query": query, "error": error_body(status_of(e), str(e),
                                                    e.to_dict().get("errors"))}
    except Exception as e:
        if not is_outage(e):
            raise
        # The page, with the API's 503 message (not the API's JSON): a browser asked.
        return {"query": query, "error": error_body(503, outage_message(e))}
    if "count" not in answer:
        answer["count"] = None if listed is None else incident_count(answer["by_admin1"])
    return answer


def listed_by(filters: Any) -> Any:
    """The filters whose tally counts the incidents the list shows. With `figures_from`,
    the tally counts the incidents that source gave a figure for, while the list shows every
    one it reported on, as `source=` selects them: so those are counted. None when no tally
    can count them (`source` and `figures_from` name two sources): the page gives no count."""
    if not filters.figures_from:
        return filters
    if filters.source and filters.source.casefold() != filters.figures_from.casefold():
        return None
    return filters.replace(figures_from=None, source=filters.figures_from)


def incident_count(tally: dict[str, Any]) -> int:
    """How many incidents a tally's filters match: its total's count when it gives one,
    else the sum of its rows' (each incident is counted in exactly one admin1 row, the
    unknown one included)."""
    total = tally.get("total") or {}
    if isinstance(total.get("incidents"), int):
        return int(total["incidents"])
    return sum(int(r["incidents"]) for r in tally["rows"])


@bp.get("/")
def index() -> Any:
    from tracker.facts.incidents import INCIDENT_TYPES

    query, group = page_query()
    initial = first_view(query)
    error = initial.get("error")
    status = error["code"] if error else 200
    from api.errors import RETRY_AFTER

    headers = {"Retry-After": str(RETRY_AFTER)} if status == 503 else {}
    return render_template("dashboard.html", q=query, group=group, initial=initial,
                           error=error, types=INCIDENT_TYPES, page_size=PAGE_SIZE,
                           several=several_countries), status, headers


def several_countries(rows: list[dict[str, Any]]) -> bool:
    """Whether region rows come from more than one country (then each names its own)."""
    return len({r.get("country") for r in rows if r.get("country")}) > 1
