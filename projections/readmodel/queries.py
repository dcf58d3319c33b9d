"""Reading the read model: the JSON shapes of contract 2 (CLI --json) and 3 (API).

Every read is at one log position: the present (rows with valid_to NULL) or "as of" a
unit end (rows with valid_from <= p < valid_to): index lookups, never a replay. Lists
filter and sort on indexed columns and page by keyset (date descending, then id).

The queries live with their views (projections.views); `ReadViews` is all of them over
one read snapshot of one generation.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, Executable, Table, bindparam, select

from projections.readmodel.schema import META_TABLE
from projections.readmodel.store import ReadModelStore
from projections.views import QUERIES
from projections.views.base import CURRENT, Current, Queries, Valid
from projections.views.incidents import (
    IncidentFilter,
    QueryError,
    decode_cursor,
    encode_cursor,
    valid_at,
)
from projections.views.units import micros

__all__ = ["IncidentFilter", "QueryError", "ReadViews", "decode_cursor", "encode_cursor",
           "open_views", "position_at"]


class ReadViews(*QUERIES, Queries):  # type: ignore[misc]
    """The views of one generation at one position (`at`: None for the present)."""

    def __init__(self, store: ReadModelStore, conn: Connection, gen: int, position: int,
                 at: int | None = None, as_of: datetime | None = None) -> None:
        self.store = store
        self.conn = conn
        self.gen = gen
        self.position = position
        self.at = at
        self.as_of = as_of
        self._tables = store.tables(gen)

    def tbl(self, name: str) -> Table:
        return self._tables[name]

    def _rows(self, statement: Executable, params: dict[str, Any] | None = None
              ) -> list[Any]:
        return self.store.rows(self.conn, statement, params)

    def _query(self, key: Hashable, build: Callable[[Valid], Executable],
               params: dict[str, Any] | None = None, at: int | None | Current = CURRENT
               ) -> list[Any]:
        """The rows of the statement `build(valid)` makes (built once per generation, key
        and reading: the present or as of a position), `valid(t)` being the rows of `t`
        valid at `at` (default: this read's position)."""
        pos = self.at if isinstance(at, Current) else at
        as_of = pos is not None
        stmt = self.store.query((self.gen, as_of, key),
                                lambda: build(lambda t: valid_at(t, as_of)))
        if as_of:
            params = {**(params or {}), "at": pos}
        return self.store.rows(self.conn, stmt, params)

    def _as_of(self) -> str | None:
        return self.as_of.isoformat() if self.as_of else None

    def actor_record(self, name: str) -> str:
        """The id of the actor record that `name` names: its id, a recorded name or an
        alias, in any case (`name` itself when none does). Unlike resolve_actor, not the
        id a same_actor cluster is counted under: a record's own history is its events."""
        return str(self._actor_id(name))


@contextmanager
def open_views(store: ReadModelStore, as_of: datetime | None = None) -> Iterator[ReadViews]:
    """The active generation's views in one read snapshot: the present, or as they stood
    at knowledge time `as_of` (the last report recorded by then)."""
    store.ensure_active()  # before the snapshot, which would not see tables made after it
    with store.reading() as conn:
        g = store.meta[META_TABLE]
        rows = store.rows(conn, store.query("active generation", lambda: select(
            g.c.gen, g.c.position).where(g.c.status == "active")))
        if not rows:  # a rebuild switched generations in between: it is active now
            raise QueryError("the views are being switched to a new generation; try again")
        gen, position = int(rows[0][0]), int(rows[0][1])
        at = position_at(store, conn, gen, as_of) if as_of is not None else None
        yield ReadViews(store, conn, gen, position, at=at, as_of=as_of)


def position_at(store: ReadModelStore, conn: Connection, gen: int, moment: datetime) -> int:
    """The last unit end recorded by `moment` (0 before the first)."""
    u = store.tables(gen)["units"]
    rows = store.rows(conn, store.query((gen, "position at"), lambda: select(u.c.position).where(
        u.c.known_at <= bindparam("moment", type_=BigInteger)).order_by(
            u.c.known_at.desc(), u.c.position.desc()).limit(1)),
        {"moment": micros(moment.isoformat())})
    return int(rows[0][0]) if rows else 0
