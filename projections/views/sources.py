"""The sources view: every source the live reports cite — its name and how many live
incidents (records) it reported — now or as of any moment, so an analyst sees which
sources the picture rests on and how much of it each one carries.

It is the view the read side's structure was proven on: one module, its table, a fold
stage that reads what the incidents stage left in the unit, and one query.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    MetaData,
    Select,
    String,
    Table,
    bindparam,
    select,
)

from projections.readmodel.schema import FIGURE, FOLDED, NAME
from projections.views.base import Queries, Unit, View
from projections.views.incidents import QueryError

if TYPE_CHECKING:
    from projections.decode import RawEvent
    from projections.readmodel.fold import BatchFold


def tables(md: MetaData, p: str) -> list[Table]:
    return [Table(f"{p}sources", md,
                  Column("key", String(FOLDED), primary_key=True),  # the name, case-folded
                  Column("valid_from", BigInteger, primary_key=True, autoincrement=False),
                  Column("valid_to", BigInteger),
                  Column("name", String(NAME), nullable=False),
                  Column("incidents", FIGURE, nullable=False))]


def indexes(t: dict[str, Table], p: str) -> list[Index]:
    return [Index(f"{p}ix_sources_to", t[f"{p}sources"].c.valid_to)]


def _cited(links: dict[tuple[str, str], Any]) -> set[str]:
    return {ref for kind, ref in links if kind == "s"}


def _current(t: dict[str, Table]) -> Select[Any]:
    s = t["sources"]
    return select(s.c.key, s.c.name, s.c.incidents, s.c.valid_from).where(
        s.c.valid_to.is_(None))


class SourcesStage:
    def prepare(self, fold: BatchFold, events: list[RawEvent]) -> None:
        if "sources" not in fold.w.views:
            fold.w.views["sources"] = {
                key: [name, int(n), int(vf)] for key, name, n, vf in fold.store.rows(
                    fold.conn, fold.store.query_on(fold.w.gen, "current sources", _current))}

    def apply(self, fold: BatchFold, unit: Unit) -> None:
        current: dict[str, list[Any]] = fold.w.views["sources"]
        moved: dict[str, int] = {}
        names: dict[str, str] = {}
        for oid, (old, new) in unit.incidents.items():
            if old.links.keys() == new.links.keys():
                continue  # the same actors and sources (most new figures)
            before, after = _cited(old.links), _cited(new.links)
            for key in after - before:
                moved[key] = moved.get(key, 0) + 1
            for key in before - after:
                moved[key] = moved.get(key, 0) - 1
            if after - before:
                doc = fold.w.incidents[oid].doc or {}
                names.update((s.casefold(), s) for s in doc.get("sources", ()))
        v, end = fold.versions, unit.end
        for key, delta in moved.items():
            if not delta:
                continue
            held = current.get(key)
            name = held[0] if held else names.get(key, key)
            count = (held[1] if held else 0) + delta
            v.close("sources", (key,), held[2] if held else None, end)
            if count:
                v.open("sources", (key,), [key, end, name, count], end)
                current[key] = [name, count, end]
            else:
                current.pop(key, None)


class SourceQueries(Queries):
    def sources(self) -> dict[str, Any]:
        """Every source cited by a live report, with its incidents, most cited first."""
        s = self.tbl("sources")
        rows = self._query("sources", lambda valid: select(s.c.name, s.c.incidents)
                           .where(valid(s)))
        out = [{"name": name, "incidents": int(n)} for name, n in rows]
        out.sort(key=lambda r: (-r["incidents"], r["name"].casefold()))
        return {"as_of": self._as_of(), "sources": out}

    def source_filter(self, name: str, field: str) -> None:
        """A 422 naming the filter (`source`, `figures_from`) when no live report cites a
        source of that name (any case) at this position: an empty answer would say the
        source reported nothing."""
        s = self.tbl("sources")
        if not self._query("source named", lambda valid: select(s.c.key).where(
                s.c.key == bindparam("key"), valid(s)).limit(1), {"key": name.casefold()}):
            raise QueryError(f"unknown source {name!r}: no live report cites it (list them "
                             "with /sources)", field)


VIEW = View("sources", tables, indexes,
            compared={"sources": "key, valid_from, valid_to, name, incidents"},
            stage=SourcesStage, names=("sources",))
