"""The incidents view: one row per incident version, with the columns lists filter and sort
on and its whole document (sources, figures, corrections, materiel) for the detail page;
and its links — the incident's actors ('a', with the actor's own figures where a source gave
them) and sources ('s') — versioned apart from the incident, for the actor and source
filters and actor tallies.

Its fold stage keeps each incident's document (projections.incident_state) and leaves, per
unit, each changed incident's contributions before and after (`Unit.incidents`) to the
casualties view.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Float,
    FromClause,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    or_,
)

from projections.casualty_tallies import NO_ROWS, IncidentRows, incident_rows
from projections.incident_state import (
    INCIDENT_EVENTS,
    canonical_of,
    fold_incident,
    incident_summary,
    merge_cluster,
    own_figures,
    source_counts,
    with_actors,
)
from projections.readmodel.schema import FIGURE, FOLDED, NAME
from projections.views.base import Queries, Unit, View
from projections.views.identity import actor_resolver, cluster_of, links_exist, neighbours
from tracker.domain.base import entity_id
from tracker.exceptions import EntityNotFoundError, TrackerError
from tracker.ingestion.acled import interaction_code
from tracker.ingestion.ucdp import VIOLENCE

if TYPE_CHECKING:
    from projections.decode import RawEvent
    from projections.readmodel.fold import BatchFold


# -- tables ----------------------------------------------------------------------------------

# The datasets' attributes kept as columns (see dataset_columns): ACLED's interaction code,
# disorder type and civilian targeting; UCDP's type of violence (1, 2, 3), dyad and conflict
# (their ids, and their names case-folded).
DATASET_COLUMNS = ("interaction", "disorder_k", "civtarget_k", "violence", "dyad", "dyad_k",
                   "conflict", "conflict_k")
# UCDP's types of violence, by the subtype its importer gives them.
VIOLENCE_OF_SUBTYPE = {label: code for code, (_, label) in VIOLENCE.items()}


def fold_attribute(value: Any) -> str | None:
    """An attribute as its column holds it (and a filter compares it): case-folded, spaces
    collapsed, cut to the column's width (an attribute may be free text)."""
    return " ".join(str(value or "").casefold().split())[:FOLDED] or None


def dataset_columns(details: dict[str, Any]) -> list[str | None]:
    """The DATASET_COLUMNS of an incident: what its `attributes` (a dataset's columns, kept
    at import) and, for UCDP's type of violence, its subtype say."""
    a = details.get("attributes")
    subtype = str(details.get("subtype") or "").casefold()
    if not a:  # most records of most sources: nothing to read
        return [None, None, None, VIOLENCE_OF_SUBTYPE.get(subtype), None, None, None, None]

    def folded(name: str) -> str | None:
        return fold_attribute(a.get(name))

    def text(name: str) -> str | None:
        return str(a.get(name) or "").strip()[:FOLDED] or None

    try:
        interaction = interaction_code(text("interaction"))
    except ValueError:
        interaction = None  # not an ACLED interaction: no filter finds it
    return [interaction, folded("disorder_type"), folded("civilian_targeting"),
            VIOLENCE_OF_SUBTYPE.get(subtype), text("dyad_new_id"), folded("dyad_name"),
            text("conflict_new_id"), folded("conflict_name")]

def tables(md: MetaData, p: str) -> list[Table]:
    return [
        Table(f"{p}incidents", md,
              Column("oid", String(32), primary_key=True),
              Column("valid_from", BigInteger, primary_key=True, autoincrement=False),
              Column("valid_to", BigInteger),
              Column("key", String(NAME), nullable=False),
              Column("live", Integer, nullable=False),
              Column("date", String(10)),
              Column("type", String(64)),
              Column("subtype", String(NAME)),
              Column("country", String(NAME)),
              Column("country_k", String(FOLDED)),
              Column("admin1", String(NAME)),
              Column("admin1_k", String(FOLDED)),
              Column("admin2", String(NAME)),
              Column("admin2_k", String(FOLDED)),
              Column("operation", String(NAME)),
              Column("latitude", Float),
              Column("longitude", Float),
              Column("best", FIGURE, nullable=False), Column("low", FIGURE, nullable=False),
              Column("high", FIGURE, nullable=False),
              Column("civilians", FIGURE),
              Column("wounded", FIGURE),
              # The datasets' own attributes the filters take (dataset_columns), so a
              # filter reads an indexed column, never the documents.
              *(Column(name, String(FOLDED)) for name in DATASET_COLUMNS),
              Column("doc", Text, nullable=False)),
        Table(f"{p}links", md,
              Column("oid", String(32), primary_key=True),
              Column("kind", String(1), primary_key=True),
              Column("ref", String(FOLDED), primary_key=True),
              Column("valid_from", BigInteger, primary_key=True, autoincrement=False),
              Column("valid_to", BigInteger),
              Column("key", String(NAME), nullable=False),
              Column("date", String(10)),
              # The actor's own figures; NULL: the incident's (see casualty_tallies).
              Column("best", FIGURE), Column("low", FIGURE), Column("high", FIGURE)),
    ]


def indexes(t: dict[str, Table], p: str) -> list[Index]:
    inc, links = t[f"{p}incidents"], t[f"{p}links"]
    return [
        Index(f"{p}ix_inc_date", inc.c.date.desc(), inc.c.key),
        Index(f"{p}ix_inc_country", inc.c.country_k, inc.c.date.desc(), inc.c.key),
        Index(f"{p}ix_inc_admin1", inc.c.admin1_k, inc.c.date.desc(), inc.c.key),
        Index(f"{p}ix_inc_admin2", inc.c.admin2_k, inc.c.date.desc(), inc.c.key),
        Index(f"{p}ix_inc_operation", inc.c.operation, inc.c.date.desc(), inc.c.key),
        Index(f"{p}ix_inc_key", inc.c.key),
        # Partial: only the records of a dataset that has the attribute are in each, so
        # the other records cost nothing.
        *(Index(f"{p}ix_inc_{name}", inc.c[name], inc.c.date.desc(), inc.c.key,
                sqlite_where=inc.c[name].isnot(None), postgresql_where=inc.c[name].isnot(None))
          for name in DATASET_COLUMNS),
        Index(f"{p}ix_links_ref", links.c.kind, links.c.ref, links.c.date.desc(), links.c.key),
    ]


COMPARED = {
    "incidents": "oid, valid_from, valid_to, key, live, date, type, subtype, country, "
                 "country_k, admin1, admin1_k, admin2, admin2_k, operation, latitude, "
                 "longitude, best, low, high, civilians, wounded, "
                 + ", ".join(DATASET_COLUMNS) + ", doc",
    "links": "oid, kind, ref, valid_from, valid_to, key, date, best, low, high",
}


# -- the fold --------------------------------------------------------------------------------

# A link's figures (None: the incident's), its date, and the version it started.
Link = tuple[Any, Any, int]


class IncidentEntry:
    """An incident record as the working set holds it: its own document (`doc`, what its
    events say), the document its row holds (`counted`: its own, a cluster's merged one
    when it names the cluster, or its own marked with the cluster it belongs to), the start
    of its current version, its current links, and what it contributes (computed once)."""

    __slots__ = ("doc", "counted", "written", "valid_from", "links", "rows")

    def __init__(self, counted: dict[str, Any] | None = None,
                 valid_from: int | None = None, written: str | None = None) -> None:
        self.counted = counted
        self.written = written  # the JSON the row holds
        self.doc = own_document(counted)
        self.valid_from = valid_from
        self.links: dict[tuple[str, str], Link] = {}
        self.rows: IncidentRows | None = None

    def contributions(self, resolve: Resolve = None) -> IncidentRows:
        if self.rows is None:
            self.rows = contributions_of(self.counted, resolve)
        return self.rows


def own_document(counted: dict[str, Any] | None) -> dict[str, Any] | None:
    """A record's own document, from what its row holds."""
    if counted is None:
        return None
    if "own" in counted:
        return counted["own"]  # type: ignore[no-any-return]
    if "cluster" in counted:
        return {k: v for k, v in counted.items() if k != "cluster"}
    return counted


Resolve = Callable[[str], str] | None


def contributions_of(counted: dict[str, Any] | None, resolve: Resolve = None
                     ) -> IncidentRows:
    """What a record's row counts: nothing for a record counted in another's cluster; its
    actors under the actors their clusters are counted under (`resolve`, same_actor)."""
    if counted is None:
        return incident_rows(None)
    if "cluster" in counted:
        return NO_ROWS
    return incident_rows(with_actors(counted, resolve) if resolve else counted)


def _chunks(ids: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


class IncidentsStage:
    def prepare(self, fold: BatchFold, events: list[RawEvent]) -> None:
        absent = {e.oid for e in events if e.name == "IncidentReported"}
        self.load(fold, [e.oid for e in events if e.name in INCIDENT_EVENTS
                         and e.oid not in absent], absent)
        if links_exist(fold, "incident"):
            # Each record's links, read for the whole batch at once (cluster_of then
            # walks the working set).
            neighbours(fold, "incident", [e.oid for e in events if e.name in INCIDENT_EVENTS])

    @staticmethod
    def load(fold: BatchFold, oids: Iterable[str], absent: set[str]) -> None:
        cache = fold.w.incidents
        for oid in absent:
            if oid not in cache:
                cache[oid] = IncidentEntry()
        wanted = [o for o in dict.fromkeys(oids) if o not in cache]
        t, fetch, conn = fold.t, fold.store.fetch, fold.conn
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            for oid, vf, doc in fetch(conn, f"SELECT oid, valid_from, doc FROM "
                                            f"{t['incidents']} WHERE valid_to IS NULL AND "
                                            f"oid IN ({marks})", chunk):
                cache[oid] = IncidentEntry(orjson.loads(doc), int(vf), doc)
            for oid, kind, ref, vf, day, best, low, high in fetch(
                    conn, f"SELECT oid, kind, ref, valid_from, date, best, low, high "
                          f"FROM {t['links']} WHERE valid_to IS NULL AND oid IN ({marks})",
                    chunk):
                entry = cache.get(oid)
                if entry is not None:
                    figs = None if best is None else (best, low, high, 0, 0, 0, 0)
                    entry.links[(kind, ref)] = (figs, day, int(vf))
            for oid in chunk:
                cache.setdefault(oid, IncidentEntry())

    def apply(self, fold: BatchFold, unit: Unit) -> None:
        cache = fold.w.incidents
        changed: dict[str, None] = {}
        resolve = actor_resolver(fold)
        for e in unit.events:
            if e.name not in INCIDENT_EVENTS:
                continue
            entry = cache.get(e.oid)
            if entry is None:
                self.load(fold, [e.oid], set())
                entry = cache[e.oid]
            entry.contributions(resolve)  # what it counted before the unit, kept
            entry.doc = fold_incident(entry.doc, e)
            changed[e.oid] = None
        relinked = unit.relinked.get("incident", set())
        if relinked:
            changed.update(dict.fromkeys(sorted(relinked)))
            self.load(fold, list(relinked), set())  # at once, not a cluster at a time
        done: set[str] = set()
        for oid in changed:
            if oid in done:
                continue
            members, names = cluster_of(fold, "incident", oid)
            done |= members
            self.load(fold, members, set())
            if len(members) == 1:
                self._count(fold, unit, oid, cache[oid].doc)
                continue
            docs: dict[str, dict[str, Any]] = {}
            oid_of: dict[str, str] = {}
            for m in members:
                own = cache[m].doc
                if own is not None:
                    docs[own["id"]], oid_of[own["id"]] = own, m
            if not docs:
                continue
            canonical = canonical_of(docs, names)
            merged = merge_cluster(canonical, docs)
            for key, m in oid_of.items():
                counted = merged if key == canonical else {**docs[key], "cluster": canonical}
                self._count(fold, unit, m, counted)
        # Records whose actors were linked or unlinked (identity stage): the same
        # documents, counted under other actors.
        for oid in sorted(unit.recount - done):
            entry = cache[oid]
            old = entry.contributions(resolve)
            new = contributions_of(entry.counted, resolve)
            if new != old:
                entry.rows = new
                unit.incidents[oid] = (unit.incidents[oid][0] if oid in unit.incidents
                                       else old, new)
                self._version(fold, oid, entry, new, unit.end)

    def _count(self, fold: BatchFold, unit: Unit, oid: str, counted: dict[str, Any] | None
               ) -> None:
        """A record's row holds `counted` from the unit's end: a new version when it
        differs from what the row holds (a cluster's other members often do not)."""
        entry = fold.w.incidents[oid]
        if counted is None:
            return
        written = fold.dumps(counted)
        resolve = actor_resolver(fold)
        if written == entry.written and entry.valid_from is not None and (
                oid not in unit.recount):
            entry.counted = counted
            return
        old = entry.contributions(resolve)
        entry.counted, entry.written = counted, written
        entry.rows = contributions_of(counted, resolve)
        unit.incidents[oid] = (unit.incidents[oid][0] if oid in unit.incidents else old,
                               entry.rows)
        self._version(fold, oid, entry, entry.rows, unit.end)

    @staticmethod
    def _version(fold: BatchFold, oid: str, entry: IncidentEntry, rows: IncidentRows,
                 end: int) -> None:
        state = entry.counted
        assert state is not None
        v = fold.versions
        v.close("incidents", (oid,), entry.valid_from, end)
        d = state["details"]
        loc = d.get("location") or {}
        k, others = rows.killed, rows.others
        country, admin1 = loc.get("country"), loc.get("admin1")
        admin2 = loc.get("admin2")
        live = 0 if state["retracted"] or "cluster" in state else 1
        v.open("incidents", (oid,), [
            oid, end, state["id"], live, d.get("date"),
            d.get("type"), d.get("subtype"), country, country.casefold() if country else None,
            admin1, admin1.casefold() if admin1 else None,
            admin2, admin2.casefold() if admin2 else None, d.get("operation"),
            loc.get("latitude"), loc.get("longitude"), k["best"], k["low"], k["high"],
            others["civilians"], others["wounded"], *dataset_columns(d), entry.written], end)
        entry.valid_from = end
        # Link rows move only when the actors, sources, date or an actor's figures did.
        new_links = rows.links
        day = d.get("date")
        kept: dict[tuple[str, str], Link] = {}
        for lk, (figs, ldate, vf) in entry.links.items():
            if lk in new_links and new_links[lk] == figs and ldate == day:
                kept[lk] = (figs, ldate, vf)
            else:
                v.close("links", (oid, *lk), vf, end)
        for lk, figs in new_links.items():
            if lk not in kept:
                v.open("links", (oid, *lk),
                       [oid, lk[0], lk[1], end, state["id"], day,
                        *(figs[:3] if figs is not None else (None, None, None))], end)
                kept[lk] = (figs, day, end)
        entry.links = kept


# -- queries ---------------------------------------------------------------------------------

class QueryError(TrackerError):
    """Raised when a query's arguments are invalid (unknown dimension, bad cursor…);
    names the parameter at fault."""

    code = "invalid_query"

    def __init__(self, message: str, field: str = "query") -> None:
        self.field = field
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self),
                "errors": [{"field": self.field, "message": str(self)}]}


# The filters on the datasets' attributes, and how each reads its column: "id or name"
# filters take a number (the dataset's id) or a name (compared case-folded).
ATTRIBUTE_FILTERS = {
    "interaction": ("interaction", None), "disorder_type": ("disorder_k", None),
    "civilian_targeting": ("civtarget_k", None), "type_of_violence": ("violence", None),
    "dyad": ("dyad_k", "dyad"), "conflict_name": ("conflict_k", "conflict"),
}
REGION_LEVELS = ("country", "admin1", "admin2")


def region_condition(value: str, level: str) -> tuple[str, list[Any]]:
    """The condition of an admin1 or admin2 filter: a name ("Mopti": every country's), or
    a region key ("Mali / Mopti", "Mali / Mopti / Djenné", or for admin2 "Mopti / Djenné"),
    any case; "(unknown)" in a key is a missing name. Each name is compared on its own
    indexed column, so the walk follows the region's index."""
    parts = [p.strip() for p in value.split(" / ")]
    depth = REGION_LEVELS.index(level) + 1
    if len(parts) == 1 and value.strip().casefold() == "(unknown)":
        return f"i.{level}_k IS NULL", []  # a row "(unknown)" picked in a dashboard
    if len(parts) == 1 or len(parts) > depth:
        return f"i.{level}_k = ?", [value.casefold()]
    conds, params = [], []
    # The region's own name first: its index leads the walk.
    for name, part in reversed(list(zip(REGION_LEVELS[depth - len(parts):depth], parts,
                                        strict=True))):
        if part.casefold() == "(unknown)":
            conds.append(f"i.{name}_k IS NULL")
        else:
            conds.append(f"i.{name}_k = ?")
            params.append(part.casefold())
    return " AND ".join(conds), params


@dataclass(frozen=True)
class IncidentFilter:
    """The filters of incident lists and casualty tallies (contract 2), all optional."""

    country: str | None = None
    admin1: str | None = None
    type: str | None = None
    subtype: str | None = None
    actor: str | None = None
    operation: str | None = None
    source: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    min_killed: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    admin2: str | None = None
    # The datasets' attributes (dataset_columns), as the API's schema normalises them.
    interaction: str | None = None
    disorder_type: str | None = None
    civilian_targeting: str | None = None
    type_of_violence: str | None = None
    dyad: str | None = None
    conflict_name: str | None = None
    # One source's own figures (and the incidents it reported on).
    figures_from: str | None = None

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> IncidentFilter:
        """The filters from parsed query arguments (the API's and the CLI's schema)."""
        return cls(country=args.get("country"), admin1=args.get("admin1"),
                   type=args.get("type"), subtype=args.get("subtype"),
                   actor=args.get("actor"), operation=args.get("operation"),
                   source=args.get("source"), date_from=args.get("from_"),
                   date_to=args.get("to"), min_killed=args.get("min_killed"),
                   bbox=args.get("bbox"), admin2=args.get("admin2"),
                   **{name: args.get(name) for name in ATTRIBUTE_FILTERS},
                   figures_from=args.get("figures_from"))

    def any(self) -> bool:
        return any(v is not None for v in vars(self).values())

    def echo(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in vars(self).items():
            key = {"date_from": "from", "date_to": "to"}.get(name, name)
            out[key] = value.isoformat() if isinstance(value, date) else (
                list(value) if isinstance(value, tuple) else value)
        return out

    def replace(self, **changes: Any) -> IncidentFilter:
        return IncidentFilter(**{**vars(self), **changes})


def summary_of(doc: dict[str, Any], figures_from: str | None = None) -> dict[str, Any]:
    """An incident as lists show it; with `figures_from`, its figures as that source gives
    them (null where it gave none)."""
    summary = incident_summary(doc)
    if figures_from:
        summary.update(source_counts(doc, figures_from))
    return summary


def valid_at(t: FromClause, as_of: bool) -> ColumnElement[bool]:
    """The rows of `t` valid at the position bound as `at` (`as_of`), else the present: a
    Core condition of the same shape as `valid` (the planner's index use depends on it)."""
    if not as_of:
        return t.c.valid_to.is_(None)
    at = bindparam("at", type_=BigInteger)
    return and_(t.c.valid_from <= at, or_(t.c.valid_to.is_(None), t.c.valid_to > at))


def valid(alias: str, at: int | None) -> tuple[str, list[Any]]:
    """The rows of `alias` valid at position `at` (None: the present)."""
    if at is None:
        return f"{alias}.valid_to IS NULL", []
    return (f"{alias}.valid_from <= ? AND ({alias}.valid_to IS NULL OR {alias}.valid_to > ?)",
            [at, at])


def encode_cursor(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        first, second = json.loads(raw)
        return (str(first), str(second))
    except (ValueError, TypeError) as e:
        raise QueryError(f"invalid cursor {cursor!r}: use the 'next' value of a page",
                         "cursor") from e


ACTORS_AT = '"details":{"actors":['


def listed_actors(text: str) -> list[str]:
    """The actor ids of a stored document's details, read off its JSON text without
    decoding the whole (a page of documents decoded to be kept, or decoded twice, costs
    an export more than its rows do): documents are written with sorted keys, so the
    first `"details":{"actors":[` is theirs. Only a hint: an id it misses (an empty list)
    is named with its row."""
    start = text.find(ACTORS_AT)
    if start < 0:
        return []
    start += len(ACTORS_AT) - 1
    try:
        return [a["actor"] for a in orjson.loads(text[start:text.index("]", start) + 1])]
    except (ValueError, TypeError, KeyError):
        return []  # an id with a ']' in it: named with its row


class IncidentQueries(Queries):
    """Incident lists (keyset pages, exports) and details."""

    def incidents(self, filters: IncidentFilter | None = None, limit: int = 50,
                  cursor: str | None = None) -> dict[str, Any]:
        limit = max(1, min(limit, 1000))
        filters = filters or IncidentFilter()
        rows = self._incident_rows(filters, limit + 1, cursor)
        page = rows[:limit]
        more = len(rows) > limit
        return {
            "as_of": self._as_of(),
            "incidents": [summary_of(orjson.loads(doc), filters.figures_from)
                          for _, _, doc in page],
            "next": encode_cursor((page[-1][0], page[-1][1])) if more and page else None,
        }

    def iter_incidents(self, filters: IncidentFilter | None = None, page: int = 1000,
                       summary: bool = True) -> Any:
        """Every matching incident, in list order, a page at a time: its summary, or
        (summary=False, for exports) its document with the figures already folded into
        `killed`, `civilians` and `wounded`, and its actors as (the id each is counted
        under, its name) in `actor_names`. The filters are checked now (an unknown actor
        is refused before an export starts streaming), the rows read as they are taken."""
        filters = filters or IncidentFilter()
        if filters.actor:
            filters = filters.replace(actor=self.actor_filter(filters.actor))
        return self._iter_incidents(filters, page, summary)

    def _iter_incidents(self, filters: IncidentFilter, page: int, summary: bool) -> Any:
        cursor = None
        extra = "i.best, i.low, i.high, i.civilians, i.wounded"
        names: dict[str, tuple[str, str]] = {}
        while True:
            rows = self._incident_rows(filters or IncidentFilter(), page, cursor, extra)
            if summary:
                for row in rows:
                    yield summary_of(orjson.loads(row[2]), filters.figures_from)
            if not summary:
                # The page's actors named at once (not a query per row).
                self.actor_names([a for row in rows for a in listed_actors(row[2])], names)
            for row in rows if not summary else ():
                doc = orjson.loads(row[2])
                if filters.figures_from:
                    # The document as that source alone tells it (the exports' basis
                    # columns read its figures).
                    doc = {**doc, "figures": own_figures(doc, filters.figures_from),
                           "assessments": [], **source_counts(doc, filters.figures_from)}
                else:
                    doc["killed"] = {"best": row[3], "low": row[4], "high": row[5]}
                    doc["civilians"], doc["wounded"] = {"best": row[6]}, {"best": row[7]}
                actors = doc["details"].get("actors") or ()
                try:
                    named = [names[a["actor"]] for a in actors]
                except KeyError:  # missed by listed_actors
                    self.actor_names([a["actor"] for a in actors], names)
                    named = [names[a["actor"]] for a in actors]
                doc["actor_names"] = named if len(named) < 2 else list(dict.fromkeys(named))
                yield doc
            if len(rows) < page:
                return
            cursor = encode_cursor((rows[-1][0], rows[-1][1]))

    def _incident_rows(self, f: IncidentFilter, n: int, cursor: str | None,
                       extra: str = "") -> list[Any]:
        """A page of (date, key, document), newest first. With an actor, the walk follows
        that actor's link rows (indexed by actor, date, id), so a rare actor costs what a
        common one does."""
        if f.actor:
            f = f.replace(actor=self.actor_filter(f.actor))
        order = "i"
        if f.actor:
            where, params = self._incident_where(f.replace(actor=None))
            lcond, lparams = valid("l", self.at)
            source = (f"{self.t('links')} l JOIN {self.t('incidents')} i ON i.oid = l.oid "
                      f"AND {where}")
            params = [*params]
            where = f"l.kind = 'a' AND l.ref = ? AND {lcond}"
            params += [f.actor, *lparams]
            order = "l"
        else:
            where, params = self._incident_where(f)
            source = f"{self.t('incidents')} i"
        if cursor:
            day, key = decode_cursor(cursor)
            # Written as a range on date (not an OR) so the planner seeks the index.
            where += f" AND {order}.date <= ? AND NOT ({order}.date = ? AND {order}.key <= ?)"
            params += [day, day, key]
        sql = (f"SELECT i.date, i.key, i.doc{', ' + extra if extra else ''} FROM {source} "
               f"WHERE {where} "
               f"ORDER BY {order}.date DESC, {order}.key ASC LIMIT ?")
        return self._fetch(sql, [*params, n])

    def _incident_where(self, f: IncidentFilter) -> tuple[str, list[Any]]:
        cond, params = valid("i", self.at)
        parts = [cond, "i.live = 1"]
        # (filter value, the condition it sets): values compared case-insensitively are
        # folded here, as they were when the columns were written.
        simple = (
            (f.country and f.country.casefold(), "i.country_k = ?"),
            (f.type and f.type.casefold(), "i.type = ?"),
            (f.subtype and f.subtype.casefold(), "lower(i.subtype) = ?"),
            (f.operation, "i.operation = ?"),
            (f.date_from and f.date_from.isoformat(), "i.date >= ?"),
            (f.date_to and f.date_to.isoformat(), "i.date <= ?"),
        )
        for value, condition in simple:
            if value:
                parts.append(condition)
                params.append(value)
        for value, level in ((f.admin1, "admin1"), (f.admin2, "admin2")):
            if value:
                cond, more = region_condition(value, level)
                parts.append(cond)
                params += more
        for name, (column, id_column) in ATTRIBUTE_FILTERS.items():
            value = getattr(f, name)
            if value is None:
                continue
            if id_column and value.strip().isdigit():
                parts.append(f"i.{id_column} = ?")
                params.append(value.strip())
            else:
                parts.append(f"i.{column} = ?")
                params.append(value if column in ("interaction", "violence")
                              else fold_attribute(value))
        if f.min_killed is not None:
            parts.append("i.best >= ?")
            params.append(f.min_killed)
        if f.bbox:
            parts.append("i.longitude BETWEEN ? AND ? AND i.latitude BETWEEN ? AND ?")
            params += [f.bbox[0], f.bbox[2], f.bbox[1], f.bbox[3]]
        for kind, ref in (("a", f.actor), ("s", f.source.casefold() if f.source else None),
                          ("s", f.figures_from.casefold() if f.figures_from else None)):
            if ref:
                lcond, lparams = valid("x", self.at)
                parts.append(f"EXISTS (SELECT 1 FROM {self.t('links')} x WHERE x.oid = i.oid "
                             f"AND x.kind = ? AND x.ref = ? AND {lcond})")
                params += [kind, ref, *lparams]
        return " AND ".join(parts), params

    def incident(self, incident_id: str) -> dict[str, Any]:
        cond, params = valid("i", self.at)
        rows = self._fetch(f"SELECT i.doc FROM {self.t('incidents')} i WHERE i.oid = ? AND "
                           f"{cond}", [entity_id("incident", incident_id).hex, *params])
        if not rows:
            raise EntityNotFoundError("incident", incident_id)
        state = orjson.loads(rows[0][0])
        if "cluster" in state:
            # A record counted in another's cluster: the answer is the cluster.
            found = self._fetch(f"SELECT i.doc FROM {self.t('incidents')} i WHERE i.oid = ? "
                                f"AND {cond}", [entity_id("incident", state["cluster"]).hex,
                                                *params])
            if found:
                state = orjson.loads(found[0][0])
        return {**incident_summary(state), "figures": list(state["figures"].values()),
                "materiel": state["materiel"], "corrections": state["corrections"],
                "reports": state["reports"], "retracted": state["retracted"],
                "as_of": self._as_of()}


VIEW = View("incidents", tables, indexes, compared=COMPARED, stage=IncidentsStage, version=2,
            names=("incidents",))
