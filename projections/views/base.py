"""What a view module declares, and what the fold engine gives each one.

A view is one module of `projections.views` holding everything about it: its tables
(SQLAlchemy Core `Table`s, with their secondary indexes), what each event does to its rows
(a `Stage` of the fold), its queries (a mixin of `ReadViews`) and what `rebuild --verify`
compares. The read model's store, the fold engine, the projector and the API find the
views through `projections.views.VIEWS`; adding a view means adding a module there.

Every queryable row is a version: it holds from log position `valid_from` (inclusive) to
`valid_to` (exclusive; NULL while it is the present). The engine (`projections.readmodel.fold`)
cuts a batch into units (one report's events), gives each stage the unit in registry order,
and writes the versions the stages opened and closed in the batch's transaction; statements
are compiled from the `Table`s, so the columns are declared once.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import ColumnElement, Executable, FromClause, Index, MetaData, Table

if TYPE_CHECKING:
    from projections.decode import RawEvent
    from projections.readmodel.fold import BatchFold


def table_name(gen: int, name: str) -> str:
    """The SQL name of a view table of generation `gen`."""
    return f"g{gen}_{name}"


class Unit:
    """One unit being folded: its events, its end position, and what earlier stages left
    for later ones (`incidents`: oid -> (rows before, rows after) of each incident whose
    contributions the unit changed; `relinked`: the records whose identity links did)."""

    __slots__ = ("events", "end", "incidents", "relinked", "recount")

    def __init__(self, events: list[RawEvent]) -> None:
        self.events = events
        self.end = events[-1].position
        self.incidents: dict[str, tuple[Any, Any]] = {}
        # kind -> records whose links changed (identity stage -> incidents, actors)
        self.relinked: dict[str, set[str]] = {}
        # incidents to count again (their actors' identity changed)
        self.recount: set[str] = set()


class Stage(Protocol):
    """What a view does in the fold of one batch (one instance per batch)."""

    def prepare(self, fold: BatchFold, events: list[RawEvent]) -> None:
        """Loads what the batch's events will change (one query per table, not per event)."""

    def apply(self, fold: BatchFold, unit: Unit) -> None:
        """Folds one unit: opens and closes row versions through `fold`."""


@dataclass(frozen=True)
class View:
    """A view's declaration.

    - `tables(md, prefix)` declares its tables in `md` (names `prefix + name`);
    - `indexes(tables, prefix)` its secondary indexes (made after a rebuild's bulk load);
    - `compared`: per table, the columns `rebuild --verify` compares row by row (the rows
      of versioned tables as they stood at the compared position);
    - `stage()`: a new fold stage for one batch (None: the view is read from the tables of
      others, e.g. operations from the documents and tallies);
    - `names`: the user-facing names it answers to (`tracker rebuild NAME`, /healthz);
    - `version`: bumped when its rows change meaning without its columns changing (new
      keys, say): a read model folded by an older version is folded again at open;
    - `retired`: (table, index) names, without the generation's prefix, of indexes it no
      longer declares, dropped from older read models at open (an index no query reads
      still costs every write: see the incidents view).
    """

    name: str
    tables: Callable[[MetaData, str], list[Table]]
    indexes: Callable[[dict[str, Table], str], list[Index]] = lambda tables, prefix: []
    compared: dict[str, str] = field(default_factory=dict)
    stage: Callable[[], Stage] | None = None
    names: tuple[str, ...] = ()
    version: int = 1
    retired: tuple[tuple[str, str], ...] = ()


class Versions:
    """The row versions one batch writes, per table: new rows (`open`) and the ends of
    current ones (`close`). A version opened and closed in the same batch is written once,
    with its valid_to."""

    def __init__(self, valid_to: dict[str, int | None]) -> None:
        self.valid_to = valid_to  # table -> the index of valid_to in its rows
        self.inserts: dict[str, list[list[Any]]] = {name: [] for name in valid_to}
        self.closes: dict[str, list[tuple[Any, ...]]] = {name: [] for name in valid_to}
        self.pending: dict[tuple[str, Any], tuple[list[Any], int]] = {}

    def open(self, name: str, pk: tuple[Any, ...], row: list[Any], start: int) -> None:
        """A new version of `pk` from `start`: `row` holds the table's columns in their
        declared order, but valid_to (NULL, set here)."""
        at = self.valid_to[name]
        assert at is not None, f"{name} is not versioned"
        row.insert(at, None)
        self.inserts[name].append(row)
        self.pending[(name, (*pk, start))] = (row, at)

    def close(self, name: str, pk: tuple[Any, ...], valid_from: int | None, end: int) -> None:
        """Ends the version of `pk` that started at `valid_from` (None: there is none)."""
        if valid_from is None:
            return
        queued = self.pending.pop((name, (*pk, valid_from)), None)
        if queued is not None:
            queued[0][queued[1]] = end
        else:
            self.closes[name].append((end, *pk, valid_from))

    def add(self, name: str, row: list[Any]) -> None:
        """A row of a table that is not versioned."""
        self.inserts[name].append(row)


# What a read statement's builder gets: the rows of a table valid at the read's position.
Valid = Callable[[FromClause], ColumnElement[bool]]


class Current:
    """The default position of a query: the read's own."""


CURRENT = Current()


class Queries:
    """The base of every view's query mixin: what a mixin may use of `ReadViews` and of
    the other views' mixins. It comes after every mixin in the method order, so these are
    only placeholders for the real methods."""

    gen: int
    at: int | None

    def tbl(self, name: str) -> Table:
        """A view table of this generation (by its name without the prefix), for Core
        statements run by `_rows`."""
        raise NotImplementedError

    def _rows(self, statement: Executable, params: dict[str, Any] | None = None
              ) -> list[Any]:
        raise NotImplementedError

    def _query(self, key: Hashable, build: Callable[[Valid], Executable],
               params: dict[str, Any] | None = None, at: int | None | Current = CURRENT
               ) -> list[Any]:
        """The rows of the Core statement `build(valid)` makes, with `params` bound by
        name. `key` names the statement's shape (all that `build` depends on but the
        bound values): it is built once per generation and reading (present or as of)."""
        raise NotImplementedError

    def _as_of(self) -> str | None:
        raise NotImplementedError

    def resolve_actor(self, name: str) -> str:
        raise NotImplementedError

    def actor_filter(self, name: str) -> str:
        raise NotImplementedError

    def source_filter(self, name: str, field: str) -> None:
        raise NotImplementedError

    def known_filter(self, f: Any) -> Any:
        raise NotImplementedError

    def actor_cluster(self, key: str) -> tuple[str, list[str]]:
        raise NotImplementedError

    def actor_names(self, keys: Any, known: dict[str, tuple[str, str]]
                    ) -> dict[str, tuple[str, str]]:
        raise NotImplementedError

    def _incident_filter(self, f: Any) -> Any:
        raise NotImplementedError

    def _incident_rows(self, f: Any, n: int, cursor: str | None,
                       extra: tuple[str, ...] = ()) -> list[Any]:
        raise NotImplementedError

    def _tally_at(self, by: str, key: str, at: int | None) -> dict[str, int]:
        raise NotImplementedError

    def _doc(self, kind: str, doc_id: str, at: int | None = None) -> dict[str, Any] | None:
        raise NotImplementedError
