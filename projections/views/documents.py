"""Versioned documents: the storage of the views whose rows are one JSON document per
entity — ("group", key) leadership, ("actor", id) the actor register, ("operation", id)
status and history (see leadership.py, actors.py, operations.py).

Its fold stage gives each event to the folds registered for its name (`FOLDS`), through a
`Docs` accessor that reads through the working set and marks what a unit touched; each
touched document gets one new version per unit.
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
from projections.views.base import Queries, Unit, View

if TYPE_CHECKING:
    from projections.decode import RawEvent
    from projections.readmodel.fold import BatchFold


def tables(md: MetaData, p: str) -> list[Table]:
    return [Table(f"{p}docs", md,
                  Column("kind", String(16), primary_key=True),
                  Column("id", String(NAME), primary_key=True),
                  Column("valid_from", BigInteger, primary_key=True, autoincrement=False),
                  Column("valid_to", BigInteger),
                  Column("search", Text),
                  Column("doc", Text, nullable=False))]


def indexes(t: dict[str, Table], p: str) -> list[Index]:
    docs = t[f"{p}docs"]
    return [Index(f"{p}ix_docs_to", docs.c.kind, docs.c.valid_to)]


COMPARED = {"docs": "kind, id, valid_from, valid_to, search, doc"}


class DocEntry:
    """A document as the working set holds it, and the start of its current version."""

    __slots__ = ("doc", "valid_from")

    def __init__(self, doc: dict[str, Any] | None = None, valid_from: int | None = None
                 ) -> None:
        self.doc = doc
        self.valid_from = valid_from


class Docs:
    """The accessor the pure document folds use."""

    def __init__(self, fold: BatchFold, touched: dict[tuple[str, str], None]) -> None:
        self.fold = fold
        self.touched = touched

    def entry(self, kind: str, doc_id: str) -> DocEntry:
        entry = self.fold.w.docs.get((kind, doc_id))
        if entry is None:
            load(self.fold, [(kind, doc_id)])
            entry = self.fold.w.docs[(kind, doc_id)]
        return entry

    def get(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        return self.entry(kind, doc_id).doc

    def put(self, kind: str, doc_id: str, doc: dict[str, Any] | None) -> None:
        self.entry(kind, doc_id).doc = doc
        self.touched[(kind, doc_id)] = None


# event name -> the fold of the documents it changes; and what a batch preloads for it.
Fold = Callable[[Docs, "RawEvent"], None]
FOLDS: dict[str, Fold] = {}
PRELOADS: dict[str, Callable[[RawEvent], list[tuple[str, str]]]] = {}
# kind -> the text its `search` column holds (names, case-folded), or None
SEARCH: dict[str, Callable[[dict[str, Any]], str | None]] = {}


def register(events: Iterable[str], fold: Fold,
             preload: Callable[[RawEvent], list[tuple[str, str]]]) -> None:
    """A document view's fold: the events it takes, and the documents each one needs."""
    for name in events:
        FOLDS[name] = fold
        PRELOADS[name] = preload


def _chunks(ids: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _current_docs(t: dict[str, Table]) -> Select[Any]:
    d = t["docs"]
    return select(d.c.id, d.c.valid_from, d.c.doc).where(
        d.c.kind == bindparam("kind"), d.c.valid_to.is_(None),
        d.c.id.in_(bindparam("ids", expanding=True)))


def load(fold: BatchFold, keys: Iterable[tuple[str, str]]) -> None:
    cache = fold.w.docs
    wanted = [k for k in dict.fromkeys(keys) if k not in cache]
    by_kind: dict[str, list[str]] = {}
    for kind, doc_id in wanted:
        by_kind.setdefault(kind, []).append(doc_id)
    for kind, ids in by_kind.items():
        current = fold.store.query_on(fold.w.gen, "current docs", _current_docs)
        for chunk in _chunks(ids):
            for doc_id, vf, doc in fold.store.rows(fold.conn, current,
                                                   {"kind": kind, "ids": chunk}):
                cache[(kind, doc_id)] = DocEntry(orjson.loads(doc), int(vf))
    for k in wanted:
        cache.setdefault(k, DocEntry())


class DocumentsStage:
    def prepare(self, fold: BatchFold, events: list[RawEvent]) -> None:
        keys: list[tuple[str, str]] = []
        for e in events:
            preload = PRELOADS.get(e.name)
            if preload is not None:
                keys += preload(e)
        load(fold, keys)

    def apply(self, fold: BatchFold, unit: Unit) -> None:
        touched: dict[tuple[str, str], None] = {}
        docs = Docs(fold, touched)
        for e in unit.events:
            doc_fold = FOLDS.get(e.name)
            if doc_fold is not None:
                doc_fold(docs, e)
        v, end = fold.versions, unit.end
        for kind, doc_id in touched:
            entry = fold.w.docs[(kind, doc_id)]
            v.close("docs", (kind, doc_id), entry.valid_from, end)
            if entry.doc is None:
                entry.valid_from = None
                continue
            search = SEARCH[kind](entry.doc) if kind in SEARCH else None
            v.open("docs", (kind, doc_id), [kind, doc_id, end, search, fold.dumps(entry.doc)],
                   end)
            entry.valid_from = end


class DocumentQueries(Queries):
    def _doc(self, kind: str, doc_id: str, at: int | None = None) -> dict[str, Any] | None:
        d = self.tbl("docs")
        rows = self._query("doc", lambda valid: select(d.c.doc).where(
            d.c.kind == bindparam("kind"), d.c.id == bindparam("id"), valid(d)),
            {"kind": kind, "id": doc_id}, at=self.at if at is None else at)
        return orjson.loads(rows[0][0]) if rows else None


# 2: a retracted report's corrections of actors and operations are undone (their
# documents keep each corrected field's value before its first correction).
VIEW = View("documents", tables, indexes, compared=COMPARED, stage=DocumentsStage, version=2)
