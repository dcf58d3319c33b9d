"""The identity view: what the live reports say about pairs of records — two incident
records of one event, two actors that are one group (tracker.domain.link). One versioned
row per pair ever linked: its status (`same`, `distinct` or none, as the live assertions
leave it), the record each `same` assertion names first (`named`: what the cluster is
counted under), and the assertions by report.

Its stage runs before the incidents stage and leaves in the unit the pairs whose sameness
(or name) changed (`Unit.relinked`); the incidents stage regroups their clusters. The
working set keeps each record's live `same` neighbours (`adjacency`), read from the rows on
demand, so a cluster is found by a walk over a handful of rows, whatever the log's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    MetaData,
    Select,
    String,
    Table,
    Text,
    bindparam,
    select,
)

from projections.readmodel.schema import NAME
from projections.views.base import Unit, View
from tracker.domain.base import entity_id

if TYPE_CHECKING:
    from projections.decode import RawEvent
    from projections.readmodel.fold import BatchFold

LINK_EVENTS = frozenset({"LinkOpened", "IdentityAsserted", "LinkReportRetracted"})


def tables(md: MetaData, p: str) -> list[Table]:
    return [Table(f"{p}identity", md,
                  Column("oid", String(32), primary_key=True),  # the Link aggregate
                  Column("valid_from", BigInteger, primary_key=True, autoincrement=False),
                  Column("valid_to", BigInteger),
                  Column("kind", String(16), nullable=False),     # incident | actor
                  Column("a", String(32), nullable=False),        # the records' aggregates
                  Column("b", String(32), nullable=False),
                  Column("a_key", String(NAME), nullable=False),
                  Column("b_key", String(NAME), nullable=False),
                  Column("status", String(16)),
                  Column("named", String(NAME)),
                  Column("doc", Text, nullable=False))]


def indexes(t: dict[str, Table], p: str) -> list[Index]:
    ident = t[f"{p}identity"]
    return [Index(f"{p}ix_identity_a", ident.c.kind, ident.c.a, ident.c.valid_to),
            Index(f"{p}ix_identity_b", ident.c.kind, ident.c.b, ident.c.valid_to)]


COMPARED = {"identity": "oid, valid_from, valid_to, kind, a, b, a_key, b_key, status, named, "
                        "doc"}


class LinkEntry:
    """A pair as the working set holds it."""

    __slots__ = ("kind", "a", "b", "a_key", "b_key", "assertions", "valid_from")

    def __init__(self, kind: str, a_key: str, b_key: str,
                 assertions: dict[str, dict[str, Any]] | None = None,
                 valid_from: int | None = None, a: str | None = None,
                 b: str | None = None) -> None:
        self.kind, self.a_key, self.b_key = kind, a_key, b_key
        self.a = a or entity_id(kind, a_key).hex
        self.b = b or entity_id(kind, b_key).hex
        self.assertions = assertions or {}
        self.valid_from = valid_from

    @property
    def status(self) -> str | None:
        relations = {a["relation"] for a in self.assertions.values()}
        return "distinct" if "distinct" in relations else "same" if "same" in relations \
            else None

    @property
    def named(self) -> str | None:
        names = [a["record"] for a in self.assertions.values() if a["relation"] == "same"]
        return min(names) if names else None


# The fold's reads of the identity rows (built once per generation: `query_on`).

def _current_links(t: dict[str, Table]) -> Select[Any]:
    i = t["identity"]
    return select(i.c.oid, i.c.kind, i.c.a_key, i.c.b_key, i.c.doc, i.c.valid_from, i.c.a,
                  i.c.b).where(i.c.valid_to.is_(None),
                               i.c.oid.in_(bindparam("oids", expanding=True)))


def _any_link(t: dict[str, Table]) -> Select[Any]:
    i = t["identity"]
    return select(i.c.kind).where(i.c.kind == bindparam("kind")).limit(1)


def _same_links(side: str) -> Callable[[dict[str, Table]], Select[Any]]:
    def build(t: dict[str, Table]) -> Select[Any]:
        i = t["identity"]
        return select(i.c.a, i.c.b, i.c.named, i.c.a_key, i.c.b_key).where(
            i.c.kind == bindparam("kind"), i.c[side].in_(bindparam("records", expanding=True)),
            i.c.valid_to.is_(None), i.c.status == "same")
    return build


def _actors_incidents(t: dict[str, Table]) -> Select[Any]:
    lk = t["links"]
    return select(lk.c.oid).distinct().where(
        lk.c.kind == "a", lk.c.valid_to.is_(None), lk.c.ref.in_(bindparam("refs", expanding=True)))


def load_links(fold: BatchFold, oids: Iterable[str]) -> None:
    cache = fold.w.views.setdefault("links", {})
    wanted = [o for o in dict.fromkeys(oids) if o not in cache]
    if not wanted:
        return
    current = fold.store.query_on(fold.w.gen, "current links", _current_links)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        for oid, kind, a_key, b_key, doc, vf, a, b in fold.store.rows(
                fold.conn, current, {"oids": chunk}):
            cache[oid] = LinkEntry(kind, a_key, b_key, orjson.loads(doc), int(vf), a, b)


def links_exist(fold: BatchFold, kind: str) -> bool:
    """Whether any link between records of `kind` was ever folded (most stores: none;
    then every record is its own, and nothing is looked up)."""
    views = fold.w.views
    flag = f"{kind}_links"
    if flag not in views:
        views[flag] = bool(fold.store.rows(
            fold.conn, fold.store.query_on(fold.w.gen, "any link", _any_link), {"kind": kind}))
    return bool(views[flag])


def actor_links_exist(fold: BatchFold) -> bool:
    return links_exist(fold, "actor")


def actor_resolver(fold: BatchFold) -> Callable[[str], str] | None:
    """The function mapping an actor id to the id its cluster is counted under (None: no
    actor is linked, every id is its own)."""
    if not actor_links_exist(fold):
        return None
    canon: dict[str, str] = fold.w.views.setdefault("canon:actor", {})

    def resolve(key: str) -> str:
        found = canon.get(key)
        if found is None:
            members, names = cluster_of(fold, "actor", entity_id("actor", key).hex)
            keys = fold.w.views.setdefault("keys:actor", {})
            member_keys = {keys.get(m, key) for m in members}
            found = min(names & member_keys or member_keys)
            canon[key] = found
        return found

    return resolve


def neighbours(fold: BatchFold, kind: str, records: Iterable[str]) -> dict[str, dict[str, str]]:
    """{record: {linked record: pair's named record}} of the live `same` links of these
    records (aggregate ids, hex), read once each and kept in the working set."""
    adjacency: dict[str, dict[str, str]] = fold.w.views.setdefault(f"adjacency:{kind}", {})
    wanted = [r for r in dict.fromkeys(records) if r not in adjacency]
    # One index seek per side (an OR of the two would scan every pair).
    sides = [fold.store.query_on(fold.w.gen, f"same links by {side}", _same_links(side))
             for side in ("a", "b")] if wanted else []
    for start in range(0, len(wanted), 250):
        chunk = wanted[start:start + 250]
        for r in chunk:
            adjacency[r] = {}
        keys = fold.w.views.setdefault(f"keys:{kind}", {})
        found = [row for side in sides for row in fold.store.rows(
            fold.conn, side, {"kind": kind, "records": chunk})]
        for a, b, named, a_key, b_key in found:
            keys[a], keys[b] = a_key, b_key
            for x, y in ((a, b), (b, a)):
                if x in adjacency:
                    adjacency[x][y] = named
    return adjacency


def cluster_of(fold: BatchFold, kind: str, record: str) -> tuple[set[str], set[str]]:
    """The records linked to `record`, transitively (itself included), and the names the
    links between them give (the records their facts name first, by key)."""
    members: set[str] = {record}
    names: set[str] = set()
    if not links_exist(fold, kind):
        return members, names
    frontier = [record]
    while frontier:
        adjacency = neighbours(fold, kind, frontier)
        nxt = []
        for r in frontier:
            for other, named in adjacency[r].items():
                if named:
                    names.add(named)
                if other not in members:
                    members.add(other)
                    nxt.append(other)
        frontier = nxt
    return members, names


class IdentityStage:
    opened: dict[str, LinkEntry]

    def prepare(self, fold: BatchFold, events: list[RawEvent]) -> None:
        """The batch's pairs, and their records' links, read at once (an accepted file of
        thousands of links is one report: a query per pair would cost a round trip each)."""
        # A pair opened in this batch has no row yet: only the others are read.
        new = {e.oid for e in events if e.name == "LinkOpened"}
        load_links(fold, [e.oid for e in events if e.name in LINK_EVENTS and e.oid not in new])
        cache: dict[str, LinkEntry] = fold.w.views.get("links", {})
        records: dict[str, set[str]] = {}
        self.opened = {}
        opened = self.opened
        for e in events:
            if e.name == "LinkOpened":
                d = e.data
                entry = opened[e.oid] = LinkEntry(d["kind"], d["a"], d["b"])
                records.setdefault(entry.kind, set()).update((entry.a, entry.b))
            elif e.name in LINK_EVENTS and e.oid in cache:
                entry = cache[e.oid]
                records.setdefault(entry.kind, set()).update((entry.a, entry.b))
        for kind, found in records.items():
            neighbours(fold, kind, sorted(found))

    def apply(self, fold: BatchFold, unit: Unit) -> None:
        cache: dict[str, LinkEntry] = fold.w.views.setdefault("links", {})
        # The batch's new pairs, made by `prepare` (their records' ids worked out once).
        opened = getattr(self, "opened", {})
        touched: dict[str, tuple[str | None, str | None]] = {}
        for e in unit.events:
            if e.name not in LINK_EVENTS:
                continue
            d = e.data
            if e.name == "LinkOpened":
                entry = opened.pop(e.oid, None)
                cache[e.oid] = entry or LinkEntry(d["kind"], d["a"], d["b"])
            entry = cache.get(e.oid)
            if entry is None:
                load_links(fold, [e.oid])
                entry = cache.get(e.oid)
                if entry is None:
                    continue
            if e.oid not in touched:
                touched[e.oid] = (entry.status, entry.named)
            if e.name == "IdentityAsserted":
                report = d["provenance"]["report"]
                entry.assertions[report] = {"relation": d["relation"], "record": d["record"],
                                            "score": d.get("score"), "method": d.get("method")}
            elif e.name == "LinkReportRetracted":
                entry.assertions.pop(d["report"], None)
        v, end = fold.versions, unit.end
        for oid, (status, named) in touched.items():
            entry = cache[oid]
            v.close("identity", (oid,), entry.valid_from, end)
            v.open("identity", (oid,), [oid, end, entry.kind, entry.a, entry.b, entry.a_key,
                                        entry.b_key, entry.status, entry.named,
                                        fold.dumps(entry.assertions)], end)
            entry.valid_from = end
            was, now = status == "same", entry.status == "same"
            if was == now and (not now or named == entry.named):
                continue
            if entry.kind == "actor":
                self._before_actors_relink(fold, unit, entry)
            fold.w.views.setdefault(f"keys:{entry.kind}", {}).update(
                {entry.a: entry.a_key, entry.b: entry.b_key})
            fold.w.views[f"{entry.kind}_links"] = True
            # Both records' links as they stood (read now, before this batch's rows are
            # written), then this change on top.
            adjacency = neighbours(fold, entry.kind, [entry.a, entry.b])
            for x, y in ((entry.a, entry.b), (entry.b, entry.a)):
                if x in adjacency:
                    if now:
                        adjacency[x][y] = entry.named or ""
                    else:
                        adjacency[x].pop(y, None)
            unit.relinked.setdefault(entry.kind, set()).update((entry.a, entry.b))
            fold.w.views[f"{entry.kind}_links"] = True
            if entry.kind == "actor":
                fold.w.views.pop("canon:actor", None)

    @staticmethod
    def _before_actors_relink(fold: BatchFold, unit: Unit, entry: LinkEntry) -> None:
        """The incidents counted under any actor of the pair's clusters are counted again
        after the link changes: what they count now is worked out first (with the actors
        as they were) and kept, and the incidents stage is told to count them again."""
        from projections.views.incidents import IncidentsStage

        keys: set[str] = set()
        for record in (entry.a, entry.b):
            members, _ = cluster_of(fold, "actor", record)
            known = fold.w.views.setdefault("keys:actor", {})
            known.update({entry.a: entry.a_key, entry.b: entry.b_key})
            keys |= {known[m] for m in members if m in known}
        keys |= {entry.a_key, entry.b_key}
        oids: list[str] = []
        ordered = sorted(keys)
        counted = fold.store.query_on(fold.w.gen, "actors' incidents", _actors_incidents)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start:start + 500]
            oids += [o for (o,) in fold.store.rows(fold.conn, counted, {"refs": chunk})]
        # Pending rows of this batch (not yet in the table) are in the working set.
        oids += [oid for oid, e in fold.w.incidents.items()
                 if any(k == "a" and ref in keys for k, ref in e.links)]
        IncidentsStage.load(fold, oids, set())
        resolve = actor_resolver(fold)
        for oid in oids:
            fold.w.incidents[oid].contributions(resolve)
        unit.recount.update(oids)


VIEW = View("identity", tables, indexes, compared=COMPARED, stage=IdentityStage)
