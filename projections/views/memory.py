"""An in-memory view store: for time travel (as-of replays) and for verify-aside."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator

from projections.views.base import Doc, DocKey, ViewPositionConflict, ViewStore
from projections.views.codec import dumps, loads


class MemoryViewStore(ViewStore):
    """Documents in dicts (stored as JSON text, so they behave like the real stores)."""

    def __init__(self) -> None:
        self._docs: dict[str, dict[DocKey, str]] = {}
        self._positions: dict[str, int] = {}
        self._active: dict[str, str] = {}
        self._lock = threading.Lock()

    def read(self, ns: str, keys: list[DocKey]) -> dict[DocKey, Doc]:
        docs = self._docs.get(ns, {})
        return {k: loads(docs[k]) for k in keys if k in docs}

    def scan(self, ns: str, collection: str) -> Iterator[tuple[str, Doc]]:
        docs = self._docs.get(ns, {})
        for (coll, doc_id) in sorted(k for k in docs if k[0] == collection):
            yield doc_id, loads(docs[(coll, doc_id)])

    def position(self, ns: str) -> int:
        return self._positions.get(ns, 0)

    def commit(self, writes: dict[str, dict[DocKey, Doc | None]],
               positions: dict[str, tuple[int, int]]) -> None:
        with self._lock:
            for ns, (expected, _) in positions.items():
                if self._positions.get(ns, 0) != expected:
                    raise ViewPositionConflict(f"{ns} is not at position {expected}")
            for ns, changes in writes.items():
                docs = self._docs.setdefault(ns, {})
                for key, doc in changes.items():
                    if doc is None:
                        docs.pop(key, None)
                    else:
                        docs[key] = dumps(doc)
            for ns, (_, new) in positions.items():
                self._positions[ns] = new

    def active(self, projection: str) -> str | None:
        return self._active.get(projection)

    def activate(self, projection: str, ns: str) -> None:
        self._positions.setdefault(ns, 0)
        self._active[projection] = ns

    def drop(self, ns: str) -> None:
        self._docs.pop(ns, None)
        self._positions.pop(ns, None)

    def namespaces(self) -> list[str]:
        return sorted(copy.copy(self._positions))
