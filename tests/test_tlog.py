"""The stored tree (tracker.tlog) on both backends: written by the recorders in batches of
any size, with gaps in the positions (PostgreSQL's sequence skips numbers), it gives the
roots and proofs of the tree built from the whole log in memory."""

from __future__ import annotations

import hashlib
import json
import random
import uuid

import pytest
from eventsourcing.persistence import StoredEvent

from tests.test_citations import run_sql
from tracker import merkle
from tracker.citation_verify import entry_bytes, verify_consistency, verify_inclusion
from tracker.tlog import GENESIS, STRIDE, chain_and_leaves
from tracker.transparency import Transparency

TOPIC = "tracker.domain.incident:Incident.CasualtiesReported"


def events(n: int, rng: random.Random) -> list[StoredEvent]:
    return [StoredEvent(uuid.uuid4(), 1, TOPIC, json.dumps({"killed": rng.randrange(99)})
                        .encode()) for _ in range(n)]


def test_the_writers_chain_and_leaves_hash_the_entries_citations_check():
    """chain_and_leaves lays the entry out itself (no loop, topics encoded once): each
    chain hash and leaf is the one entry_bytes (what a citation's checker reads) gives."""
    rng = random.Random(7)
    stored = [*events(5, rng),
              StoredEvent("a-str-id", 3, "tracker.domain.link:Link.LinkOpened", b"{}"),
              StoredEvent(uuid.uuid4(), 12, "tracker.domain.link:Link.IdentityAsserted",
                          memoryview(b'{"relation":"same"}')), *events(3, rng)]
    ids = [9, 10, 11, 15, 16, 17, 18, 100, 101, 102]
    rows, leaves = chain_and_leaves(GENESIS, ids, stored)
    previous = GENESIS
    for position, e, (at, chained), leaf in zip(ids, stored, rows, leaves, strict=True):
        aggregate = e.originator_id.hex if isinstance(e.originator_id, uuid.UUID) \
            else e.originator_id
        entry = entry_bytes(previous, position, aggregate, e.originator_version, e.topic,
                            bytes(e.state))
        previous = hashlib.sha256(entry).hexdigest()
        assert (at, chained) == (position, previous) and leaf == merkle.leaf_hash(entry)


def test_stored_tree_answers_like_the_whole_tree_in_memory(database_url, make_tracker):
    tracker = make_tracker(database_url)
    recorder = tracker.recorder
    rng = random.Random(5)
    written = 0
    for batch in (1, 1, 3, 15, 16, 17, 200, 64, 1, 300, 7):
        recorder.insert_events(events(batch, rng))
        written += batch
        if database_url.startswith("postgresql") and batch == 200:
            # A rolled-back write takes numbers from the sequence: positions skip.
            run_sql(database_url, "SELECT nextval(pg_get_serial_sequence("
                                  "'conflicttracker_events', 'notification_id'))")
    tp = Transparency(recorder)
    size, last = tp.head()
    assert size == written and written > 2 ** (2 * STRIDE)  # levels 4 and 8 are stored
    if database_url.startswith("postgresql"):
        assert last == written + 1  # one gap
    entries = list(recorder.log_entries(range(1, last + 1)))
    assert len(entries) == size
    leaves = [entry_bytes(e["previous"], e["position"], e["aggregate"], e["version"],
                          e["topic"], e["state"]) for e in entries]
    memory: dict[merkle.Node, bytes] = {}
    frontier: list[bytes] = []
    for i, leaf in enumerate(leaves):
        nodes, frontier = merkle.append(i, frontier, [merkle.leaf_hash(leaf)])
        memory.update(((lv, ix), h) for lv, ix, h in nodes)
    positions = [e["position"] for e in entries]
    assert recorder.leaf_indexes(positions) == {p: i for i, p in enumerate(positions)}
    for tree_size in sorted({1, 2, 15, 16, 17, 255, 256, 257, size, *rng.sample(
            range(1, size + 1), 20)}):
        root = tp.root(tree_size)[1]
        assert root == merkle.root(tree_size, memory)
        for index in rng.sample(range(tree_size), min(tree_size, 5)):
            proof = tp.inclusion(positions[index], tree_size)
            assert proof["index"] == index
            assert [bytes.fromhex(p) for p in proof["proof"]] == merkle.inclusion_proof(
                index, tree_size, memory)
            assert verify_inclusion(index, tree_size, merkle.leaf_hash(leaves[index]),
                                    [bytes.fromhex(p) for p in proof["proof"]], root)
        first = rng.randrange(0, tree_size + 1)
        c = tp.consistency(first, tree_size)
        assert verify_consistency(first, tree_size, [bytes.fromhex(p) for p in c["proof"]],
                                  merkle.root(first, memory), root)


def test_proofs_refuse_what_the_log_does_not_hold(sqlite_tracker):
    sqlite_tracker.recorder.insert_events(events(20, random.Random(1)))
    tp = Transparency(sqlite_tracker.recorder)
    from tracker.transparency import ProofError

    for call, field in ((lambda: tp.inclusion(21), "position"),
                        (lambda: tp.inclusion(5, 4), "size"),
                        (lambda: tp.inclusion(5, 21), "size"),
                        (lambda: tp.consistency(5, 3), "from"),
                        (lambda: tp.consistency(-1), "from")):
        with pytest.raises(ProofError) as caught:
            call()
        assert caught.value.field == field
