"""The views: leadership, casualties, operations, incidents (every one takes as_of)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import request
from flask.views import MethodView

from api.exports import (
    CASUALTY_COLUMNS,
    INCIDENT_COLUMNS,
    casualty_record,
    columns,
    csv_lines,
    geojson_chunks,
    incident_record,
)
from api.routes import TrackerBlueprint
from api.routes.common import ERRORS, read_view, stream_view
from api.schemas import (
    CasualtiesArgsSchema,
    CasualtiesCsvArgsSchema,
    CasualtiesSchema,
    ChangesArgsSchema,
    ChangesSchema,
    GeoJSONSchema,
    IncidentDetailSchema,
    IncidentsArgsSchema,
    IncidentsCsvArgsSchema,
    IncidentsPageSchema,
    LeadershipSchema,
    OperationDetailSchema,
    OperationsArgsSchema,
    OperationsSchema,
    SourcesSchema,
    ViewArgsSchema,
)
from api.services import parse_as_of
from projections.readmodel.queries import IncidentFilter, QueryError

blp = TrackerBlueprint("views", __name__, url_prefix="/api/v1",
                description="Views folded from the event log; eventually consistent in "
                            "production (use min_position to read your own write).")


@blp.route("/groups/<group_id>/leadership")
class Leadership(MethodView):
    @blp.arguments(ViewArgsSchema, location="query")
    @blp.response(200, LeadershipSchema)
    @blp.alt_response(304, description="Not modified")
    @blp.errors(*ERRORS)
    def get(self, args: dict[str, Any], group_id: str) -> Any:
        """Current and former leaders of a group (its id, a name or an alias)"""
        return read_view(args, lambda views: views.leadership(group_id))


@blp.route("/casualties")
class Casualties(MethodView):
    @blp.arguments(CasualtiesArgsSchema, location="query")
    @blp.response(200, CasualtiesSchema)
    @blp.alt_response(304, description="Not modified")
    @blp.errors(*ERRORS)
    def get(self, args: dict[str, Any]) -> Any:
        """Killed (best/low/high), civilians, wounded and incidents by a dimension"""
        return read_view(args, lambda views: views.casualties(
            args["by"], IncidentFilter.from_args(args)))


@blp.route("/operations")
class Operations(MethodView):
    @blp.arguments(OperationsArgsSchema, location="query")
    @blp.response(200, OperationsSchema)
    @blp.alt_response(304, description="Not modified")
    @blp.errors(*ERRORS)
    def get(self, args: dict[str, Any]) -> Any:
        """Every operation with status, lead, partners, incidents and killed"""
        return read_view(args, lambda views: views.operations(actor=args.get("actor")))


@blp.route("/operations/<operation_id>")
class Operation(MethodView):
    @blp.arguments(ViewArgsSchema, location="query")
    @blp.response(200, OperationDetailSchema)
    @blp.alt_response(304, description="Not modified")
    @blp.errors(*ERRORS)
    def get(self, args: dict[str, Any], operation_id: str) -> Any:
        """One operation with its status history"""
        return read_view(args, lambda views: views.operations(operation_id))


@blp.route("/sources")
class Sources(MethodView):
    @blp.arguments(ViewArgsSchema, location="query")
    @blp.response(200, SourcesSchema)
    @blp.alt_response(304, description="Not modified")
    @blp.errors(*ERRORS)
    def get(self, args: dict[str, Any]) -> Any:
        """Every source live reports cite, with how many incidents each reported"""
        return read_view(args, lambda views: views.sources())


def _link(page: dict[str, Any]) -> dict[str, str]:
    if not page.get("next"):
        return {}
    query = {**request.args.to_dict(), "cursor": page["next"]}
    return {"Link": f'<{request.path}?{urlencode(query)}>; rel="next"'}


def _incidents(args: dict[str, Any]) -> Callable[[Any], dict[str, Any]]:
    return lambda views: views.incidents(IncidentFilter.from_args(args), limit=args["limit"],
                                         cursor=args.get("cursor"))


@blp.route("/incidents")
class Incidents(MethodView):
    @blp.arguments(IncidentsArgsSchema, location="query")
    @blp.response(200, IncidentsPageSchema)
    @blp.alt_response(304, description="Not modified")
    @blp.errors(*ERRORS)
    def get(self, args: dict[str, Any]) -> Any:
        """Incidents, newest first, filtered, paged by cursor (Link: rel=next)"""
        return read_view(args, _incidents(args), headers=_link)


@blp.route("/incidents.geojson")
class IncidentsGeoJSON(MethodView):
    @blp.arguments(IncidentsCsvArgsSchema, location="query")
    @blp.response(200, GeoJSONSchema, content_type="application/geo+json",
                  description="Each feature's properties are flat (no list or object "
                  "values), the columns of the CSV: " + ", ".join(INCIDENT_COLUMNS))
    @blp.alt_response(304, description="Not modified")
    @blp.errors(*ERRORS)
    def get(self, args: dict[str, Any]) -> Any:
        """Every matching incident as a GeoJSON FeatureCollection, streamed (geometry null
        without coordinates; fields= selects and orders the properties)"""
        cols = columns(args.get("fields_"), INCIDENT_COLUMNS)
        filters = IncidentFilter.from_args(args)
        return stream_view(args, lambda views: geojson_chunks(
            map(incident_record, views.iter_incidents(filters, summary=False)), cols),
            "application/geo+json")


@blp.route("/incidents.csv")
class IncidentsCSV(MethodView):
    @blp.arguments(IncidentsCsvArgsSchema, location="query")
    @blp.response(200, content_type="text/csv", description="One row per incident, header "
                  "first: " + ", ".join(INCIDENT_COLUMNS))
    @blp.alt_response(304, description="Not modified")
    @blp.errors(*ERRORS)
    def get(self, args: dict[str, Any]) -> Any:
        """Every matching incident as CSV, streamed (fields= selects and orders columns)"""
        cols = columns(args.get("fields_"), INCIDENT_COLUMNS)
        filters = IncidentFilter.from_args(args)
        return stream_view(args, lambda views: csv_lines(
            map(incident_record, views.iter_incidents(filters, summary=False)), cols),
            "text/csv", "incidents.csv")


@blp.route("/casualties.csv")
class CasualtiesCSV(MethodView):
    @blp.arguments(CasualtiesCsvArgsSchema, location="query")
    @blp.response(200, content_type="text/csv", description="One row per key, header "
                  "first: " + ", ".join(CASUALTY_COLUMNS))
    @blp.alt_response(304, description="Not modified")
    @blp.errors(*ERRORS)
    def get(self, args: dict[str, Any]) -> Any:
        """Casualty tallies as CSV (the rows of /casualties; fields= selects columns)"""
        cols = columns(args.get("fields_"), CASUALTY_COLUMNS)
        filters = IncidentFilter.from_args(args)
        return stream_view(args, lambda views: csv_lines(
            map(casualty_record, views.casualties(args["by"], filters)["rows"]), cols),
            "text/csv", f"casualties-by-{args['by']}.csv")


@blp.route("/incidents/<incident_id>")
class Incident(MethodView):
    @blp.arguments(ViewArgsSchema, location="query")
    @blp.response(200, IncidentDetailSchema)
    @blp.alt_response(304, description="Not modified")
    @blp.errors(*ERRORS)
    def get(self, args: dict[str, Any], incident_id: str) -> Any:
        """One incident: every source's figure, materiel, corrections, reports"""
        return read_view(args, lambda views: views.incident(incident_id))


@blp.route("/changes")
class Changes(MethodView):
    @blp.arguments(ChangesArgsSchema, location="query")
    @blp.response(200, ChangesSchema)
    @blp.alt_response(304, description="Not modified")
    @blp.errors(*ERRORS)
    def get(self, args: dict[str, Any]) -> Any:
        """What changed between two knowledge times, per key, and the reports that did it"""
        return read_view(args, lambda views: changes(views, args))


def changes(views: Any, args: dict[str, Any]) -> dict[str, Any]:
    """The changes query, shared with `tracker query changes`."""
    from projections.readmodel.queries import position_at

    t1 = parse_as_of(args["from_"])
    t2 = parse_as_of(args.get("to"))
    if t1 is None:
        raise QueryError("from is required: a date (YYYY-MM-DD) or an ISO datetime", "from")
    if t2 is not None and t2 < t1:
        raise QueryError("from must not be after to", "from")
    p1 = position_at(views.store, views.conn, views.gen, t1)
    p2 = position_at(views.store, views.conn, views.gen, t2) if t2 else views.position
    return views.changes(args["by"], p1, p2, t1, t2)  # type: ignore[no-any-return]
