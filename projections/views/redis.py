"""Redis view store: production. Keys carry a prefix and the namespace's version:

    {prefix}:{projection}:v{N}:c:{collection}   hash: doc id -> JSON document
    {prefix}:{projection}:v{N}:pos              the namespace's log position
    {prefix}:active:{projection}                the namespace readers use

A commit WATCHes the position keys, checks them, then writes documents and positions in one
MULTI/EXEC: if another runner moved a position in between, EXEC fails and nothing lands.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import redis

from projections.views.base import Doc, DocKey, ViewPositionConflict, ViewStore
from projections.views.codec import dumps, loads


class RedisViewStore(ViewStore):
    """Documents in Redis hashes, one per namespace and collection."""

    def __init__(self, url: str, prefix: str = "tracker") -> None:
        self.client: Any = redis.Redis.from_url(url, decode_responses=True)
        self.prefix = prefix

    def _coll(self, ns: str, coll: str) -> str:
        return f"{self.prefix}:{ns}:c:{coll}"

    def _pos(self, ns: str) -> str:
        return f"{self.prefix}:{ns}:pos"

    def read(self, ns: str, keys: list[DocKey]) -> dict[DocKey, Doc]:
        by_coll: dict[str, list[str]] = {}
        for coll, doc_id in keys:
            by_coll.setdefault(coll, []).append(doc_id)
        pipe = self.client.pipeline(transaction=False)
        order = list(by_coll.items())
        for coll, ids in order:
            pipe.hmget(self._coll(ns, coll), ids)
        out: dict[DocKey, Doc] = {}
        for (coll, ids), values in zip(order, pipe.execute(), strict=True):
            for doc_id, body in zip(ids, values, strict=True):
                if body is not None:
                    out[(coll, doc_id)] = loads(body)
        return out

    def scan(self, ns: str, collection: str) -> Iterator[tuple[str, Doc]]:
        docs = self.client.hgetall(self._coll(ns, collection))
        for doc_id in sorted(docs):
            yield doc_id, loads(docs[doc_id])

    def position(self, ns: str) -> int:
        value = self.client.get(self._pos(ns))
        return int(value) if value is not None else 0

    def commit(self, writes: dict[str, dict[DocKey, Doc | None]],
               positions: dict[str, tuple[int, int]]) -> None:
        pos_keys = [self._pos(ns) for ns in positions]
        with self.client.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(*pos_keys)
                for ns, (expected, _) in positions.items():
                    current = pipe.get(self._pos(ns))
                    if (int(current) if current is not None else 0) != expected:
                        raise ViewPositionConflict(f"{ns} is not at position {expected}")
                pipe.multi()
                for ns, changes in writes.items():
                    sets: dict[str, dict[str, str]] = {}
                    dels: dict[str, list[str]] = {}
                    for (coll, doc_id), doc in changes.items():
                        if doc is None:
                            dels.setdefault(self._coll(ns, coll), []).append(doc_id)
                        else:
                            sets.setdefault(self._coll(ns, coll), {})[doc_id] = dumps(doc)
                    for key, mapping in sets.items():
                        pipe.hset(key, mapping=mapping)
                    for key, ids in dels.items():
                        pipe.hdel(key, *ids)
                for ns, (_, new) in positions.items():
                    pipe.set(self._pos(ns), new)
                pipe.execute()
            except redis.WatchError:
                raise ViewPositionConflict("a view position moved during the commit") from None

    def active(self, projection: str) -> str | None:
        value = self.client.get(f"{self.prefix}:active:{projection}")
        return str(value) if value is not None else None

    def activate(self, projection: str, ns: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.setnx(self._pos(ns), 0)
        pipe.set(f"{self.prefix}:active:{projection}", ns)
        pipe.execute()

    def drop(self, ns: str) -> None:
        keys = list(self.client.scan_iter(match=f"{self.prefix}:{ns}:*", count=1000))
        for start in range(0, len(keys), 500):
            self.client.unlink(*keys[start:start + 500])

    def namespaces(self) -> list[str]:
        found = []
        for key in self.client.scan_iter(match=f"{self.prefix}:*:pos", count=1000):
            found.append(key[len(self.prefix) + 1:-len(":pos")])
        return sorted(found)

    def drop_everything(self) -> None:
        """Deletes every key under the prefix (tests and `tracker rebuild --all` cleanup)."""
        keys = list(self.client.scan_iter(match=f"{self.prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            self.client.unlink(*keys[start:start + 500])

    def ping(self) -> bool:
        return bool(self.client.ping())

    def close(self) -> None:
        self.client.close()
