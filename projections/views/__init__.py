"""The views, each declared once, in one module: its tables, what each event does to them,
its queries and what `rebuild --verify` compares (see base.py). `VIEWS` is the registry the
read model's store, the fold engine and the projector use; `ReadViews` (the queries of all
of them over one read snapshot) is built from their query mixins.

Adding a view: write its module (tables, a fold stage and/or a query mixin), add its `VIEW`
to `VIEWS` (stages run in this order for each unit: a stage may read what an earlier one
left in the unit) and its mixin to `QUERIES`.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from projections.views import (
    actors,
    candidates,
    casualties,
    documents,
    identity,
    incidents,
    leadership,
    operations,
    sources,
    units,
)
from projections.views.base import View

VIEWS: tuple[View, ...] = (
    units.VIEW,
    identity.VIEW,    # before incidents: it says which records' links changed
    incidents.VIEW,
    documents.VIEW,
    casualties.VIEW,  # after incidents: it tallies what they left in the unit
    sources.VIEW,     # after incidents, too
    View("leadership", lambda md, p: [], names=("leadership",)),
    View("actors", lambda md, p: [], names=("actors",)),
    View("operations", lambda md, p: [], names=("operations",)),
)

# The views users name (`tracker rebuild NAME`, /healthz's `behind`).
VIEW_NAMES: tuple[str, ...] = tuple(n for v in VIEWS for n in v.names)

QUERIES: tuple[type, ...] = (
    incidents.IncidentQueries, casualties.CasualtyQueries, leadership.LeadershipQueries,
    actors.ActorQueries, operations.OperationQueries, documents.DocumentQueries,
    sources.SourceQueries, candidates.CandidateQueries,
)

# Every view table (by its name without the generation's prefix), where its rows hold
# valid_to (None: not versioned), and what verify compares.
_DECLARED = [t for v in VIEWS for t in v.tables(MetaData(), "")]
TABLES: tuple[str, ...] = tuple(t.name for t in _DECLARED)
VALID_TO: dict[str, int | None] = {
    t.name: ([c.name for c in t.columns].index("valid_to") if "valid_to" in t.c else None)
    for t in _DECLARED}
COMPARED: dict[str, str] = {name: cols for v in VIEWS for name, cols in v.compared.items()}
