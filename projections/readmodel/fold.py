"""The fold engine: one batch of events into versioned rows, inside the writer's transaction.

The batch is cut into units (the events of one report: consecutive events with the same
knowledge time). Each view's stage (projections.views) folds each unit in registry order;
each entity a unit changed gets one new version starting at the unit's last position, and
its previous version ends there. The statements that write the versions are compiled from
the views' `Table`s, once per generation.

`Working` holds current documents and rows between batches of one process. It is only
used while the stored position equals the position it was left at (the writer checks this
under the position lock), and is dropped on any failure: no cache outlives a position it
cannot prove current.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection

from projections.decode import RawEvent, recorded_at
from projections.views import TABLES, VALID_TO, VIEWS
from projections.views.base import Stage, Unit, Versions, table_name
from projections.views.incidents import freeze_warm
from projections.views.units import EPOCH, micros

if TYPE_CHECKING:
    from projections.readmodel.store import ReadModelStore
    from projections.views.documents import DocEntry
    from projections.views.incidents import IncidentEntry

__all__ = ["EPOCH", "BatchFold", "Working", "dumps", "micros", "units_of"]


# A batch writing this many new rows to one table loads them by COPY where the store can
# (PostgreSQL), as a rebuild does: an accepted file of 30,580 links writes 61,000 incident
# and 92,000 link rows (bench.links at 50,000 records per source: those inserts took 4.5 s
# one by one, 2.6 s by COPY).
COPY_FROM = 2000


def dumps(doc: Any) -> str:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode()


def units_of(events: list[RawEvent]) -> list[list[RawEvent]]:
    """Consecutive events recorded together (one report's save) form one unit."""
    units: list[list[RawEvent]] = []
    last = None
    for e in events:
        when = recorded_at(e.data)
        key = (when, (e.data.get("provenance") or {}).get("report"))
        if key != last:
            units.append([])
            last = key
        units[-1].append(e)
    return units


class Working:
    """Current documents and rows of one generation, valid at `position`."""

    def __init__(self, gen: int, position: int, known_at: int, max_entries: int) -> None:
        self.gen = gen
        self.position = position
        self.known_at = known_at
        self.max_entries = max_entries
        self.incidents: OrderedDict[str, IncidentEntry] = OrderedDict()
        self.docs: OrderedDict[tuple[str, str], DocEntry] = OrderedDict()
        self.tallies: dict[tuple[str, str], list[Any]] | None = None  # [values6, vf]
        self.tally_keys: set[tuple[str, str]] = set()
        # What other views keep between batches, by view name (e.g. sources.py).
        self.views: dict[str, Any] = {}

    def trim(self) -> None:
        freeze_warm()
        for cache in (self.incidents, self.docs):
            while len(cache) > self.max_entries:
                cache.popitem(last=False)  # type: ignore[arg-type]
        # The identity caches (links, neighbours and their keys, canonical actors) are read
        # again on demand: past the bound they are dropped, all together, between batches.
        identity = [n for n in self.views if n == "links" or n.startswith(
            ("adjacency:", "keys:", "canon:"))]
        if any(len(self.views[n]) > self.max_entries for n in identity):
            for name in identity:
                del self.views[name]


class BatchFold:
    """The rows one batch writes: each view's stage folds each unit, then `write`."""

    dumps = staticmethod(dumps)

    def __init__(self, store: ReadModelStore, conn: Connection, w: Working) -> None:
        self.store = store
        self.conn = conn
        self.w = w
        self.t = {name: table_name(w.gen, name) for name in TABLES}
        self.versions = Versions(VALID_TO)
        self.stages: list[Stage] = [v.stage() for v in VIEWS if v.stage is not None]

    def fold(self, events: list[RawEvent]) -> int:
        """Folds the events (whole units) and queues their rows; returns the last
        position folded."""
        for stage in self.stages:
            stage.prepare(self, events)
        last = self.w.position
        for events_of_unit in units_of(events):
            unit = Unit(events_of_unit)
            for stage in self.stages:
                stage.apply(self, unit)
            last = unit.end
        return last

    def write(self, bulk: bool = False) -> None:
        """Ends the closed versions, then inserts the new ones, table by table (by COPY
        where the store has it, for `bulk` — a generation nobody reads yet — or a table
        given COPY_FROM rows or more)."""
        s, v, conn = self.store, self.versions, self.conn
        statements = s.statements(self.w.gen)
        for name in TABLES:
            if name in statements.close:
                s.close_versions(conn, statements, name, v.closes[name])
        for name in TABLES:
            rows = v.inserts[name]
            if s.can_copy and not statements.ignores_conflicts(name) and (
                    bulk or len(rows) >= COPY_FROM):
                s.copy_rows(conn, statements.table[name], statements.columns[name],
                            v.inserts[name])
            else:
                s.execute_rows(conn, statements.insert[name], v.inserts[name])
