"""The view store interface.

A view store keeps JSON documents grouped by namespace (one per projection version, e.g.
'casualties:v2') and collection, plus one position per namespace: the last log position
folded into it. `commit` writes a batch of document changes *and* the new positions in one
atomic step, and refuses it (ViewPositionConflict) unless every namespace is still at the
position the batch started from. So a batch lands exactly once, whoever else is running.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from eventsourcing.persistence import IntegrityError

Doc = dict[str, Any]
DocKey = tuple[str, str]  # (collection, id)


class ViewPositionConflict(IntegrityError):
    """Raised when a batch was built on a position another runner has already moved."""


class ViewStore(ABC):
    """Documents and positions, per namespace."""

    @abstractmethod
    def read(self, ns: str, keys: list[DocKey]) -> dict[DocKey, Doc]:
        """The documents that exist among `keys`."""

    @abstractmethod
    def scan(self, ns: str, collection: str) -> Iterator[tuple[str, Doc]]:
        """Every document of a collection, in id order."""

    @abstractmethod
    def position(self, ns: str) -> int:
        """The last log position folded into `ns` (0 when none)."""

    @abstractmethod
    def commit(self, writes: dict[str, dict[DocKey, Doc | None]],
               positions: dict[str, tuple[int, int]]) -> None:
        """Atomically: apply `writes` (None deletes) and move each namespace's position
        from expected to new; ViewPositionConflict if one is not at expected."""

    @abstractmethod
    def active(self, projection: str) -> str | None:
        """The namespace readers use for a projection."""

    @abstractmethod
    def activate(self, projection: str, ns: str) -> None:
        """Switches readers of `projection` to `ns`."""

    @abstractmethod
    def drop(self, ns: str) -> None:
        """Deletes a namespace: its documents and position."""

    @abstractmethod
    def namespaces(self) -> list[str]:
        """Every namespace that has a position."""

    def ping(self) -> bool:
        return True

    def close(self) -> None:  # noqa: B027 - most stores have nothing to release
        """Releases connections."""

    def wait(self, ns_of: Any, projection: str, position: int, timeout: float = 5.0) -> None:
        """Blocks until the active namespace of `projection` has folded `position`."""
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            ns = ns_of(projection)
            if ns is not None and self.position(ns) >= position:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"view '{projection}' did not reach position {position} "
                                   f"within {timeout}s")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


class Batch:
    """The documents of one namespace touched by one batch of events.

    Reads go through a bounded cache kept across batches (valid because a commit only
    succeeds when nobody else moved the namespace); writes stay pending until commit.
    """

    def __init__(self, store: ViewStore, ns: str, cache: OrderedDict[DocKey, Doc | None],
                 cache_size: int = 20_000) -> None:
        self.store = store
        self.ns = ns
        self.cache = cache
        self.cache_size = cache_size
        self.writes: dict[DocKey, Doc | None] = {}
        # Per-batch working space of a projection (e.g. tally deltas summed before writing).
        self.scratch: dict[str, Any] = {}

    def prefetch(self, keys: list[DocKey], absent: Iterable[DocKey] = ()) -> None:
        """Reads `keys` into the cache in one go; `absent` ones are known not to exist."""
        for k in absent:
            if k not in self.writes:
                self._remember(k, None)
        missing = [k for k in dict.fromkeys(keys) if k not in self.writes and k not in self.cache]
        if missing:
            found = self.store.read(self.ns, missing)
            for k in missing:
                self._remember(k, found.get(k))

    def get(self, collection: str, doc_id: str) -> Doc | None:
        key = (collection, doc_id)
        if key in self.writes:
            return self.writes[key]
        if key not in self.cache:
            self._remember(key, self.store.read(self.ns, [key]).get(key))
        else:
            self.cache.move_to_end(key)
        return self.cache[key]

    def put(self, collection: str, doc_id: str, doc: Doc) -> None:
        self.writes[(collection, doc_id)] = doc

    def delete(self, collection: str, doc_id: str) -> None:
        self.writes[(collection, doc_id)] = None

    def committed(self) -> None:
        for key, doc in self.writes.items():
            self._remember(key, doc)
        self.writes = {}

    def _remember(self, key: DocKey, doc: Doc | None) -> None:
        self.cache[key] = doc
        self.cache.move_to_end(key)
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
