"""Audit: actors, entity histories, the whole log, the integrity check, health."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from flask import current_app, request
from flask.views import MethodView
from werkzeug.exceptions import NotFound

from api.auth import check_read, principal
from api.routes import TrackerBlueprint
from api.routes.common import not_modified, read_view
from api.schemas import (
    ActorsArgsSchema,
    ActorSchema,
    ActorsPageSchema,
    EventsArgsSchema,
    EventsPageSchema,
    HealthSchema,
    HistoryArgsSchema,
    HistorySchema,
    NoArgsSchema,
    VerifySchema,
    ViewArgsSchema,
)
from api.services import parse_as_of
from api.wiring import get_services
from tracker.audit import to_jsonable
from tracker.exceptions import EntityNotFoundError

blp = TrackerBlueprint("audit", __name__, url_prefix="/api/v1",
                description="Trace every figure to its reports and revisions.")


def tagged(data: Any, *parts: Any) -> Any:
    """`data` with an ETag over the request and `parts` (what the answer depends on), or a
    304 when the client holds it."""
    tag = '"' + hashlib.sha256(f"{request.full_path}|{parts}".encode()).hexdigest()[:32] + '"'
    return not_modified(tag) or (data, 200, {"ETag": tag, "Cache-Control": "no-cache"})


@blp.route("/actors")
class Actors(MethodView):
    @blp.arguments(ActorsArgsSchema, location="query")
    @blp.response(200, ActorsPageSchema)
    @blp.alt_response(304, description="Not modified")
    def get(self, args: dict[str, Any]) -> Any:
        """Actors whose id, name or an alias contains q (case-insensitive), paged by id"""
        return read_view(args, lambda views: views.actors(
            args.get("q"), limit=args["limit"], cursor=args.get("cursor")))

    get = blp.errors(401, 403, 422)(get)


@blp.route("/actors/<actor_id>")
class Actor(MethodView):
    @blp.arguments(ViewArgsSchema, location="query")
    @blp.response(200, ActorSchema)
    @blp.alt_response(304, description="Not modified")
    def get(self, args: dict[str, Any], actor_id: str) -> Any:
        """An actor (by id, name or alias): the keys of an /actors row (incident count
        included), plus title, affiliations, sanctions, roles and fate"""
        check_read()
        services = get_services()
        as_of = parse_as_of(args.get("as_of"))
        with services.views(as_of) as views:
            data = actor_answer(views, services.tracker, actor_id, as_of)
            position = views.at if as_of is not None else views.position
        return tagged(data, data["version"], as_of, position)

    get = blp.errors(401, 403, 404, 422)(get)


def actor_answer(views: Any, tracker: Any, actor_id: str, as_of: datetime | None
                 ) -> dict[str, Any]:
    """One actor as /actors/{id} and `tracker query actor` show it: its row of /actors
    (the same keys, under the id a same_actor cluster is counted under), plus what its
    record holds beyond them, at top level."""
    key = views.resolve_actor(actor_id)
    entity = to_jsonable(tracker.get_entity("actor", key, as_of=as_of))
    details = entity.get("details") or {}
    row = views.actor(key)
    if row is None:  # retracted, or withdrawn: the record as it stands, counted nowhere
        row = {"id": key, "name": details.get("name"), "kind": details.get("kind"),
               "aliases": details.get("aliases") or [], "country": details.get("country"),
               "incidents": 0}
    extra = {k: v for k, v in details.items() if k not in row}
    # Every key the contract lists, whether the record says it or not (a client reads
    # `title` or `sanctions` of any actor without checking first).
    blank: dict[str, Any] = {"title": None, "notes": None, "affiliations": [], "sanctions": []}
    return {**row, **blank, **extra, "roles": entity.get("roles") or {},
            "former_roles": views.former_roles(key), "fate": entity.get("fate"),
            "version": entity["version"], "report": entity.get("report"),
            "retracted": entity.get("retracted"),
            "as_of": as_of.isoformat() if as_of else None}


# The kinds of entity with a history (tracker.application.AGGREGATES; tokens have none).
HISTORY_KINDS = ("actor", "incident", "operation", "report", "link")


@blp.route("/history/<string:kind>/<entity_id>", parameters=[
    {"in": "path", "name": "kind", "required": True,
     "schema": {"type": "string", "enum": list(HISTORY_KINDS)}}])
class History(MethodView):
    @blp.arguments(HistoryArgsSchema, location="query")
    @blp.response(200, HistorySchema)
    @blp.alt_response(304, description="Not modified")
    def get(self, args: dict[str, Any], kind: str, entity_id: str) -> Any:
        """Every event of one entity with provenance (as_of: those recorded by then);
        corrections show before and after. An actor: its id, a name or an alias (`id`
        answers the record's id). A report: its own events, every event it recorded on
        other records, and, once retracted, the events that withdrew them, in log order"""
        check_read()
        if kind not in HISTORY_KINDS:
            raise NotFound(f"no history of kind {kind!r}: the kinds are "
                           f"{', '.join(HISTORY_KINDS)}")
        services = get_services()
        as_of = parse_as_of(args.get("as_of"))
        data = history_answer(services.tracker, lambda: services.views(as_of), kind,
                              entity_id, as_of, after=args["after"], limit=args["limit"])
        events = data["events"]
        return tagged(data, data["id"], len(events),
                      events[-1]["position"] if events else 0, data.get("next"))

    get = blp.errors(401, 403, 404, 422)(get)


def history_answer(tracker: Any, views: Callable[[], AbstractContextManager[Any]],
                   kind: str, key: str, as_of: datetime | None, after: int = 0,
                   limit: int | None = None) -> dict[str, Any]:
    """One entity's history, as /history/{kind}/{id} and `tracker history` show it. An
    actor may be named by its id or by any recorded name or alias, in any case (as
    /actors/{id} takes it): the history is then the record's that carries that name, and
    `id` says which (a record's own history, not the cluster a same_actor link counts it
    under). `views` opens the views the names are read from (as of `as_of`). With a
    `limit`, one page: the events after position `after`, and `next` (the `after` of the
    next page; null on the last)."""

    def answer(record: str) -> dict[str, Any]:
        events, following = tracker.history_page(kind, record, as_of, after, limit)
        return {"kind": kind, "id": record, "events": events, "next": following}

    try:
        return answer(key)
    except EntityNotFoundError:
        if kind != "actor":
            raise
    with views() as read:
        record = read.actor_record(key)
    try:
        if record == key:
            raise EntityNotFoundError(kind, key)
        return answer(record)
    except EntityNotFoundError:
        raise EntityNotFoundError(kind, key) from None


@blp.route("/events")
class Events(MethodView):
    @blp.arguments(EventsArgsSchema, location="query")
    @blp.response(200, EventsPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """The whole log in order, paged (next: pass it as after)"""
        check_read()
        services = get_services()
        head = services.tracker.max_position()
        etag = f'"{args["after"]}-{args["limit"]}-{head}"'
        return not_modified(etag) or (
            services.tracker.list_events(after=args["after"], limit=args["limit"]), 200,
            {"ETag": etag, "Cache-Control": "no-cache"})

    get = blp.errors(401, 403, 422)(get)


@blp.route("/verify")
class Verify(MethodView):
    @blp.doc(security=[{"bearer": []}])
    @blp.arguments(NoArgsSchema, location="query")
    @blp.response(200, VerifySchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Integrity check of the stored log (admin): ok, or the first bad position"""
        principal("admin")
        return get_services().verify()

    get = blp.errors(401, 403, 422)(get)


@blp.route("/healthz")
class Health(MethodView):
    @blp.arguments(NoArgsSchema, location="query")
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="A store is unreachable")
    def get(self, args: dict[str, Any]) -> Any:
        """Event store and read model reachable; how far behind the views are; ok,
        degraded or unavailable (503)"""
        from api.errors import RETRY_AFTER

        config = current_app.config
        body, status = get_services().health(int(config.get("HEALTH_MAX_LAG", 1000)),
                                             float(config.get("HEALTH_GRACE", 10.0)))
        return body, status, ({"Retry-After": str(RETRY_AFTER)} if status == 503 else {})

    get = blp.errors(422)(get)
