"""The views: leadership, casualties, operations, incidents (every one takes as_of)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.routes.common import ERRORS, not_modified, open_views
from api.schemas import (
    CasualtiesArgsSchema,
    CasualtiesSchema,
    ErrorSchema,
    GeoJSONSchema,
    IncidentDetailSchema,
    IncidentsArgsSchema,
    IncidentsPageSchema,
    LeadershipSchema,
    OperationDetailSchema,
    OperationsSchema,
    ViewArgsSchema,
)

blp = Blueprint("views", __name__, url_prefix="/api/v1",
                description="Views folded from the event log; eventually consistent in "
                            "production (use min_position to read your own write).")


F = TypeVar("F", bound=Callable[..., Any])


def errors(*codes: int) -> Callable[[F], F]:
    """Documents the error responses (one shape, ErrorSchema) of a view method."""
    def decorate(f: F) -> F:
        for code in codes:
            f = blp.alt_response(code, schema=ErrorSchema, description="Error")(f)
        return f
    return decorate


def answer(data: dict[str, Any], etag: str, headers: dict[str, str] | None = None) -> Any:
    return data, 200, {"ETag": etag, "Cache-Control": "no-cache", **(headers or {})}


@blp.route("/groups/<group_id>/leadership")
class Leadership(MethodView):
    @blp.arguments(ViewArgsSchema, location="query")
    @blp.response(200, LeadershipSchema)
    @blp.alt_response(304, description="Not modified")
    @errors(*ERRORS)
    def get(self, args: dict[str, Any], group_id: str) -> Any:
        """Current and former leaders of a group"""
        views, etag = open_views(["leadership"], args)
        return not_modified(etag) or answer(views.leadership(group_id), etag)


@blp.route("/casualties")
class Casualties(MethodView):
    @blp.arguments(CasualtiesArgsSchema, location="query")
    @blp.response(200, CasualtiesSchema)
    @blp.alt_response(304, description="Not modified")
    @errors(*ERRORS)
    def get(self, args: dict[str, Any]) -> Any:
        """Killed (best/low/high) and incident counts grouped by a dimension"""
        views, etag = open_views(["casualties"], args)
        return not_modified(etag) or answer(views.casualties(
            args["by"], country=args.get("country"), actor=args.get("actor"),
            date_from=args.get("from_"), date_to=args.get("to")), etag)


@blp.route("/operations")
class Operations(MethodView):
    @blp.arguments(ViewArgsSchema, location="query")
    @blp.response(200, OperationsSchema)
    @blp.alt_response(304, description="Not modified")
    @errors(*ERRORS)
    def get(self, args: dict[str, Any]) -> Any:
        """Every operation with status, lead, partners, incidents and killed"""
        views, etag = open_views(["operations", "casualties"], args)
        return not_modified(etag) or answer(views.operations(), etag)


@blp.route("/operations/<operation_id>")
class Operation(MethodView):
    @blp.arguments(ViewArgsSchema, location="query")
    @blp.response(200, OperationDetailSchema)
    @blp.alt_response(304, description="Not modified")
    @errors(*ERRORS)
    def get(self, args: dict[str, Any], operation_id: str) -> Any:
        """One operation with its status history"""
        views, etag = open_views(["operations", "casualties"], args)
        return not_modified(etag) or answer(views.operations(operation_id), etag)


def _incidents(args: dict[str, Any]) -> tuple[dict[str, Any], str, dict[str, str]]:
    views, etag = open_views(["incidents"], args)
    page = views.incidents(country=args.get("country"), actor=args.get("actor"),
                           date_from=args.get("from_"), date_to=args.get("to"),
                           limit=args["limit"], cursor=args.get("cursor"))
    headers = {}
    if page["next"]:
        query = {**request.args.to_dict(), "cursor": page["next"]}
        headers["Link"] = f'<{request.path}?{urlencode(query)}>; rel="next"'
    return page, etag, headers


@blp.route("/incidents")
class Incidents(MethodView):
    @blp.arguments(IncidentsArgsSchema, location="query")
    @blp.response(200, IncidentsPageSchema)
    @blp.alt_response(304, description="Not modified")
    @errors(*ERRORS)
    def get(self, args: dict[str, Any]) -> Any:
        """Incidents, newest first, filtered, paged by cursor (Link: rel=next)"""
        page, etag, headers = _incidents(args)
        return not_modified(etag) or answer(page, etag, headers)


@blp.route("/incidents.geojson")
class IncidentsGeoJSON(MethodView):
    @blp.arguments(IncidentsArgsSchema, location="query")
    @blp.response(200, GeoJSONSchema, content_type="application/geo+json")
    @blp.alt_response(304, description="Not modified")
    @errors(*ERRORS)
    def get(self, args: dict[str, Any]) -> Any:
        """Incidents as a GeoJSON FeatureCollection (geometry null without coordinates)"""
        page, etag, headers = _incidents(args)
        features = []
        for i in page["incidents"]:
            loc = i.get("location") or {}
            point = None
            if loc.get("longitude") is not None and loc.get("latitude") is not None:
                point = {"type": "Point", "coordinates": [loc["longitude"], loc["latitude"]]}
            features.append({"type": "Feature", "id": i["id"], "geometry": point,
                             "properties": i})
        collection = {"type": "FeatureCollection", "features": features, "next": page["next"]}
        return not_modified(etag) or Response(
            json.dumps(collection), mimetype="application/geo+json",
            headers={"ETag": etag, "Cache-Control": "no-cache", **headers})


@blp.route("/incidents/<incident_id>")
class Incident(MethodView):
    @blp.arguments(ViewArgsSchema, location="query")
    @blp.response(200, IncidentDetailSchema)
    @blp.alt_response(304, description="Not modified")
    @errors(*ERRORS)
    def get(self, args: dict[str, Any], incident_id: str) -> Any:
        """One incident: every source's figure, materiel, corrections, reports"""
        views, etag = open_views(["incidents"], args)
        return not_modified(etag) or answer(views.incident(incident_id), etag)
