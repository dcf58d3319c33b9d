"""The edge: the Flask JSON API (create_app), the `tracker` command (api.cli) and the
composition root (api.services) they and the follower share.

Flask is imported by `create_app` only: `python -m api.cli` (an import's helper follower
among others) starts without loading the web stack."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask, Response


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The application factory: defaults, then TRACKER_* from the environment, then
    `config` (tests). Builds the tracker and views once and keeps them in app.extensions."""
    from flask import Flask

    from api import config as defaults
    from api import dashboard
    from api.adapters import TrackerApi, document_facts
    from api.errors import register_error_handlers
    from api.hygiene import register_hygiene
    from api.routes import audit, docs, links, live, reports, transparency, views
    from api.wiring import init_services

    app = Flask(__name__)
    app.config.from_object(defaults)
    app.config.from_prefixed_env("TRACKER")
    if config:
        app.config.update(config)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    init_services(app)
    api = TrackerApi(app)
    document_facts(api)
    for blueprint in (reports.blp, views.blp, audit.blp, transparency.blp, links.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.bp)
    app.register_blueprint(live.bp)
    app.register_blueprint(dashboard.bp)
    register_error_handlers(app)
    register_hygiene(app)
    app.after_request(etag_everything)
    bound_requests(app)
    return app


def bound_requests(app: Flask) -> None:
    """Every request's waits on PostgreSQL end by REQUEST_TIMEOUT seconds (then: JSON 503
    with Retry-After), whatever the server does (tracker.deadlines). A streamed body (an
    export, the live feed) is not bounded by it once its answer has begun; /verify, which
    reads the whole log, has VERIFY_TIMEOUT."""
    from flask import request

    from tracker import deadlines

    seconds = float(app.config.get("REQUEST_TIMEOUT") or 0) or None
    longer = {"audit.Verify": float(app.config.get("VERIFY_TIMEOUT") or 0) or None}

    def begin() -> None:
        deadlines.start(longer.get(request.endpoint or "", seconds))

    def end(response: Response) -> Response:
        if response.is_streamed:
            deadlines.clear()
        return response

    def teardown(_error: BaseException | None) -> None:
        deadlines.clear()

    app.before_request(begin)
    app.after_request(end)
    app.teardown_request(teardown)


def etag_everything(response: Response) -> Response:
    """Every GET answer carries an ETag; those whose route made none (the OpenAPI document,
    /verify, /healthz) get one from their body, and If-None-Match is honoured (RFC 9110:
    weak comparison, '*')."""
    from flask import request

    if request.method == "GET" and response.status_code == 200 and not response.is_streamed \
            and "ETag" not in response.headers:
        response.add_etag()
        response.make_conditional(request)
    return response
