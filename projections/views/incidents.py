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
from typing import TYPE_CHECKING, Any, NamedTuple

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
    Select,
    String,
    Table,
    and_,
    bindparam,
    exists,
    func,
    not_,
    or_,
    select,
)

from projections.casualty_tallies import NO_ROWS, IncidentRows, incident_rows
from projections.filters import FILTER_PARAMS
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
from projections.readmodel.packed import PackedJSON, pack
from projections.readmodel.schema import FIGURE, FOLDED, NAME
from projections.views.base import Queries, Unit, Valid, View
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
    subtype = details.get("subtype")
    violence = VIOLENCE_OF_SUBTYPE.get(str(subtype or "").casefold()) if subtype else None
    if not a:  # most records of most sources: nothing to read
        return [None, None, None, violence, None, None, None, None]
    get = a.get
    try:
        interaction = interaction_code(_text(get("interaction")))
    except ValueError:
        interaction = None  # not an ACLED interaction: no filter finds it
    return [interaction, fold_attribute(get("disorder_type")),
            fold_attribute(get("civilian_targeting")), violence, _text(get("dyad_new_id")),
            fold_attribute(get("dyad_name")), _text(get("conflict_new_id")),
            fold_attribute(get("conflict_name"))]


def _text(value: Any) -> str | None:
    """An attribute as an id column holds it: stripped, cut to the column's width."""
    return (str(value).strip()[:FOLDED] or None) if value else None


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
              # Where best comes from (the evidence rule and its report), as the fold
              # worked it out: what exports show per row without working it out again.
              Column("basis_rule", String(32)), Column("basis_report", String(NAME)),
              # The whole document, zstd-packed (projections.readmodel.packed).
              Column("doc", PackedJSON, nullable=False)),
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
                 + ", ".join(DATASET_COLUMNS) + ", basis_rule, basis_report, doc",
    "links": "oid, kind, ref, valid_from, valid_to, key, date, best, low, high",
}


# -- the fold --------------------------------------------------------------------------------

# A link's figures (None: the incident's), its date, and the version it started.
Link = tuple[Any, Any, int]


class IncidentEntry:
    """An incident record as the working set holds it: its own document (`doc`, what its
    events say), the document its row holds (`counted`: its own, a cluster's merged one
    when it names the cluster, or its own marked with the cluster it belongs to), the start
    of its current version, its current links, and what it contributes (computed once).

    Between batches an entry is frozen (`freeze`): its documents are dropped and read
    again from the JSON its row holds (`written`) when next used, as a load from the table
    would, but without the query. Parsed, a document takes about seven times its JSON's
    bytes: frozen, the working set takes about half the memory (a 1M rebuild peaks ~470 MB)."""

    __slots__ = ("_doc", "_counted", "written", "valid_from", "links", "rows")

    def __init__(self, counted: dict[str, Any] | None = None,
                 valid_from: int | None = None, written: bytes | None = None) -> None:
        self._counted = counted
        self.written = written  # the JSON the row holds (UTF-8, sorted keys)
        self._doc = own_document(counted)
        self.valid_from = valid_from
        self.links: dict[tuple[str, str], Link] = {}
        self.rows: IncidentRows | None = None
        WARM.append(self)

    # Both documents are frozen and thawed together: reading or setting either thaws both.

    @property
    def doc(self) -> dict[str, Any] | None:
        self._warm()
        return self._doc

    @doc.setter
    def doc(self, value: dict[str, Any] | None) -> None:
        self._warm()
        self._doc = value

    @property
    def counted(self) -> dict[str, Any] | None:
        self._warm()
        return self._counted

    @counted.setter
    def counted(self, value: dict[str, Any] | None) -> None:
        self._warm()
        self._counted = value

    def _warm(self) -> None:
        if self._doc is FROZEN:
            self._thaw()

    def freeze(self) -> None:
        """Drops the parsed documents where the row's JSON holds them (`counted` is what
        `written` says, and `doc` is its own part, as after every unit)."""
        if self.written is not None and self._counted is not None \
                and self._counted is not FROZEN:
            self._doc = self._counted = FROZEN

    def _thaw(self) -> None:
        assert self.written is not None
        self._counted = orjson.loads(self.written)
        self._doc = own_document(self._counted)
        WARM.append(self)

    def contributions(self, resolve: Resolve = None) -> IncidentRows:
        if self.rows is None:
            self.rows = contributions_of(self.counted, resolve)
        return self.rows


# What a frozen entry's documents are until it is next used (IncidentEntry.freeze).
FROZEN: Any = object()
# The entries made or thawed since the last `freeze_warm` (any working set's: freezing
# only drops what can be read again).
WARM: list[IncidentEntry] = []


def freeze_warm() -> None:
    """Freezes the entries used since the last call (the working set's trim, between
    batches): a batch's cost, not the working set's size."""
    warm = WARM[:]
    del WARM[:len(warm)]
    for entry in warm:
        entry.freeze()


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


# The fold's reads of the current rows (built once per generation: `query_on`).

def _current_incidents(t: dict[str, Table]) -> Select[Any]:
    i = t["incidents"]
    return select(i.c.oid, i.c.valid_from, i.c.doc).where(
        i.c.valid_to.is_(None), i.c.oid.in_(bindparam("oids", expanding=True)))


def _current_links(t: dict[str, Table]) -> Select[Any]:
    lk = t["links"]
    return select(lk.c.oid, lk.c.kind, lk.c.ref, lk.c.valid_from, lk.c.date, lk.c.best,
                  lk.c.low, lk.c.high).where(
        lk.c.valid_to.is_(None), lk.c.oid.in_(bindparam("oids", expanding=True)))


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
        if not wanted:
            return
        s, conn = fold.store, fold.conn
        incidents = s.query_on(fold.w.gen, "current incidents", _current_incidents)
        links = s.query_on(fold.w.gen, "current incident links", _current_links)
        for chunk in _chunks(wanted):
            # The JSON, unpacked by the column's type (PackedJSON).
            for oid, vf, text in s.rows(conn, incidents, {"oids": chunk}):
                cache[oid] = IncidentEntry(orjson.loads(text), int(vf), text)
            for oid, kind, ref, vf, day, best, low, high in s.rows(conn, links,
                                                                   {"oids": chunk}):
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
        # Copied to its own size: orjson's bytes keep the buffer they were written in
        # (~8 KB however short the JSON), and the working set holds this between batches.
        written = bytes(memoryview(orjson.dumps(counted, option=orjson.OPT_SORT_KEYS)))
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
        state, written = entry.counted, entry.written
        assert state is not None and written is not None
        v = fold.versions
        v.close("incidents", (oid,), entry.valid_from, end)
        d = state["details"]
        loc = d.get("location") or {}
        k, others = rows.killed, rows.others
        country, admin1 = loc.get("country"), loc.get("admin1")
        admin2 = loc.get("admin2")
        live = 0 if state["retracted"] or "cluster" in state else 1
        basis = k.get("basis") or {}
        v.open("incidents", (oid,), [
            oid, end, state["id"], live, d.get("date"),
            d.get("type"), d.get("subtype"), country, country.casefold() if country else None,
            admin1, admin1.casefold() if admin1 else None,
            admin2, admin2.casefold() if admin2 else None, d.get("operation"),
            loc.get("latitude"), loc.get("longitude"), k["best"], k["low"], k["high"],
            others["civilians"], others["wounded"], *dataset_columns(d),
            basis.get("rule"), basis.get("report"), pack(written)], end)
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


def article_of(level: str) -> str:
    """'a country', 'an admin1'."""
    return f"an {level}" if level[0] in "aeiou" else f"a {level}"


def region_terms(value: str, level: str) -> list[tuple[str, str | None]]:
    """What an admin1 or admin2 filter compares: (column, folded name; None: the name is
    missing). The filter is a name ("Mopti": every country's), or a region key ("Mali /
    Mopti", "Mali / Mopti / Djenné", or for admin2 "Mopti / Djenné"), any case; "(unknown)"
    in a key is a missing name. Each name is compared on its own indexed column, the
    region's own name first, so the walk follows the region's index."""
    parts = [p.strip() for p in value.split(" / ")]
    depth = REGION_LEVELS.index(level) + 1
    if len(parts) == 1 and value.strip().casefold() == "(unknown)":
        return [(f"{level}_k", None)]
    if len(parts) == 1 or len(parts) > depth:
        return [(f"{level}_k", value.casefold())]
    return [(f"{name}_k", None if part.casefold() == "(unknown)" else part.casefold())
            for name, part in reversed(list(zip(REGION_LEVELS[depth - len(parts):depth],
                                                parts, strict=True)))]


# One condition of an incident filter: (op, column or nothing, the names of its values).
Term = tuple[str, ...]


class Where(NamedTuple):
    """An incident filter as the shape of its conditions (the key its statements are built
    once under) and the values they bind, by name."""

    terms: tuple[Term, ...]
    values: dict[str, Any]


def incident_conditions(i: FromClause, links: FromClause, terms: tuple[Term, ...],
                        valid: Valid) -> list[ColumnElement[bool]]:
    """The conditions on the incidents `i` of a filter's terms (`_incident_filter`): the
    live rows valid at the read's position, then each term on its indexed column."""
    out: list[ColumnElement[bool]] = [valid(i), i.c.live == 1]
    for op, *args in terms:
        if op == "eq":
            out.append(i.c[args[0]] == bindparam(args[1]))
        elif op == "null":
            out.append(i.c[args[0]].is_(None))
        elif op == "lower":
            out.append(func.lower(i.c[args[0]]) == bindparam(args[1], type_=String))
        elif op == "ge":
            out.append(i.c[args[0]] >= bindparam(args[1]))
        elif op == "le":
            out.append(i.c[args[0]] <= bindparam(args[1]))
        elif op == "between":
            out.append(i.c[args[0]].between(bindparam(args[1]), bindparam(args[2])))
        elif op == "link":
            x = links.alias("x")
            out.append(exists().where(x.c.oid == i.c.oid, x.c.kind == bindparam(args[0]),
                                      x.c.ref == bindparam(args[1]), valid(x)))
        else:
            raise AssertionError(f"unknown filter term {op!r}")
    return out


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
        return cls(**{p.field: args.get(p.attribute) for p in FILTER_PARAMS})

    def any(self) -> bool:
        return any(v is not None for v in vars(self).values())

    def echo(self) -> dict[str, Any]:
        """The filters as answers echo them: by their parameters' names (`from`, `to`),
        dates as ISO text, the bounding box as a list."""
        out: dict[str, Any] = {}
        for p in FILTER_PARAMS:
            value = getattr(self, p.field)
            out[p.name] = value.isoformat() if isinstance(value, date) else (
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
    """The rows of `t` valid at the position bound as `at` (`as_of`), else the present
    (valid_to NULL). Its shape (a range on valid_from, not a rewrite) is what the indexes
    on valid_to and the planners' choices were measured with."""
    if not as_of:
        return t.c.valid_to.is_(None)
    at = bindparam("at", type_=BigInteger)
    return and_(t.c.valid_from <= at, or_(t.c.valid_to.is_(None), t.c.valid_to > at))


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


ACTORS_AT = b'"details":{"actors":['


def listed_actors(text: bytes | str) -> list[str]:
    """The actor ids of a stored document's details, read off its JSON without
    decoding the whole (a page of documents decoded to be kept, or decoded twice, costs
    an export more than its rows do): documents are written with sorted keys, so the
    first `"details":{"actors":[` is theirs. Only a hint: an id it misses (an empty list)
    is named with its row."""
    data = text.encode() if isinstance(text, str) else text
    start = data.find(ACTORS_AT)
    if start < 0:
        return []
    start += len(ACTORS_AT) - 1
    try:
        return [a["actor"] for a in orjson.loads(data[start:data.index(b"]", start) + 1])]
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
        `killed`, `civilians` and `wounded` (and where best comes from in `basis_rule` and
        `basis_report`, as the fold worked it out), and its actors as (the id each is
        counted under, its name) in `actor_names`. The filters are checked now (an unknown actor
        is refused before an export starts streaming), the rows read as they are taken."""
        return self._iter_incidents(self.known_filter(filters or IncidentFilter()), page,
                                    summary)

    def _iter_incidents(self, filters: IncidentFilter, page: int, summary: bool) -> Any:
        cursor = None
        extra = ("best", "low", "high", "civilians", "wounded", "basis_rule", "basis_report")
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
                    doc["basis_rule"], doc["basis_report"] = row[8], row[9]
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
                       extra: tuple[str, ...] = ()) -> list[Any]:
        """A page of (date, key, document, *extra columns), newest first. With an actor,
        the walk follows that actor's link rows (indexed by actor, date, id), so a rare
        actor costs what a common one does."""
        f = self.known_filter(f)
        actor = f.actor
        where = self._incident_filter(f.replace(actor=None) if actor else f)
        params: dict[str, Any] = {**where.values, "n": n}
        if actor:
            params["actor"] = actor
        if cursor:
            params["day"], params["after"] = decode_cursor(cursor)
        i, links = self.tbl("incidents"), self.tbl("links")

        def build(valid: Valid) -> Select[Any]:
            conds = incident_conditions(i, links, where.terms, valid)
            source: FromClause = i
            order: FromClause = i
            if actor:
                order = links.alias("l")
                source = order.join(i, and_(i.c.oid == order.c.oid, *conds))
                conds = [order.c.kind == "a", order.c.ref == bindparam("actor"), valid(order)]
            if cursor:
                # Written as a range on date (not an OR) so the planner seeks the index.
                day = bindparam("day", type_=String)
                conds += [order.c.date <= day,
                          not_(and_(order.c.date == day, order.c.key <= bindparam("after")))]
            return (select(i.c.date, i.c.key, i.c.doc, *(i.c[c] for c in extra))
                    .select_from(source).where(*conds)
                    .order_by(order.c.date.desc(), order.c.key.asc())
                    .limit(bindparam("n", type_=Integer)))

        return self._query(("incident rows", where.terms, bool(actor), bool(cursor), extra),
                           build, params)

    def known_filter(self, f: IncidentFilter) -> IncidentFilter:
        """The filter with its actor resolved (the id it is counted under), once what it
        names is known: an actor, a source (`source`, `figures_from`), a place (`country`,
        `admin1`, `admin2`) no record has is a 422 naming the parameter, not an empty
        answer."""
        if f.actor:
            f = f.replace(actor=self.actor_filter(f.actor))
        for field in ("source", "figures_from"):
            if getattr(f, field):
                self.source_filter(getattr(f, field), field)
        for level in REGION_LEVELS:
            if getattr(f, level):
                self.place_filter(getattr(f, level), level)
        return f

    def place_filter(self, value: str, level: str) -> None:
        """A 422 naming the filter (`country`, `admin1`, `admin2`) when a name in it is one
        no incident was ever recorded under, at its level, in any version of any row: a
        place an as_of read finds then (corrected or retracted since) is known, a misspelt
        one is not. Each name of a key ("Mali / Mopti") is looked up on its own indexed
        column (LIMIT 1: a seek, never a walk of rows or of the log); a key whose names
        all exist but not together ("Cameroon / Centre / Kadiogo") is an empty answer, as
        the filter reads it."""
        i = self.tbl("incidents")
        parts = [p.strip() for p in value.split(" / ")]
        depth = REGION_LEVELS.index(level) + 1
        named = ([(level, value)] if len(parts) == 1 or len(parts) > depth  # as region_terms
                 else list(zip(REGION_LEVELS[depth - len(parts):depth], parts, strict=True)))
        for at_level, name in named:
            if at_level != "country" and name.casefold() == "(unknown)":
                continue  # a missing name: no lookup
            column = i.c[f"{at_level}_k"]

            def build(valid: Valid, column: Any = column) -> Select[Any]:  # any version
                return select(i.c.key).where(column == bindparam("name")).limit(1)

            if self._query(("place named", at_level), build, {"name": name.casefold()},
                           at=None):
                continue
            where = "there" if name == value else f"in {article_of(at_level)} named {name!r}"
            raise QueryError(f"unknown {level} {value!r}: no incident was ever recorded "
                             f"{where} (list them with /casualties?by={level})", level)

    def _incident_filter(self, f: IncidentFilter) -> Where:
        """The filter's conditions on the incidents (`incident_conditions` makes them) and
        the values they bind."""
        terms: list[Term] = []
        values: dict[str, Any] = {}

        def bind(value: Any) -> str:
            name = f"w{len(values)}"
            values[name] = value
            return name

        # (filter value, the condition it sets): values compared case-insensitively are
        # folded here, as they were when the columns were written.
        simple = (
            (f.country and f.country.casefold(), "eq", "country_k"),
            (f.type and f.type.casefold(), "eq", "type"),
            (f.subtype and f.subtype.casefold(), "lower", "subtype"),
            (f.operation, "eq", "operation"),
            (f.date_from and f.date_from.isoformat(), "ge", "date"),
            (f.date_to and f.date_to.isoformat(), "le", "date"),
        )
        for value, op, column in simple:
            if value:
                terms.append((op, column, bind(value)))
        for value, level in ((f.admin1, "admin1"), (f.admin2, "admin2")):
            if value:
                terms += [("eq", column, bind(name)) if name is not None else ("null", column)
                          for column, name in region_terms(value, level)]
        for name, (column, id_column) in ATTRIBUTE_FILTERS.items():
            value = getattr(f, name)
            if value is None:
                continue
            if id_column and value.strip().isdigit():
                terms.append(("eq", id_column, bind(value.strip())))
            else:
                terms.append(("eq", column, bind(
                    value if column in ("interaction", "violence") else fold_attribute(value))))
        if f.min_killed is not None:
            terms.append(("ge", "best", bind(f.min_killed)))
        if f.bbox:
            terms += [("between", "longitude", bind(f.bbox[0]), bind(f.bbox[2])),
                      ("between", "latitude", bind(f.bbox[1]), bind(f.bbox[3]))]
        for kind, ref in (("a", f.actor), ("s", f.source.casefold() if f.source else None),
                          ("s", f.figures_from.casefold() if f.figures_from else None)):
            if ref:
                terms.append(("link", bind(kind), bind(ref)))
        return Where(tuple(terms), values)

    def incident(self, incident_id: str) -> dict[str, Any]:
        i = self.tbl("incidents")

        def doc(oid: str) -> list[Any]:
            return self._query("incident", lambda valid: select(i.c.doc).where(
                i.c.oid == bindparam("oid"), valid(i)), {"oid": oid})

        rows = doc(entity_id("incident", incident_id).hex)
        if not rows:
            raise EntityNotFoundError("incident", incident_id)
        state = orjson.loads(rows[0][0])
        if "cluster" in state:
            # A record counted in another's cluster: the answer is the cluster.
            found = doc(entity_id("incident", state["cluster"]).hex)
            if found:
                state = orjson.loads(found[0][0])
        return {**incident_summary(state), "figures": list(state["figures"].values()),
                "materiel": state["materiel"], "corrections": state["corrections"],
                "reports": state["reports"], "retracted": state["retracted"],
                "as_of": self._as_of()}


# Indexes no query reads, dropped from read models that have them: `ix_inc_key` (incidents
# by key; every read by key goes through the primary key, by oid). Each cost every new
# version an insert at a random place: folding the last 60k events of a 1M log into its
# views took ~6% longer with it.
RETIRED = (("incidents", "ix_inc_key"),)

# 4: a retracted report's sources leave the incident's `sources` (and its source links,
# the sources view and the source filter with them).
# 5: a retracted report's corrections are undone (the documents keep each corrected
# field's value before its first correction: `originals`).
VIEW = View("incidents", tables, indexes, compared=COMPARED, stage=IncidentsStage, version=5,
            names=("incidents",), retired=RETIRED)
