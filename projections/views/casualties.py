"""The casualties view: one tally row per (dimension, key) per version — best, low, high,
civilians, wounded and the incidents counted — by country, admin1, actor, month, type and
operation (and the total); `tally_keys` lists every key ever tallied, for "as of" seeks.
And "what changed between two moments": the rows whose validity starts or ends in between,
with the reports of those units.

Its fold stage moves each tally row by the difference between what each changed incident
contributed before and after the unit (projections.casualty_tallies), as the incidents
stage left it in `Unit.incidents`.
"""

from __future__ import annotations

from datetime import datetime
from operator import add
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Index,
    Integer,
    Join,
    MetaData,
    Select,
    String,
    Table,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ClauseElement

from projections.casualty_tallies import (
    DIMENSIONS,
    REGION_LEVELS,
    UNKNOWN,
    add_changes,
    incident_rows,
    region_fields,
    region_key,
)
from projections.group_leadership import actor_doc_id
from projections.incident_state import own_figures
from projections.readmodel.schema import FIGURE, FOLDED
from projections.views.base import Queries, Unit, Valid, View
from projections.views.incidents import (
    IncidentFilter,
    QueryError,
    encode_cursor,
    incident_conditions,
)

if TYPE_CHECKING:
    from projections.decode import RawEvent
    from projections.readmodel.fold import BatchFold

FIGS = ("best", "low", "high")
# What `total` adds up, by dimension.
TOTAL_OF = {
    "": "every matching incident, once",
    "actor": "every matching incident, once (an incident with several actors is in each "
             "of their rows)",
    "operation": "the matching incidents of an operation (the rows' sum)",
}
# What the stage keeps per tally row, in add_changes' order.
VALUES = ("best", "low", "high", "civilians", "wounded", "civilians_n", "wounded_n",
          "incidents")


def tables(md: MetaData, p: str) -> list[Table]:
    return [
        Table(f"{p}tallies", md,
              Column("dim", String(16), primary_key=True),
              Column("key", String(FOLDED), primary_key=True),
              Column("valid_from", BigInteger, primary_key=True, autoincrement=False),
              Column("valid_to", BigInteger),
              Column("best", FIGURE, nullable=False), Column("low", FIGURE, nullable=False),
              Column("high", FIGURE, nullable=False),
              Column("civilians", FIGURE, nullable=False),
              Column("wounded", FIGURE, nullable=False),
              Column("incidents", FIGURE, nullable=False),
              # How many incidents a source gives civilians (wounded) for: where none
              # does, the tally's civilians are unknown, not zero.
              Column("civilians_n", FIGURE, nullable=False),
              Column("wounded_n", FIGURE, nullable=False)),
        Table(f"{p}tally_keys", md,
              Column("dim", String(16), primary_key=True),
              Column("key", String(FOLDED), primary_key=True),
              info={"on_conflict": "ignore"}),
    ]


def indexes(t: dict[str, Table], p: str) -> list[Index]:
    tallies = t[f"{p}tallies"]
    return [Index(f"{p}ix_tallies_to", tallies.c.dim, tallies.c.valid_to),
            Index(f"{p}ix_tallies_from", tallies.c.dim, tallies.c.valid_from)]


COMPARED = {
    "tallies": "dim, key, valid_from, valid_to, best, low, high, civilians, wounded, "
               "incidents, civilians_n, wounded_n",
    "tally_keys": "dim, key",
}


def _current_tallies(t: dict[str, Table]) -> Select[Any]:
    tl = t["tallies"]
    return select(tl.c.dim, tl.c.key, tl.c.valid_from, *(tl.c[c] for c in VALUES)).where(
        tl.c.valid_to.is_(None))


class CasualtiesStage:
    def prepare(self, fold: BatchFold, events: list[RawEvent]) -> None:
        w = fold.w
        if w.tallies is None:
            w.tallies = {}
            s = fold.store
            for dim, key, vf, *values in s.rows(fold.conn, s.query_on(
                    w.gen, "current tallies", _current_tallies)):
                w.tallies[(dim, key)] = [tuple(values), int(vf)]
            w.tally_keys = {(d, k) for d, k in s.rows(fold.conn, s.query_on(
                w.gen, "tally keys", lambda t: select(t["tally_keys"].c.dim,
                                                      t["tally_keys"].c.key)))}

    def apply(self, fold: BatchFold, unit: Unit) -> None:
        w, v, end = fold.w, fold.versions, unit.end
        tallies = w.tallies
        assert tallies is not None
        deltas: dict[tuple[str, str], list[int]] = {}
        for old, new in unit.incidents.values():
            add_changes(deltas, old.tallies, new.tallies)
        for key, delta in deltas.items():
            if not any(delta):
                continue
            current = tallies.get(key)
            new_values = tuple(map(add, current[0], delta)) if current else tuple(delta)
            v.close("tallies", key, current[1] if current else None, end)
            if any(new_values):
                b, lo, hi, civ, wnd, civ_n, wnd_n, inc = new_values
                v.open("tallies", key, [*key, end, b, lo, hi, civ, wnd, inc, civ_n, wnd_n], end)
                tallies[key] = [new_values, end]
                if key not in w.tally_keys:
                    w.tally_keys.add(key)
                    v.add("tally_keys", list(key))
            else:
                tallies.pop(key, None)


class CrossJoin(Join):
    """`left CROSS JOIN right` (its condition goes in WHERE): SQLite walks `left` first
    (its documented way to fix a join order); PostgreSQL plans it as any join."""

    inherit_cache = True

    def __init__(self, left: Table, right: Table) -> None:
        super().__init__(left, right, true())


@compiles(CrossJoin)
def _cross_join(join: CrossJoin, compiler: Any, asfrom: bool = False, **kw: Any) -> str:
    sides: list[ClauseElement] = [join.left, join.right]
    return " CROSS JOIN ".join(compiler.process(side, asfrom=True, **kw) for side in sides)


def _tally_row(r: Any) -> dict[str, Any]:
    key, best, low, high, civilians, wounded, civilians_n, wounded_n, incidents = r
    return {"key": key if key is not None else UNKNOWN,
            "killed": {"best": int(best or 0), "low": int(low or 0), "high": int(high or 0)},
            "civilians": _given(civilians, civilians_n), "wounded": _given(wounded, wounded_n),
            "incidents": int(incidents)}


def _given(total: Any, reported_by: Any) -> dict[str, Any]:
    """A count some incidents give: their sum, and how many give it (None where none
    does: unknown, not zero)."""
    n = int(reported_by or 0)
    return {"best": int(total or 0) if n else None, "reported_by": n}


class CasualtyQueries(Queries):
    """Casualty tallies (whole, or over filtered incidents) and what changed."""

    def casualties(self, by: str, filters: IncidentFilter | None = None) -> dict[str, Any]:
        if by not in DIMENSIONS:
            raise QueryError(f"cannot group casualties by {by!r}; use one of: "
                             + ", ".join(DIMENSIONS), "by")
        filters = self.known_filter(filters or IncidentFilter())
        if filters.figures_from:
            rows, total = self._source_tally(by, filters)
        elif filters.any():
            rows, total = self._filtered_tally(by, filters)
        else:
            rows = [_tally_row(r) for r in self._tallies(by)]
            found = self._tallies("total")
            total = _tally_row(found[0])["killed"] if found else dict.fromkeys(FIGS, 0)
        if by == "operation":
            # Only incidents of an operation have a row: the total is theirs.
            total = {k: sum(r["killed"][k] for r in rows) for k in FIGS}
        names = self._actor_names([r["key"] for r in rows]) if by == "actor" else {}
        for r in rows:
            r["name"] = names.get(r["key"], r["key"])
            if by in REGION_LEVELS:
                r.update(region_fields(r["key"], by))
                r["name"] = r[by] or UNKNOWN
        if by == "month":
            rows.sort(key=lambda r: r["key"])
        else:
            rows.sort(key=lambda r: (-r["killed"]["best"], r["key"]))
        return {"by": by, "as_of": self._as_of(), "filters": filters.echo(),
                "rows": rows, "total": total, "total_of": TOTAL_OF.get(by, TOTAL_OF[""])}

    def _tallies(self, dim: str) -> list[Any]:
        """The tally rows of one dimension at this position. As of a past position, one
        index seek per key (its last version starting by then), however many versions
        came after."""
        t, k = self.tbl("tallies"), self.tbl("tally_keys")
        cols = [t.c[c] for c in ("key", "best", "low", "high", "civilians", "wounded",
                                 "civilians_n", "wounded_n", "incidents")]
        if self.at is None:
            return self._query("tallies", lambda valid: select(*cols).where(
                t.c.dim == bindparam("dim"), valid(t)), {"dim": dim})

        def build(valid: Valid) -> Select[Any]:
            at = bindparam("at", type_=BigInteger)
            s = t.alias("s")
            latest = select(func.max(s.c.valid_from)).where(
                s.c.dim == k.c.dim, s.c.key == k.c.key, s.c.valid_from <= at).scalar_subquery()
            # CROSS JOIN: SQLite then walks the keys first (its documented way to fix the
            # join order); PostgreSQL plans it as any join.
            return select(*cols).select_from(CrossJoin(k, t)).where(
                k.c.dim == bindparam("dim"), t.c.dim == k.c.dim, t.c.key == k.c.key,
                t.c.valid_from == latest, or_(t.c.valid_to.is_(None), t.c.valid_to > at))

        return self._query("tallies as of", build, {"dim": dim})

    def _actor_names(self, keys: list[str]) -> dict[str, str]:
        names = {}
        d = self.tbl("docs")
        for start in range(0, len(keys), 500):
            chunk = [actor_doc_id(k) for k in keys[start:start + 500]]
            for (body,) in self._query("tally actor names", lambda valid: select(d.c.doc).where(
                    d.c.kind == "actor", d.c.id.in_(bindparam("ids", expanding=True)),
                    valid(d)), {"ids": chunk}):
                doc = orjson.loads(body)
                names[doc["id"]] = doc["name"]
        return names

    def _filtered_tally(self, by: str, f: IncidentFilter) -> tuple[list[dict[str, Any]],
                                                                    dict[str, int]]:
        where = self._incident_filter(f)
        i, links = self.tbl("incidents"), self.tbl("links")
        if by == "actor":
            def by_actor(valid: Valid) -> Select[Any]:
                a = links.alias("a")
                zero = literal_column("0", Integer)
                return select(
                    a.c.ref, *(func.sum(func.coalesce(a.c[c], i.c[c])) for c in FIGS),
                    zero, zero, zero, zero, func.count()).select_from(i.join(
                        a, and_(a.c.oid == i.c.oid, a.c.kind == "a", valid(a)))).where(
                    *incident_conditions(i, links, where.terms, valid)).group_by(a.c.ref)

            rows = [_tally_row(r) for r in self._query(
                ("filtered tally", by, where.terms), by_actor, where.values)]
        else:
            # Regions group by the names their key is made of (region_key, as the fold).
            def by_column(valid: Valid) -> Select[Any]:
                month = func.substr(i.c.date, literal_column("1"), literal_column("7"))
                columns: list[ColumnElement[Any]] = [month] if by == "month" else [
                    i.c[name] for name in REGION_LEVELS.get(by, (by,))]
                zero = literal_column("0", Integer)
                conds = incident_conditions(i, links, where.terms, valid)
                if by == "operation":
                    conds.append(i.c.operation.isnot(None))
                return select(
                    *columns, *(func.sum(i.c[c]) for c in FIGS),
                    func.sum(func.coalesce(i.c.civilians, zero)),
                    func.sum(func.coalesce(i.c.wounded, zero)),
                    func.count(i.c.civilians), func.count(i.c.wounded), func.count(),
                ).where(*conds).group_by(*columns)

            found = self._query(("filtered tally", by, where.terms), by_column, where.values)
            if by in REGION_LEVELS:
                n = len(REGION_LEVELS[by])
                merged: dict[str, list[int]] = {}
                for r in found:
                    key = region_key(dict(zip(REGION_LEVELS[by], r[:n], strict=True)), by)
                    acc = merged.setdefault(key, [0] * 8)
                    for i_, value in enumerate(r[n:]):
                        acc[i_] += int(value or 0)
                found = [(key, *values) for key, values in merged.items()]
            rows = [_tally_row(r) for r in found]
        found = self._query(("filtered total", where.terms), lambda valid: select(
            *(func.sum(i.c[c]) for c in FIGS)).where(
                *incident_conditions(i, links, where.terms, valid)), where.values)
        total = {k: int(v or 0) for k, v in zip(FIGS, found[0], strict=True)}
        return rows, total

    def _source_tally(self, by: str, f: IncidentFilter) -> tuple[list[dict[str, Any]],
                                                                  dict[str, int]]:
        """The tally of one source's own figures (`figures_from`) over the incidents it
        gave figures for: each matching incident's document is read and its figures worked
        out by the evidence rules over that source's alone, so this costs a read of every
        matching incident's document (the other tallies are read off indexed columns)."""
        assert f.figures_from is not None
        sums: dict[str, list[int]] = {}
        total = [0, 0, 0]
        cursor = None
        while True:
            page = self._incident_rows(f, 1000, cursor)
            for _, _, body in page:
                doc = orjson.loads(body)
                own = own_figures(doc, f.figures_from)
                if not own:
                    continue
                contributed = incident_rows({**doc, "figures": own, "assessments": [],
                                             "retracted": None}).tallies
                for (dim, key), figs in contributed.items():
                    if dim == "total":
                        total = [a + b for a, b in zip(total, figs[:3], strict=True)]
                    if dim != by:
                        continue
                    acc = sums.setdefault(key, [0] * 8)
                    for i, value in enumerate(figs):
                        acc[i] += value
                    acc[7] += 1
            if len(page) < 1000:
                break
            cursor = encode_cursor((page[-1][0], page[-1][1]))
        rows = [_tally_row((key, *values)) for key, values in sums.items()]
        return rows, dict(zip(FIGS, total, strict=True))

    # -- what changed -------------------------------------------------------------------

    def changes(self, by: str, p1: int, p2: int, t1: datetime, t2: datetime | None
                ) -> dict[str, Any]:
        """Per key of `by` whose tally moved between positions p1 and p2: before, after,
        and the reports (with source and position) whose units moved it."""
        if by not in DIMENSIONS:
            raise QueryError(f"cannot group changes by {by!r}; use one of: "
                             + ", ".join(DIMENSIONS), "by")
        t, u = self.tbl("tallies"), self.tbl("units")

        def moved_between(valid: Valid) -> Select[Any]:
            p1_, p2_ = bindparam("p1", type_=BigInteger), bindparam("p2", type_=BigInteger)
            return select(t.c.key, t.c.valid_from, t.c.valid_to).where(
                t.c.dim == bindparam("dim"),
                or_(and_(t.c.valid_from > p1_, t.c.valid_from <= p2_),
                    and_(t.c.valid_to > p1_, t.c.valid_to <= p2_)))

        moved = self._query("changes", moved_between, {"dim": by, "p1": p1, "p2": p2}, at=None)
        causes_at: dict[str, set[int]] = {}
        for key, vf, vt in moved:
            if p1 < vf <= p2:
                causes_at.setdefault(key, set()).add(int(vf))
            if vt is not None and p1 < vt <= p2:
                causes_at.setdefault(key, set()).add(int(vt))
        units: dict[int, tuple[str, str]] = {}
        wanted = sorted({p for ps in causes_at.values() for p in ps})
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            for pos, report, source in self._query(
                    "change causes", lambda valid: select(u.c.position, u.c.report, u.c.source)
                    .where(u.c.position.in_(bindparam("positions", expanding=True))),
                    {"positions": chunk}, at=None):
                units[int(pos)] = (report, source)
        rows: list[dict[str, Any]] = []
        for key in sorted(causes_at):
            before = self._tally_at(by, key, p1)
            after = self._tally_at(by, key, p2)
            if before == after:
                continue
            rows.append({"key": key, **(region_fields(key, by) if by in REGION_LEVELS else {}),
                         "before": before, "after": after, "causes": [
                {"report": units.get(p, (None, None))[0], "source": units.get(p, (None, None))[1],
                 "position": p} for p in sorted(causes_at[key])]})
        rows.sort(key=lambda r: (-abs(int(r["after"]["best"]) - int(r["before"]["best"])),
                                 str(r["key"])))
        return {"from": t1.isoformat(), "to": t2.isoformat() if t2 else None, "by": by,
                "positions": {"from": p1, "to": p2}, "rows": rows}

    def _tally_at(self, by: str, key: str, at: int | None) -> dict[str, int]:
        t = self.tbl("tallies")
        rows = self._query("tally at", lambda valid: select(
            t.c.best, t.c.low, t.c.high, t.c.incidents).where(
                t.c.dim == bindparam("dim"), t.c.key == bindparam("key"), valid(t)),
            {"dim": by, "key": key}, at=at)
        values = rows[0] if rows else (0, 0, 0, 0)
        return dict(zip((*FIGS, "incidents"), (int(v) for v in values), strict=True))


VIEW = View("casualties", tables, indexes, compared=COMPARED, stage=CasualtiesStage, version=2,
            names=("casualties",))
