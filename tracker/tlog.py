"""The log's Merkle tree and checkpoints in the event store, beside the hash chain.

Each stored event is a leaf: SHA-256(0x00 || entry), its entry the bytes its hash-chain
entry hashes (tracker.citation_verify.entry_bytes: the previous chain hash, its position,
aggregate, version, topic and stored state). The chained recorders (tracker.integrity,
tracker.integrity_postgres) take this class as a base and call `append_tree` in the same
transaction as the events and their chain entries, under the same write lock, so the tree
always holds exactly the committed log. Tables, beside the events table `<events>`:

- `<events>_tree (level, idx, hash)`: the hashes of the perfect subtrees (tracker.merkle)
  of levels 4, 8, 12, ... (`STRIDE`), each written once: one row per ~15 events. Other
  nodes are worked out when a proof needs them: from at most 8 stored nodes of the level
  below, and the leaves of one 16-event tile from their events (`node_hashes`);
- `<events>_tree_head (id=1, size, position, frontier)`: the tree's size, the log position
  of its last leaf, and its frontier (the right edge: at most log2(size) hashes), so an
  append reads one row;
- `<events>_tree_gaps (position, idx)`: leaf index = position - 1 unless a gap in the
  positions (PostgreSQL's sequence skips a number when a write is rolled back) says
  otherwise: a row at the first position after each gap;
- `<events>_checkpoints`: every signed checkpoint (tracker.transparency).

A store written before the tree existed has events but no tree head: writers then leave
the tree alone, and `build_tree` (run on first use by checkpoints, proofs and citations)
reads the log once, checking each event against its chain entry, and catches the tree up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any
from uuid import UUID

from tracker import merkle
from tracker.citation_verify import entry_bytes
from tracker.exceptions import TrackerError

if TYPE_CHECKING:
    from eventsourcing.persistence import StoredEvent

GENESIS = "0" * 64  # the chain's "previous" of the first event (tracker.integrity)
HASH_BYTES = 32
# Which levels of the tree are stored: every STRIDE-th above the leaves (4, 8, 12, ...),
# about one row per 15 events. A node of another level is worked out from the stored
# level below it (at most 2**(STRIDE-1) nodes each), a leaf from its event.
STRIDE = 4


def stored(level: int) -> bool:
    return level > 0 and level % STRIDE == 0


class TreeError(TrackerError):
    """The log and its tree disagree (the log was altered outside the tracker)."""


def _oid(value: Any) -> str:
    return value.hex if hasattr(value, "hex") and not isinstance(value, str | bytes) \
        else str(value)


def chain_and_leaves(previous: str, ids: Sequence[int], events: Sequence[StoredEvent]
                     ) -> tuple[list[tuple[int, str]], list[bytes]]:
    """Each event's hash-chain entry (tracker.integrity.chain_hash: SHA-256 of its entry)
    and its leaf hash (SHA-256 of 0x00 and the same entry), from one encoding of it.

    The entry is `entry_bytes`'s, laid out here without its loop: a save of 61,000 events
    (30,000 accepted links) encodes one per event, and its few topics once each."""
    rows, leaves = [], []
    sha256 = hashlib.sha256
    topics: dict[str, bytes] = {}
    for position, e in zip(ids, events, strict=True):
        topic = topics.get(e.topic)
        if topic is None:
            encoded = e.topic.encode()
            topic = topics[e.topic] = len(encoded).to_bytes(4, "big") + encoded
        oid = e.originator_id
        chained, at, version = previous.encode(), str(position).encode(), \
            str(e.originator_version).encode()
        aggregate = (oid.hex if type(oid) is UUID else _oid(oid)).encode()
        state = bytes(e.state)
        entry = b"".join((
            len(chained).to_bytes(4, "big"), chained, len(at).to_bytes(4, "big"), at,
            len(aggregate).to_bytes(4, "big"), aggregate, len(version).to_bytes(4, "big"),
            version, topic, len(state).to_bytes(8, "big"), state))
        previous = sha256(entry).hexdigest()
        rows.append((position, previous))
        leaves.append(sha256(b"\x00" + entry).digest())
    return rows, leaves


def _values(row: Any) -> tuple[Any, ...]:
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


class TreeStorage:
    """The tree's tables and queries, for a recorder with `datastore.transaction`.

    Subclasses set the table names (`events_table_name` comes from the recorder) and
    the SQL dialect: the placeholder, the position column and the blob type."""

    datastore: Any
    events_table_name: str
    placeholder = "?"
    position_column = "rowid"
    blob_type = "BLOB"
    int_type = "INTEGER"

    # -- names --------------------------------------------------------------------------

    def _name(self, suffix: str) -> str:
        return f"{self.events_table_name}{suffix}"

    def _events(self) -> str:
        return self.events_table_name

    def _q(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def tree_create_statements(self) -> list[str]:
        b, i = self.blob_type, self.int_type
        return [
            f"CREATE TABLE IF NOT EXISTS {self._name('_tree')} (level {i} NOT NULL, "
            f"idx {i} NOT NULL, hash {b} NOT NULL, PRIMARY KEY (level, idx))"
            + (" WITHOUT ROWID" if self.placeholder == "?" else ""),
            f"CREATE TABLE IF NOT EXISTS {self._name('_tree_head')} (id {i} PRIMARY KEY, "
            f"size {i} NOT NULL, position {i} NOT NULL, frontier {b} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self._name('_tree_gaps')} (position {i} PRIMARY "
            f"KEY, idx {i} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self._name('_checkpoints')} ("
            + ("id INTEGER PRIMARY KEY AUTOINCREMENT" if self.placeholder == "?"
               else "id bigserial PRIMARY KEY")
            + f", origin TEXT NOT NULL, size {i} NOT NULL, root TEXT NOT NULL, "
              "time TEXT NOT NULL, note TEXT NOT NULL)",
        ]

    # -- writing (inside the writer's transaction) --------------------------------------

    def append_tree(self, c: Any, last_position: int, ids: Sequence[int],
                    leaves: Sequence[bytes]) -> None:
        """Adds the events just inserted (at `ids`, after the log's `last_position`; their
        leaf hashes from `chain_and_leaves`) to the tree, in the writer's transaction."""
        head = self._read_head(c)
        if head is None:
            if last_position:
                return  # a store from before the tree: build_tree catches it up
            head = (0, 0, [])
        elif head[1] != last_position:
            return  # the tree is behind (not built yet): build_tree catches it up
        self._extend(c, head, ids, leaves, create=head[0] == 0)

    def _extend(self, c: Any, head: tuple[int, int, list[bytes]], ids: Sequence[int],
                leaves: Sequence[bytes], create: bool) -> None:
        size, position, frontier = head
        gaps = []
        for i, p in enumerate(ids):
            if p != position + 1:
                gaps.append((p, size + i))
            position = p
        nodes, frontier = merkle.append(size, frontier, leaves)
        self._insert_nodes(c, [n for n in nodes if stored(n[0])])
        if gaps:
            c.executemany(self._q(f"INSERT INTO {self._name('_tree_gaps')} VALUES (?, ?)"),
                          gaps)
        blob = b"".join(frontier)
        if create:
            c.execute(self._q(f"INSERT INTO {self._name('_tree_head')} VALUES (1, ?, ?, ?)"),
                      (size + len(leaves), position, blob))
        else:
            c.execute(self._q(f"UPDATE {self._name('_tree_head')} SET size = ?, "
                              "position = ?, frontier = ? WHERE id = 1"),
                      (size + len(leaves), position, blob))
            # Writers hold the log's write lock (SQLite's, or PostgreSQL's EXCLUSIVE lock on
            # the events table), and so does build_tree (_lock_for_build): nobody else
            # moves the head between the read and this update.

    def _insert_nodes(self, c: Any, nodes: list[tuple[int, int, bytes]]) -> None:
        c.executemany(self._q(f"INSERT INTO {self._name('_tree')} VALUES (?, ?, ?)"), nodes)

    def _read_head(self, c: Any) -> tuple[int, int, list[bytes]] | None:
        c.execute(f"SELECT size, position, frontier FROM {self._name('_tree_head')} "
                  "WHERE id = 1")
        row = c.fetchone()
        if row is None:
            return None
        size, position, blob = _values(row)
        blob = bytes(blob)
        return int(size), int(position), [blob[i:i + HASH_BYTES]
                                          for i in range(0, len(blob), HASH_BYTES)]

    # -- the migration ------------------------------------------------------------------

    def build_tree(self, page: int = 5000) -> int:
        """Catches the tree up with the log (a store written before the tree existed, or
        writes that found it behind): reads the events after the tree's last leaf once,
        checks each against its chain entry, appends them. Returns how many it added."""
        added = 0
        with self._read() as c:
            c.execute(f"SELECT MAX(notification_id) FROM {self._name('_chain')}")
            (last,) = _values(c.fetchone())
            head = self._read_head(c)
        if (head[1] if head else 0) >= int(last or 0):
            return 0  # caught up: the usual case, one read
        while True:
            with self.datastore.transaction(commit=True) as c:
                self._lock_for_build(c)
                c.execute(f"SELECT MAX(notification_id) FROM {self._name('_chain')}")
                (last,) = _values(c.fetchone())
                last = int(last or 0)
                head = self._read_head(c)
                create = head is None
                size, position, frontier = head or (0, 0, [])
                if position >= last:
                    return added
                previous = GENESIS
                if position:
                    c.execute(self._q(f"SELECT hash FROM {self._name('_chain')} WHERE "
                                      "notification_id = ?"), (position,))
                    row = c.fetchone()
                    if row is None:
                        raise TreeError(f"the chain entry of position {position} is missing")
                    previous = _values(row)[0]
                c.execute(self._q(
                    f"SELECT e.{self.position_column}, e.originator_id, e.originator_version, "
                    f"e.topic, e.state, c.hash FROM {self._events()} e "
                    f"JOIN {self._name('_chain')} c ON c.notification_id = "
                    f"e.{self.position_column} WHERE e.{self.position_column} > ? "
                    f"ORDER BY e.{self.position_column} LIMIT ?"), (position, page))
                rows = [_values(r) for r in c.fetchall()]
                ids, leaves = [], []
                for pos, oid, version, topic, state, chain in rows:
                    entry = entry_bytes(previous, int(pos), _oid(oid), int(version), topic,
                                        bytes(state))
                    if hashlib.sha256(entry).hexdigest() != chain:
                        raise TreeError(f"event at position {pos} does not match its chain "
                                        "entry: run `tracker verify`")
                    ids.append(int(pos))
                    leaves.append(merkle.leaf_hash(entry))
                    previous = chain
                if not ids:
                    return added
                self._extend(c, (size, position, frontier), ids, leaves, create=create)
                added += len(ids)

    def _lock_for_build(self, c: Any) -> None:
        """Takes the log's write lock for the migration's transaction: SQLite takes it at
        the first write statement (this one changes nothing)."""
        c.execute(f"UPDATE {self._name('_tree_head')} SET id = id WHERE id = 1")

    # -- reading ------------------------------------------------------------------------

    def _read(self) -> AbstractContextManager[Any]:
        return self.datastore.transaction(commit=False)  # type: ignore[no-any-return]

    def tree_head(self) -> tuple[int, int]:
        """(size, position of the last leaf) of the tree as committed."""
        with self._read() as c:
            head = self._read_head(c)
        return (head[0], head[1]) if head else (0, 0)

    def tree_nodes(self, keys: Iterable[merkle.Node]) -> dict[merkle.Node, bytes]:
        """The stored hashes of these nodes (one query per level)."""
        by_level: dict[int, list[int]] = {}
        for level, idx in keys:
            by_level.setdefault(level, []).append(idx)
        found: dict[merkle.Node, bytes] = {}
        with self._read() as c:
            for level, idxs in by_level.items():
                for start in range(0, len(idxs), 500):
                    chunk = idxs[start:start + 500]
                    c.execute(self._q(f"SELECT idx, hash FROM {self._name('_tree')} WHERE "
                                      f"level = ? AND idx IN ({','.join('?' * len(chunk))})"),
                              (level, *chunk))
                    for r in c.fetchall():
                        idx, h = _values(r)
                        found[(level, int(idx))] = bytes(h)
        return found

    def node_hashes(self, keys: Iterable[merkle.Node]) -> dict[merkle.Node, bytes]:
        """The hash of any complete node of the tree: stored ones read, the others worked
        out from the stored level below them, leaves from their events."""
        wanted = set(keys)
        stored_keys: set[merkle.Node] = set()
        leaves: set[int] = set()
        todo = list(wanted)
        while todo:
            level, idx = todo.pop()
            if level == 0:
                leaves.add(idx)
            elif stored(level):
                stored_keys.add((level, idx))
            else:
                todo += [(level - 1, 2 * idx), (level - 1, 2 * idx + 1)]
        memo = self.tree_nodes(stored_keys)
        missing = stored_keys - memo.keys()
        if missing:
            raise TreeError(f"the tree has no node {sorted(missing)[0]}: it is not complete")
        memo.update(((0, i), h) for i, h in self.leaf_hashes(leaves).items())

        def get(node: merkle.Node) -> bytes:
            found = memo.get(node)
            if found is None:
                level, idx = node
                found = merkle.node_hash(get((level - 1, 2 * idx)), get((level - 1, 2 * idx + 1)))
                memo[node] = found
            return found

        return {k: get(k) for k in wanted}

    def leaf_hashes(self, indexes: Iterable[int]) -> dict[int, bytes]:
        """The leaf hash of each leaf index, from its event and the chain entry before."""
        wanted = sorted(set(indexes))
        if not wanted:
            return {}
        with self._read() as c:
            c.execute(f"SELECT position, idx FROM {self._name('_tree_gaps')} ORDER BY idx")
            gaps = [(int(p), int(i)) for p, i in map(_values, c.fetchall())]
        positions = {}
        for i in wanted:
            base_p, base_i = 1, 0
            for gp, gi in gaps:
                if gi > i:
                    break
                base_p, base_i = gp, gi
            positions[base_p + (i - base_i)] = i
        out = {}
        for e in self.log_entries(positions):
            out[positions[e["position"]]] = merkle.leaf_hash(entry_bytes(
                e["previous"], e["position"], e["aggregate"], e["version"], e["topic"],
                e["state"]))
        missing = set(wanted) - out.keys()
        if missing:
            raise TreeError(f"leaf {min(missing)} has no event in the log: it was deleted")
        return out

    def leaf_indexes(self, positions: Iterable[int]) -> dict[int, int]:
        """The leaf index of each position that holds an event in the tree."""
        wanted = sorted(set(positions))
        if not wanted:
            return {}
        with self._read() as c:
            head = self._read_head(c)
            if head is None:
                return {}
            c.execute(f"SELECT position, idx FROM {self._name('_tree_gaps')} "
                      "ORDER BY position")
            gaps = [(int(p), int(i)) for p, i in map(_values, c.fetchall())]
            present: set[int] = set()
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                c.execute(self._q(f"SELECT notification_id FROM {self._name('_chain')} WHERE "
                                  f"notification_id IN ({','.join('?' * len(chunk))})"), chunk)
                present.update(int(_values(r)[0]) for r in c.fetchall())
        out = {}
        for p in wanted:
            if p not in present or p > head[1]:
                continue
            base_p, base_i = 1, 0
            for gp, gi in gaps:
                if gp > p:
                    break
                base_p, base_i = gp, gi
            out[p] = base_i + (p - base_p)
        return out

    def log_entries(self, positions: Iterable[int]) -> Iterator[dict[str, Any]]:
        """The stored events at these positions as the tree hashes them: position,
        previous chain hash, aggregate (hex), version, topic, state (bytes)."""
        wanted = sorted(set(positions))
        col = self.position_column
        with self._read() as c:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                c.execute(self._q(
                    f"SELECT e.{col}, e.originator_id, e.originator_version, e.topic, "
                    f"e.state, (SELECT p.hash FROM {self._name('_chain')} p WHERE "
                    f"p.notification_id < e.{col} ORDER BY p.notification_id DESC LIMIT 1) "
                    f"FROM {self._events()} e WHERE e.{col} IN "
                    f"({','.join('?' * len(chunk))}) ORDER BY e.{col}"), chunk)
                for pos, oid, version, topic, state, previous in map(_values, c.fetchall()):
                    yield {"position": int(pos), "previous": previous or GENESIS,
                           "aggregate": _oid(oid), "version": int(version), "topic": topic,
                           "state": bytes(state)}

    # -- checkpoints --------------------------------------------------------------------

    def add_checkpoint(self, origin: str, size: int, root: str, time: str, note: str) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(self._q(f"INSERT INTO {self._name('_checkpoints')} "
                              "(origin, size, root, time, note) VALUES (?, ?, ?, ?, ?)"),
                      (origin, size, root, time, note))

    def list_checkpoints(self, limit: int = 100, before: int | None = None,
                         min_size: int = 0) -> list[dict[str, Any]]:
        """Checkpoints, newest first."""
        with self._read() as c:
            c.execute(self._q(f"SELECT id, origin, size, root, time, note FROM "
                              f"{self._name('_checkpoints')} WHERE id < ? AND size >= ? "
                              "ORDER BY id DESC LIMIT ?"),
                      (before if before is not None else 2**62, min_size, limit))
            return [dict(zip(("id", "origin", "size", "root", "time", "text"), _values(r),
                             strict=True)) for r in c.fetchall()]
