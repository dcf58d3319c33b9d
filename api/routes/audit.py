"""Audit: actors, entity histories, the whole log, the integrity check, health."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import check_read, principal
from api.routes.common import not_modified
from api.schemas import (
    ActorSchema,
    ErrorSchema,
    EventsArgsSchema,
    EventsPageSchema,
    HealthSchema,
    HistorySchema,
    VerifySchema,
    ViewArgsSchema,
)
from api.wiring import get_services
from projections.wiring import parse_as_of
from tracker.audit import to_jsonable

blp = Blueprint("audit", __name__, url_prefix="/api/v1",
                description="Trace every figure to its reports and revisions.")

KINDS = "(actor|incident|operation|report)"


def _err(f: Callable[..., Any], *codes: int) -> Callable[..., Any]:
    """Documents the error responses (one shape, ErrorSchema) of a view method."""
    for code in codes:
        f = blp.alt_response(code, schema=ErrorSchema, description="Error")(f)
    return f


@blp.route("/actors/<actor_id>")
class Actor(MethodView):
    @blp.arguments(ViewArgsSchema, location="query")
    @blp.response(200, ActorSchema)
    def get(self, args: dict[str, Any], actor_id: str) -> Any:
        """An actor as recorded: names, aliases, affiliations, sanctions, roles, fate"""
        check_read()
        as_of = parse_as_of(args.get("as_of"))
        data = get_services().tracker.get_entity("actor", actor_id, as_of=as_of)
        return to_jsonable({**data, "as_of": as_of.isoformat() if as_of else None})

    get = _err(get, 400, 401, 403, 404, 422)


@blp.route("/history/<string:kind>/<entity_id>")
class History(MethodView):
    @blp.response(200, HistorySchema)
    def get(self, kind: str, entity_id: str) -> Any:
        """Every event of one entity with provenance; corrections show before and after"""
        check_read()
        return {"kind": kind, "id": entity_id,
                "events": get_services().tracker.get_history(kind, entity_id)}

    get = _err(get, 401, 403, 404)


@blp.route("/events")
class Events(MethodView):
    @blp.arguments(EventsArgsSchema, location="query")
    @blp.response(200, EventsPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """The whole log in order, paged (next: pass it as after)"""
        check_read()
        services = get_services()
        etag = f'"{args["after"]}-{args["limit"]}-{services.tracker.max_position()}"'
        page = services.tracker.list_events(after=args["after"], limit=args["limit"])
        return not_modified(etag) or (page, 200, {"ETag": etag})

    get = _err(get, 401, 403, 422)


@blp.route("/verify")
class Verify(MethodView):
    @blp.doc(security=[{"bearer": []}])
    @blp.response(200, VerifySchema)
    def get(self) -> Any:
        """Integrity check of the stored log (admin): ok, or the first bad position"""
        principal("admin")
        return get_services().tracker.verify().to_dict()

    get = _err(get, 401, 403)


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="A store is unreachable")
    def get(self) -> Any:
        """Event store and view store reachable; how far behind the views are"""
        services = get_services()
        body: dict[str, Any] = {"status": "ok", "event_store": {}, "view_store": {},
                                "behind": {}}
        try:
            head = services.tracker.max_position()
            body["event_store"] = {"ok": True, "head": head}
        except Exception as e:  # noqa: BLE001 - reported, not raised
            body["event_store"] = {"ok": False, "error": type(e).__name__}
            body["status"] = "unavailable"
        try:
            services.store.ping()
            body["view_store"] = {"ok": True, "backend": type(services.store).__name__}
            if body["event_store"]["ok"]:
                body["behind"] = services.runner.lag()
        except Exception as e:  # noqa: BLE001 - reported, not raised
            body["view_store"] = {"ok": False, "error": type(e).__name__}
            body["status"] = "unavailable"
        return body, 200 if body["status"] == "ok" else 503
