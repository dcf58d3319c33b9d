"""POST /reports: the one way facts enter over HTTP."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from api.auth import principal
from api.routes import TrackerBlueprint
from api.schemas import ErrorSchema, ReportResultSchema
from api.wiring import get_services
from tracker.exceptions import FactError, ReportValidationError
from tracker.jsontext import TooDeepError, load_report, too_deep
from tracker.reports import ReportSchema

blp = TrackerBlueprint("reports", __name__, url_prefix="/api/v1",
                description="Record fact reports (contract 1).")


def needs_admin(data: Any) -> bool:
    """Retractions withdraw facts others reported: they need the admin role."""
    facts = data.get("facts") if isinstance(data, dict) else None
    return isinstance(facts, list) and any(
        isinstance(f, dict) and f.get("fact") == "retraction" for f in facts)


@blp.route("/reports")
class Reports(MethodView):
    @blp.doc(requestBody={"required": True, "content": {"application/json": {
        "schema": ReportSchema}}}, security=[{"bearer": []}])
    @blp.response(201, ReportResultSchema, description="Recorded: the new events' positions")
    @blp.alt_response(200, schema=ReportResultSchema,
                      description="Already recorded with the same content: nothing new")
    @blp.alt_response(401, schema=ErrorSchema, description="No valid token")
    @blp.alt_response(403, schema=ErrorSchema, description="Role too low (reporter; "
                                                           "admin for retractions)")
    @blp.alt_response(409, schema=ErrorSchema, description="Same id, other content")
    @blp.alt_response(413, schema=ErrorSchema, description="Body too large")
    @blp.alt_response(415, schema=ErrorSchema, description="Body is not JSON")
    @blp.alt_response(422, schema=ErrorSchema, description="Invalid facts: errors is a list "
                                                           "of {fact, field, message}")
    def post(self) -> Any:
        """Record a fact report, all or nothing"""
        if not request.is_json:
            raise UnsupportedMediaType("send the report as application/json")
        try:
            data = load_report(request.get_data(cache=True))
        except TooDeepError as e:  # before ValueError: it is one
            raise ReportValidationError([FactError(None, "report",
                                                   too_deep("the body", e))]) from None
        except UnicodeDecodeError as e:
            raise BadRequest(f"the body is not valid JSON: not UTF-8 (byte "
                             f"0x{e.object[e.start]:02x} at offset {e.start})") from None
        except ValueError as e:  # not JSON (duplicate keys raise 422): where, as the CLI
            raise BadRequest(f"the body is not valid JSON: {e}") from None
        who = principal("admin" if needs_admin(data) else "reporter")
        result = get_services().record_report(data, recorded_by=who)
        return result.to_dict(), 201 if result.recorded else 200
