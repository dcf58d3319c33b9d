"""Knowledge time: each unit's end position, first position, when it was recorded
(monotone, microseconds since the epoch), its report and source. "As of T" reads the rows
valid at the last unit end recorded by T; "what changed" names the reports of the units."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Column, Index, MetaData, String, Table

from projections.decode import recorded_at
from projections.views.base import Unit, View

if TYPE_CHECKING:
    from projections.decode import RawEvent
    from projections.readmodel.fold import BatchFold

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(iso: str) -> int:
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)


def tables(md: MetaData, p: str) -> list[Table]:
    return [Table(f"{p}units", md,
                  Column("position", BigInteger, primary_key=True, autoincrement=False),
                  Column("first", BigInteger, nullable=False),
                  Column("known_at", BigInteger, nullable=False),
                  Column("report", String(200)),
                  Column("source", String(400)))]


def indexes(t: dict[str, Table], p: str) -> list[Index]:
    units = t[f"{p}units"]
    return [Index(f"{p}ix_units_known", units.c.known_at, units.c.position)]


class UnitsStage:
    def prepare(self, fold: BatchFold, events: list[RawEvent]) -> None:
        pass

    def apply(self, fold: BatchFold, unit: Unit) -> None:
        w = fold.w
        first = unit.events[0]
        prov = first.data.get("provenance") or {}
        w.known_at = max(w.known_at, micros(recorded_at(first.data)))
        source = (prov.get("source") or {}).get("name")
        fold.versions.add("units", [unit.end, first.position, w.known_at, prov.get("report"),
                                    source])


VIEW = View("units", tables, indexes,
            compared={"units": "position, first, known_at, report, source"},
            stage=UnitsStage)
