"""The Merkle tree (tracker.merkle) and the standalone verifier's proof checks.

Test vectors: transparency-dev/merkle (the Go reference of RFC 6962/9162 trees, used by
Trillian and the Go checksum database): testonly/constants.go (leaf inputs, node hashes,
roots by size) and proof/verify_test.go (inclusion and consistency proofs).
"""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker import merkle
from tracker.citation_verify import verify_consistency, verify_inclusion

H = bytes.fromhex
LEAF_INPUTS = [H(""), H("00"), H("10"), H("2021"), H("3031"), H("40414243"),
               H("5051525354555657"), H("606162636465666768696a6b6c6d6e6f")]
NODE_HASHES = [
    ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
     "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
     "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
     "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
     "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"],
    ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
     "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"],
    ["d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]
ROOTS = ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]
# (leaf index (0-based), tree size, proof)
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (0, 1, []),
]
# (size1, size2, proof)
CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (1, 1, []),
]


def build(leaves: list[bytes]) -> dict[merkle.Node, bytes]:
    """Every stored node of a tree, appended a leaf at a time (as the recorders do)."""
    nodes: dict[merkle.Node, bytes] = {}
    frontier: list[bytes] = []
    for i, leaf in enumerate(leaves):
        written, frontier = merkle.append(i, frontier, [merkle.leaf_hash(leaf)])
        nodes.update(((lv, ix), h) for lv, ix, h in written)
    return nodes


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 9162's MTH, recursively, straight from the definition."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return merkle.leaf_hash(leaves[0])
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return merkle.node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def test_node_hashes_and_roots_match_the_vectors() -> None:
    nodes = build(LEAF_INPUTS)
    for level, row in enumerate(NODE_HASHES):
        for index, expected in enumerate(row):
            assert nodes[(level, index)].hex() == expected
    for size, expected in enumerate(ROOTS):
        assert merkle.root(size, nodes).hex() == expected


def test_inclusion_proofs_match_the_vectors() -> None:
    nodes = build(LEAF_INPUTS)
    for index, size, expected in INCLUSION:
        proof = merkle.inclusion_proof(index, size, nodes)
        assert [p.hex() for p in proof] == expected
        leaf = merkle.leaf_hash(LEAF_INPUTS[index])
        assert verify_inclusion(index, size, leaf, proof, H(ROOTS[size]))
        # The vectors' own corruptions: wrong index, size, leaf, root; garbage; a bit.
        assert not verify_inclusion(index + 1, size, leaf, proof, H(ROOTS[size]))
        assert not verify_inclusion(index, size * 2, leaf, proof, H(ROOTS[size]))
        assert not verify_inclusion(index, size, merkle.leaf_hash(b"x"), proof,
                                    H(ROOTS[size]))
        assert not verify_inclusion(index, size, leaf, proof, H(ROOTS[0]))
        assert not verify_inclusion(index, size, leaf, [*proof, H(ROOTS[size])],
                                    H(ROOTS[size]))
        for i in range(len(proof)):
            flipped = list(proof)
            flipped[i] = bytes([proof[i][0] ^ 8]) + proof[i][1:]
            assert not verify_inclusion(index, size, leaf, flipped, H(ROOTS[size]))


def test_consistency_proofs_match_the_vectors() -> None:
    nodes = build(LEAF_INPUTS)
    for m, n, expected in CONSISTENCY:
        proof = merkle.consistency_proof(m, n, nodes)
        assert [p.hex() for p in proof] == expected
        assert verify_consistency(m, n, proof, H(ROOTS[m]), H(ROOTS[n]))
        if proof:
            assert not verify_consistency(m, n, proof, H(ROOTS[n]), H(ROOTS[m]))
            assert not verify_consistency(m, n, proof[:-1], H(ROOTS[m]), H(ROOTS[n]))
            assert not verify_consistency(m + 1, n, proof, H(ROOTS[m]), H(ROOTS[n]))
            assert not verify_consistency(m, n, [], H(ROOTS[m]), H(ROOTS[n]))
            for i in range(len(proof)):
                flipped = list(proof)
                flipped[i] = bytes([proof[i][0] ^ 16]) + proof[i][1:]
                assert not verify_consistency(m, n, flipped, H(ROOTS[m]), H(ROOTS[n]))


def test_the_trivial_cases_of_the_vectors() -> None:
    empty = H(ROOTS[0])
    assert verify_consistency(0, 0, [], empty, empty)
    assert verify_consistency(0, 5, [], empty, H(ROOTS[5]))
    assert not verify_consistency(1, 0, [], empty, empty)   # time travel
    assert not verify_consistency(1, 1, [empty], empty, empty)
    assert not verify_inclusion(0, 0, merkle.leaf_hash(b""), [], empty)


def test_append_in_batches_equals_one_at_a_time() -> None:
    leaves = [bytes([i]) * (i % 7) for i in range(100)]
    one = build(leaves)
    nodes: dict[merkle.Node, bytes] = {}
    frontier: list[bytes] = []
    size = 0
    for start, stop in ((0, 3), (3, 4), (4, 37), (37, 64), (64, 100)):
        written, frontier = merkle.append(size, frontier,
                                          [merkle.leaf_hash(x) for x in leaves[start:stop]])
        nodes.update(((lv, ix), h) for lv, ix, h in written)
        size = stop
        assert [nodes[n] for n in merkle.frontier_nodes(size)] == frontier
    assert nodes == one


SIZES = st.integers(min_value=1, max_value=300)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), size=SIZES)
def test_every_inclusion_proof_verifies_and_a_tampered_entry_fails(
        data: st.DataObject, size: int) -> None:
    leaves = [f"entry {i}".encode() for i in range(size)]
    nodes = build(leaves)
    top = merkle.root(size, nodes)
    assert top == reference_root(leaves)
    index = data.draw(st.integers(0, size - 1))
    tree = data.draw(st.integers(index + 1, size))  # any checkpoint covering the entry
    proof = merkle.inclusion_proof(index, tree, nodes)
    assert set(merkle.inclusion_nodes(index, tree)) <= set(nodes)
    head = merkle.root(tree, nodes)
    assert verify_inclusion(index, tree, merkle.leaf_hash(leaves[index]), proof, head)
    tampered = merkle.leaf_hash(leaves[index] + b"!")
    assert not verify_inclusion(index, tree, tampered, proof, head)
    if tree > 1:
        other = data.draw(st.integers(0, tree - 1).filter(lambda i: i != index))
        assert not verify_inclusion(other, tree, merkle.leaf_hash(leaves[index]), proof,
                                    head)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), size=SIZES)
def test_every_consistency_proof_verifies_and_a_rewritten_prefix_fails(
        data: st.DataObject, size: int) -> None:
    leaves = [f"entry {i}".encode() for i in range(size)]
    nodes = build(leaves)
    m = data.draw(st.integers(0, size))
    proof = merkle.consistency_proof(m, size, nodes)
    assert set(merkle.consistency_nodes(m, size)) <= set(nodes)
    old, new = merkle.root(m, nodes), merkle.root(size, nodes)
    assert verify_consistency(m, size, proof, old, new)
    if m > 0:
        # The same log with one entry of the prefix rewritten: the old checkpoint's root
        # cannot be reconciled with the rewritten log's.
        changed = data.draw(st.integers(0, m - 1))
        rewritten = list(leaves)
        rewritten[changed] += b" (edited)"
        other = build(rewritten)
        if m < size:
            forged = merkle.consistency_proof(m, size, other)
            assert not verify_consistency(m, size, forged, old, merkle.root(size, other))
        assert merkle.root(m, other) != old
