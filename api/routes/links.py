"""Link candidates: record pairs from different sources that may be one real event, scored
with their reasons (docs/linking.md). Read-only: accepting them is a report
(`tracker link accept`, or `POST /reports` with `same_incident` facts)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from api.exports import csv_lines
from api.linking import LINK_COLUMNS, candidate_record
from api.routes import TrackerBlueprint
from api.routes.common import ERRORS, read_view, stream_view
from api.schemas import LinkCandidatesArgsSchema, LinkCandidatesSchema
from projections.linking import LinkParams
from projections.readmodel.queries import IncidentFilter

blp = TrackerBlueprint("links", __name__, url_prefix="/api/v1",
                       description="Candidate same-event pairs across sources, scored on "
                                   "date, place, type, actors and figures.")


def link_params(args: dict[str, Any]) -> LinkParams:
    """The search's parameters from parsed arguments (defaults where not given)."""
    given = {k: args[k] for k in ("days", "km", "min_score") if args.get(k) is not None}
    return LinkParams(**given)


def _candidates(args: dict[str, Any]) -> Any:
    return lambda views: views.link_candidates(IncidentFilter.from_args(args),
                                               link_params(args))


@blp.route("/links/candidates")
class LinkCandidates(MethodView):
    @blp.arguments(LinkCandidatesArgsSchema, location="query")
    @blp.response(200, LinkCandidatesSchema)
    @blp.alt_response(304, description="Not modified")
    @blp.errors(*ERRORS)
    def get(self, args: dict[str, Any]) -> Any:
        """Candidate same-event pairs from different sources among the matching records,
        one-to-one, best first, each with its reasons (days, km, type, actors, killed)"""
        return read_view(args, _candidates(args))


@blp.route("/links/candidates.csv")
class LinkCandidatesCSV(MethodView):
    @blp.arguments(LinkCandidatesArgsSchema, location="query")
    @blp.response(200, content_type="text/csv", description="One row per candidate, header "
                  "first: " + ", ".join(LINK_COLUMNS))
    @blp.alt_response(304, description="Not modified")
    @blp.errors(*ERRORS)
    def get(self, args: dict[str, Any]) -> Any:
        """The candidates of /links/candidates as CSV (reasons flattened)"""
        query = _candidates(args)
        return stream_view(args, lambda views: csv_lines(
            map(candidate_record, query(views)["candidates"]), list(LINK_COLUMNS)),
            "text/csv", "link-candidates.csv")
