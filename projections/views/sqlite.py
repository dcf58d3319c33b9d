"""SQLite view store: the embedded default, a file of its own beside the event store."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from projections.views.base import Doc, DocKey, ViewPositionConflict, ViewStore
from projections.views.codec import dumps, loads

SCHEMA = """
CREATE TABLE IF NOT EXISTS view_docs (
    ns TEXT NOT NULL, coll TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (ns, coll, id));
CREATE TABLE IF NOT EXISTS view_positions (ns TEXT PRIMARY KEY, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS view_active (projection TEXT PRIMARY KEY, ns TEXT NOT NULL);
"""


class SQLiteViewStore(ViewStore):
    """Documents in one table; each commit is one IMMEDIATE transaction with the positions."""

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None,
                                     check_same_thread=False)
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            # A bigger page cache keeps the document index in memory during rebuilds.
            self._conn.execute("PRAGMA cache_size=-65536")
            # Checkpoint (copy the WAL into the file, with fsyncs) every ~32 MB instead of
            # every 4 MB: an import or rebuild writes tens of MB of documents, and each
            # checkpoint's fsyncs cost more than the bigger WAL does.
            self._conn.execute("PRAGMA wal_autocheckpoint=8192")
            self._conn.executescript(SCHEMA)

    def read(self, ns: str, keys: list[DocKey]) -> dict[DocKey, Doc]:
        out: dict[DocKey, Doc] = {}
        with self._lock:
            by_coll: dict[str, list[str]] = {}
            for coll, doc_id in keys:
                by_coll.setdefault(coll, []).append(doc_id)
            for coll, ids in by_coll.items():
                for start in range(0, len(ids), 500):
                    chunk = ids[start:start + 500]
                    rows = self._conn.execute(
                        f"SELECT id, body FROM view_docs WHERE ns = ? AND coll = ? "
                        f"AND id IN ({','.join('?' * len(chunk))})", (ns, coll, *chunk))
                    for doc_id, body in rows:
                        out[(coll, doc_id)] = loads(body)
        return out

    def scan(self, ns: str, collection: str) -> Iterator[tuple[str, Doc]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, body FROM view_docs WHERE ns = ? AND coll = ? ORDER BY id",
                (ns, collection)).fetchall()
        for doc_id, body in rows:
            yield doc_id, loads(body)

    def position(self, ns: str) -> int:
        with self._lock:
            row = self._conn.execute("SELECT position FROM view_positions WHERE ns = ?",
                                     (ns,)).fetchone()
        return int(row[0]) if row else 0

    def commit(self, writes: dict[str, dict[DocKey, Doc | None]],
               positions: dict[str, tuple[int, int]]) -> None:
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                for ns, (expected, _) in positions.items():
                    row = c.execute("SELECT position FROM view_positions WHERE ns = ?",
                                    (ns,)).fetchone()
                    if (int(row[0]) if row else 0) != expected:
                        raise ViewPositionConflict(f"{ns} is not at position {expected}")
                for ns, changes in writes.items():
                    upserts = [(ns, coll, doc_id, dumps(doc))
                               for (coll, doc_id), doc in changes.items() if doc is not None]
                    deletes = [(ns, coll, doc_id)
                               for (coll, doc_id), doc in changes.items() if doc is None]
                    c.executemany("INSERT OR REPLACE INTO view_docs VALUES (?, ?, ?, ?)",
                                  upserts)
                    c.executemany("DELETE FROM view_docs WHERE ns = ? AND coll = ? AND id = ?",
                                  deletes)
                c.executemany("INSERT OR REPLACE INTO view_positions VALUES (?, ?)",
                              [(ns, new) for ns, (_, new) in positions.items()])
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise

    def active(self, projection: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT ns FROM view_active WHERE projection = ?",
                                     (projection,)).fetchone()
        return row[0] if row else None

    def activate(self, projection: str, ns: str) -> None:
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            c.execute("INSERT OR IGNORE INTO view_positions VALUES (?, 0)", (ns,))
            c.execute("INSERT OR REPLACE INTO view_active VALUES (?, ?)", (projection, ns))
            c.execute("COMMIT")

    def drop(self, ns: str) -> None:
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            c.execute("DELETE FROM view_docs WHERE ns = ?", (ns,))
            c.execute("DELETE FROM view_positions WHERE ns = ?", (ns,))
            c.execute("COMMIT")

    def namespaces(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT ns FROM view_positions ORDER BY ns")]

    def ping(self) -> bool:
        with self._lock:
            self._conn.execute("SELECT 1")
        return True

    def close(self) -> None:
        with self._lock:
            self._conn.close()
