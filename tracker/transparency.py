"""Signed checkpoints and proofs of the log: what lets anyone check a figure later.

- Keys are Ed25519, written in the signed-note formats of golang.org/x/mod/sumdb/note:
  `tracker.key` = `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>` (keep it secret),
  `tracker.key.pub` = `<name>+<key id>+<base64(0x01 || public key)>` (publish it). The
  key's name is the log's origin (default `conflict-tracker`; `tracker keygen --name`).
- A checkpoint is a C2SP tlog-checkpoint: the note text `<origin>\\n<size>\\n<base64
  root>\\ntime <UTC ISO time>\\n`, a blank line, and the signature line
  `— <name> <base64(key id || Ed25519 signature of the text)>`. Each is recorded in the
  event store (`<events>_checkpoints`), so the API serves them; the log itself is
  unchanged (a checkpoint is a statement about the log, not an event of it).
- Proofs (RFC 9162): inclusion of the event at a log position in the tree of a size, and
  consistency between two sizes, read from the stored perfect subtrees (tracker.tlog).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tracker import merkle
from tracker.citation_verify import DASH, SIG_ED25519, key_hash, parse_checkpoint
from tracker.exceptions import ConfigurationError, TrackerError

DEFAULT_ORIGIN = "conflict-tracker"
KEY_ENV = "TRACKER_SIGNING_KEY"
# The largest tree size or log position a proof is asked about (the API's and the CLI's
# bound: past it, a store's 64-bit integers overflow).
MAX_SIZE = 2**62


class ProofError(TrackerError):
    """A proof or checkpoint was asked for with arguments that cannot be answered (a
    position not in the log, a size beyond it…); names the parameter."""

    code = "invalid_query"

    def __init__(self, message: str, field: str) -> None:
        self.field = field
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self),
                "errors": [{"field": self.field, "message": str(self)}]}


class NoCheckpointError(TrackerError):
    """No signed checkpoint covers what was asked: the operator signs one first."""

    code = "no_checkpoint"


class SigningKeyError(ConfigurationError):
    """The signing key is missing or unreadable."""


# -- keys -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Signer:
    """An Ed25519 note signer: its name (the log's origin) and private key."""

    name: str
    private: Any  # cryptography's Ed25519PrivateKey

    @property
    def public_bytes(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        raw: bytes = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return raw

    @property
    def verifier_key(self) -> str:
        return (f"{self.name}+{key_hash(self.name, self.public_bytes).hex()}+"
                + base64.b64encode(SIG_ED25519 + self.public_bytes).decode())

    def sign(self, text: str) -> str:
        """The signed note: `text`, a blank line, the signature line."""
        sig = self.private.sign(text.encode())
        blob = base64.b64encode(key_hash(self.name, self.public_bytes) + sig).decode()
        return f"{text}\n{DASH} {self.name} {blob}\n"


def _check_name(name: str) -> str:
    if not name or any(ch.isspace() for ch in name) or "+" in name:
        raise SigningKeyError(f"key name {name!r}: no spaces or '+', not empty")
    return name


def generate_signer(name: str = DEFAULT_ORIGIN) -> Signer:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Signer(_check_name(name), Ed25519PrivateKey.generate())


def signer_key_text(signer: Signer) -> str:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    seed = signer.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return (f"PRIVATE+KEY+{signer.name}+{key_hash(signer.name, signer.public_bytes).hex()}+"
            + base64.b64encode(SIG_ED25519 + seed).decode())


def write_keys(signer: Signer, directory: Path) -> tuple[Path, Path]:
    """DIR/tracker.key (mode 0600) and DIR/tracker.key.pub; refuses to overwrite. A
    directory or file that cannot be made is a SigningKeyError naming the path and why,
    and leaves no half of a pair behind."""
    private, public = directory / "tracker.key", directory / "tracker.key.pub"
    made: list[Path] = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path in (private, public):
            if path.exists():
                raise SigningKeyError(f"{path} exists; not overwriting a key")
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        made.append(private)
        with os.fdopen(fd, "w") as f:
            f.write(signer_key_text(signer) + "\n")
        made.append(public)
        public.write_text(signer.verifier_key + "\n")
    except OSError as e:
        for path in made:
            path.unlink(missing_ok=True)
        where = e.filename if e.filename is not None else directory
        raise SigningKeyError(f"cannot write the key to {where}: "
                              f"{e.strerror or e}") from None
    return private, public


def parse_signer(text: str) -> Signer:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    parts = text.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise SigningKeyError("not a tracker signing key (PRIVATE+KEY+name+id+key)")
    name, kid, blob = parts[2:]
    try:
        raw = base64.b64decode(blob, validate=True)
    except ValueError:
        raise SigningKeyError("the signing key is not base64") from None
    if len(raw) != 33 or raw[:1] != SIG_ED25519:
        raise SigningKeyError("the signing key is not an Ed25519 key")
    signer = Signer(_check_name(name), Ed25519PrivateKey.from_private_bytes(raw[1:]))
    if key_hash(name, signer.public_bytes).hex() != kid.lower():
        raise SigningKeyError("the signing key's id does not match its key")
    return signer


def load_signer(path: str | None = None, environ: dict[str, str] | None = None) -> Signer:
    """The signing key at `path`, else at $TRACKER_SIGNING_KEY."""
    env = os.environ if environ is None else environ
    where = path or env.get(KEY_ENV)
    if not where:
        raise SigningKeyError(f"no signing key: pass --key or set {KEY_ENV} "
                              "(make one with `tracker keygen`)")
    try:
        text = Path(where).read_text()
    except OSError as e:
        raise SigningKeyError(f"cannot read the signing key {where}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise SigningKeyError(f"the signing key {where}: not a tracker signing key "
                              "(not text)") from None
    try:
        return parse_signer(text)
    except SigningKeyError as e:
        raise SigningKeyError(f"the signing key {where}: {e}") from None


# -- the log's proofs and checkpoints ------------------------------------------------------

def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProofError(f"{field} must be a whole number", field)
    return value


class Transparency:
    """Proofs and checkpoints over one recorder's tree (tracker.tlog.TreeStorage)."""

    def __init__(self, recorder: Any) -> None:
        if not hasattr(recorder, "tree_head"):
            raise ConfigurationError(f"{type(recorder).__name__} keeps no Merkle tree")
        self.recorder = recorder

    def head(self) -> tuple[int, int]:
        """(size, last position) of the tree, caught up with the log first."""
        self.recorder.build_tree()
        return self.recorder.tree_head()  # type: ignore[no-any-return]

    def _size(self, size: int | None, field: str = "size") -> int:
        current, _ = self.head()
        if size is None:
            return current
        _int(size, field)
        if not 0 <= size <= current:
            raise ProofError(f"{field} {size} is not a tree size of the log (0..{current})",
                             field)
        return size

    def root(self, size: int | None = None) -> tuple[int, bytes]:
        n = self._size(size)
        return n, merkle.root(n, self.recorder.node_hashes(merkle.root_nodes(n)))

    def leaf_indexes(self, positions: list[int]) -> dict[int, int]:
        return self.recorder.leaf_indexes(positions)  # type: ignore[no-any-return]

    def inclusion(self, position: int, size: int | None = None) -> dict[str, Any]:
        """The proof that the event at `position` is in the tree of `size` leaves."""
        _int(position, "position")
        n = self._size(size)
        index = self.recorder.leaf_indexes([position]).get(position)
        if index is None:
            raise ProofError(f"no event at position {position}", "position")
        if index >= n:
            raise ProofError(f"the event at position {position} is leaf {index}, not in a "
                             f"tree of size {n}", "size")
        nodes = self.recorder.node_hashes(
            {(0, index), *merkle.root_nodes(n), *merkle.inclusion_nodes(index, n)})
        return {"position": position, "index": index, "size": n,
                "leaf": nodes[(0, index)].hex(), "root": merkle.root(n, nodes).hex(),
                "proof": [p.hex() for p in merkle.inclusion_proof(index, n, nodes)]}

    def inclusion_proofs(self, indexes: list[int], size: int) -> dict[int, list[bytes]]:
        """Audit paths of many leaves in one tree, their nodes read in one pass."""
        wanted: set[merkle.Node] = set()
        for i in indexes:
            wanted |= merkle.inclusion_nodes(i, size)
        nodes = self.recorder.node_hashes(wanted)
        return {i: merkle.inclusion_proof(i, size, nodes) for i in indexes}

    def consistency(self, first: int, second: int | None = None) -> dict[str, Any]:
        """The proof that the tree of `first` leaves is a prefix of the tree of `second`."""
        _int(first, "from")
        n = self._size(second, "to")
        if not 0 <= first <= n:
            raise ProofError(f"from {first} must lie between 0 and to ({n})", "from")
        nodes = self.recorder.node_hashes(
            merkle.consistency_nodes(first, n) | set(merkle.root_nodes(first))
            | set(merkle.root_nodes(n)))
        return {"from": first, "to": n, "from_root": merkle.root(first, nodes).hex(),
                "to_root": merkle.root(n, nodes).hex(),
                "proof": [p.hex() for p in merkle.consistency_proof(first, n, nodes)]}

    def checkpoint(self, signer: Signer, now: datetime | None = None) -> dict[str, Any]:
        """Signs the tree as it stands and records the checkpoint."""
        size, root = self.root()
        moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        time = moment.isoformat().replace("+00:00", "Z")
        text = (f"{signer.name}\n{size}\n{base64.b64encode(root).decode()}\n"
                f"time {time}\n")
        note = signer.sign(text)
        self.recorder.add_checkpoint(signer.name, size, root.hex(), time, note)
        return self.latest() or {}

    def latest(self, min_size: int = 0) -> dict[str, Any] | None:
        found = self.recorder.list_checkpoints(limit=1, min_size=min_size)
        return _shape(found[0]) if found else None

    def list(self, limit: int = 100, before: int | None = None) -> list[dict[str, Any]]:
        return [_shape(c) for c in self.recorder.list_checkpoints(limit=limit, before=before)]


def _shape(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "origin": row["origin"], "size": row["size"],
            "root": row["root"], "time": row["time"], "text": row["text"]}


def checkpoint_of(text: str) -> dict[str, Any]:
    """size, root (hex) and time of a checkpoint note; ValueError if malformed."""
    cp = parse_checkpoint(text)
    return {"origin": cp.origin, "size": cp.size, "root": cp.root.hex(), "time": cp.time}
