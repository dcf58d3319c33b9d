"""A Merkle tree over the log (RFC 9162, section 2.1), stored as its perfect subtrees.

The tree is kept as the hashes of its *perfect* subtrees: node (level, index) is the root of
the 2**level leaves starting at index * 2**level. A node is written once, when its last leaf
is appended, and never changes: appending a leaf writes it and the nodes it completes (one
on average, at most log2(n)), using only the *frontier* (the roots of the perfect subtrees
the tree of size n splits into, at most log2(n) hashes). Any root, inclusion proof or
consistency proof of any size is then a handful of stored nodes, whatever the log's size:
the hash of a range [a, b) is the fold of the perfect subtrees its size's bits cut it into.

Everything here is pure (no storage): callers say which nodes they need (`*_nodes`), fetch
them in one query, and pass them in. Verification lives in tracker.citation_verify, the
standalone module readers run without the tracker.

Hashing: leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right), the empty
tree SHA-256(""). Checked against the test vectors of transparency-dev/merkle
(tests/unit/test_merkle.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tracker.citation_verify import (
    EMPTY_ROOT,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

__all__ = ["EMPTY_ROOT", "Node", "append", "consistency_nodes", "consistency_proof",
           "frontier_nodes", "inclusion_nodes", "inclusion_proof", "leaf_hash", "node_hash",
           "range_nodes", "root", "root_nodes", "verify_consistency", "verify_inclusion"]

Node = tuple[int, int]  # (level, index): the perfect subtree of leaves [i*2**l, (i+1)*2**l)


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(a: int, b: int) -> list[Node]:
    """The perfect subtrees covering leaves [a, b), left to right, largest first; `a` is a
    multiple of the first one's width (true of every range RFC 9162's proofs use)."""
    out = []
    while a < b:
        size = b - a
        level = size.bit_length() - 1
        if size == 1 << level:
            out.append((level, a >> level))
            break
        out.append((level, a >> level))
        a += 1 << level
    return out


def _fold(nodes: Sequence[Node], hashes: Mapping[Node, bytes]) -> bytes:
    """MTH of a range from its perfect subtrees: H(p0, H(p1, ... pk))."""
    acc = hashes[nodes[-1]]
    for node in reversed(nodes[:-1]):
        acc = node_hash(hashes[node], acc)
    return acc


def frontier_nodes(size: int) -> list[Node]:
    """The perfect subtrees the tree of `size` leaves splits into (its right edge)."""
    return range_nodes(0, size)


def root_nodes(size: int) -> list[Node]:
    return frontier_nodes(size)


def root(size: int, hashes: Mapping[Node, bytes]) -> bytes:
    """The tree head of the first `size` leaves."""
    return _fold(frontier_nodes(size), hashes) if size else EMPTY_ROOT


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """RFC 9162 PATH(m, D[n]) as the ranges whose hashes it lists, leaf level first."""
    out = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
    return out[::-1]


def _consistency_ranges(m: int, n: int) -> list[tuple[int, int]]:
    """RFC 9162 PROOF(m, D[n]) as the ranges whose hashes it lists, in proof order."""
    out: list[tuple[int, int]] = []
    if not 0 < m < n:
        return out
    lo, hi, whole = 0, n, True
    while True:
        if m == hi:  # m is absolute: the old tree ends exactly here
            if not whole:
                out.append((lo, hi))
            break
        k = _split(hi - lo)
        if m <= lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, whole = lo + k, False
    return out[::-1]


def inclusion_nodes(index: int, size: int) -> set[Node]:
    return {n for a, b in _inclusion_ranges(index, size) for n in range_nodes(a, b)}


def consistency_nodes(m: int, n: int) -> set[Node]:
    return {x for a, b in _consistency_ranges(m, n) for x in range_nodes(a, b)}


def inclusion_proof(index: int, size: int, hashes: Mapping[Node, bytes]) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `size` leaves."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    return [_fold(range_nodes(a, b), hashes) for a, b in _inclusion_ranges(index, size)]


def consistency_proof(m: int, n: int, hashes: Mapping[Node, bytes]) -> list[bytes]:
    """The proof that the tree of m leaves is a prefix of the tree of n."""
    if not 0 <= m <= n:
        raise ValueError(f"no consistency proof from size {m} to size {n}")
    return [_fold(range_nodes(a, b), hashes) for a, b in _consistency_ranges(m, n)]


def append(size: int, frontier: Sequence[bytes], leaves: Sequence[bytes]
           ) -> tuple[list[tuple[int, int, bytes]], list[bytes]]:
    """Appends leaf hashes to a tree of `size` leaves given its frontier (the hashes of
    `frontier_nodes(size)`, in order). Returns the new nodes (level, index, hash), leaves
    included, and the new frontier. Works a level at a time: the new nodes of a level are
    paired into the next (the first with the old frontier's node of that level when it
    is a left child still waiting for its sibling)."""
    old = {level: h for (level, _), h in zip(frontier_nodes(size), frontier, strict=True)}
    written: list[tuple[int, int, bytes]] = []
    last: dict[int, bytes] = {}
    cur, start, level = list(leaves), size, 0
    while cur:
        written.extend((level, start + k, h) for k, h in enumerate(cur))
        last[level] = cur[-1]
        if start & 1:  # the first new node's left sibling is the old frontier's
            cur.insert(0, old[level])
            start -= 1
        cur = [node_hash(cur[k], cur[k + 1]) for k in range(0, len(cur) - 1, 2)]
        start >>= 1
        level += 1
    new_size = size + len(leaves)
    return written, [last[lv] if lv in last and (new_size >> lv) - 1 == ix else old[lv]
                     for lv, ix in frontier_nodes(new_size)]
