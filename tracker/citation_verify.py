"""Checks a tracker citation offline: standalone, the standard library and `cryptography` only.

A citation (`tracker cite`, `GET /api/v1/cite`) is one JSON document: a view's answer, the
log position it was read at, a signed checkpoint of the log (C2SP tlog-checkpoint: origin,
tree size, RFC 9162 Merkle root, time) and, for the figures in the answer, the stored events
they rest on with an inclusion proof of each. This module checks, with the log's public key
and nothing else (no database, no network, nothing else from the tracker):

1. the checkpoint's signature (C2SP signed note, Ed25519);
2. every cited event is in the log under that checkpoint (RFC 9162 inclusion proof of its
   entry: the bytes the tracker's hash chain hashes, see `entry_bytes`);
3. with `--since OLD`: the log at the old checkpoint is a prefix of the log at the cited one
   (RFC 9162 consistency proof): nothing recorded by then was rewritten or removed;
4. each cited figure, recomputed from the cited events by the evidence rules
   (docs/report-format.md, "How figures combine"), equals the figure in the answer.

What it cannot show: that the evidence is complete. An event left out of the middle of an
incident's history is noticed (each aggregate's versions must run 1..k), events after the
last one cited are not; nor is a report about other records of the same event that no cited
link names. A reader who doubts it can ask the tracker for an inclusion proof of any other
position, or for the whole log, and replay it.

This file is meant to be copied and run on its own:

    python citation_verify.py citation.json --key tracker.key.pub [--since old.checkpoint]

It exits 0 when everything holds and 1, naming each failure, otherwise.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# -- RFC 9162 Merkle tree hashing and proof verification (section 2.1) -----------------

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    """MTH of one entry: SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]
                        ) -> bytes | None:
    """The root an inclusion proof leads to (RFC 9162 2.1.3.2), or None if it is
    malformed for this index and size."""
    if index < 0 or index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if len(p) != 32 or sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes],
                     root: bytes) -> bool:
    """True when `proof` shows the leaf at `index` is in the tree of `size` with `root`."""
    return len(leaf) == 32 and root_from_inclusion(index, size, leaf, proof) == root


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes,
                       root2: bytes) -> bool:
    """True when `proof` shows the tree of size1 (root1) is a prefix of the tree of size2
    (root2): RFC 9162 2.1.4.2."""
    if size1 < 0 or size2 < size1:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0:
        return not proof
    if not proof or any(len(p) != 32 for p in proof):
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # an exact power of two: the old root is a node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2


# -- the log's entries ---------------------------------------------------------------

def entry_bytes(previous: str, position: int, aggregate: str, version: int, topic: str,
                state: bytes) -> bytes:
    """One stored event as the log hashes it (the hash chain's input, tracker.integrity):
    the previous chain hash, the position, the aggregate id (hex), its version and the
    topic, each UTF-8 and prefixed with its length (4 bytes, big-endian), then the stored
    state prefixed with its length (8 bytes)."""
    parts: list[bytes] = []
    for part in (previous, str(position), aggregate, str(version), topic):
        encoded = part.encode()
        parts += (len(encoded).to_bytes(4, "big"), encoded)
    parts += (len(state).to_bytes(8, "big"), bytes(state))
    return b"".join(parts)


# -- C2SP signed notes (Ed25519) and tlog checkpoints ---------------------------------

SIG_ED25519 = b"\x01"
DASH = "\u2014"


def key_hash(name: str, public: bytes) -> bytes:
    """The signed-note key id: the first 4 bytes of SHA-256(name || '\\n' || 0x01 || key)."""
    return hashlib.sha256(name.encode() + b"\n" + SIG_ED25519 + public).digest()[:4]


def parse_verifier_key(text: str) -> tuple[str, bytes]:
    """(name, Ed25519 public key) from a note verifier key `name+hash+base64(0x01||key)`."""
    try:
        name, hash_hex, blob = text.strip().split("+", 2)
        raw = base64.b64decode(blob, validate=True)
    except (ValueError, binascii.Error):
        raise ValueError("not a signed-note verifier key (name+hash+key)") from None
    if len(raw) != 33 or raw[:1] != SIG_ED25519:
        raise ValueError("the verifier key is not an Ed25519 key")
    public = raw[1:]
    if key_hash(name, public).hex() != hash_hex.lower():
        raise ValueError("the verifier key's hash does not match its name and key")
    return name, public


@dataclass(frozen=True)
class Checkpoint:
    """A parsed checkpoint: its text (the signed body) and signature lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...]
    body: str
    signatures: tuple[tuple[str, bytes], ...]  # (key name, key id || signature)

    @property
    def time(self) -> str | None:
        for line in self.extensions:
            if line.startswith("time "):
                return line[5:]
        return None


def parse_checkpoint(note: str) -> Checkpoint:
    """Parses a signed checkpoint note; raises ValueError naming what is malformed."""
    if "\n\n" not in note:
        raise ValueError("the checkpoint has no signature block (no blank line)")
    body, sigs = note.split("\n\n", 1)
    body += "\n"
    lines = body.split("\n")[:-1]
    if len(lines) < 3 or any(not line for line in lines):
        raise ValueError("the checkpoint text needs origin, size and root lines")
    origin, size_text, root_text = lines[:3]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise ValueError(f"the checkpoint size {size_text!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        raise ValueError("the checkpoint root is not base64") from None
    if len(root) != 32:
        raise ValueError("the checkpoint root is not a SHA-256 hash")
    signatures = []
    for line in sigs.splitlines():
        if not line:
            continue
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise ValueError(f"malformed signature line: {line!r}")
        try:
            signatures.append((parts[1], base64.b64decode(parts[2], validate=True)))
        except binascii.Error:
            raise ValueError(f"the signature of {parts[1]!r} is not base64") from None
    return Checkpoint(origin, int(size_text), root, tuple(lines[3:]), body, tuple(signatures))


def check_signature(checkpoint: Checkpoint, name: str, public: bytes) -> str | None:
    """None when the checkpoint carries a good signature by the key; else why not."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if checkpoint.origin != name:
        return (f"the checkpoint is of log {checkpoint.origin!r}, the key is of "
                f"{name!r}")
    kid = key_hash(name, public)
    candidates = [s for n, s in checkpoint.signatures if n == name and s[:4] == kid]
    if not candidates:
        return f"the checkpoint carries no signature by the key {name!r}"
    key = Ed25519PublicKey.from_public_bytes(public)
    for sig in candidates:
        try:
            key.verify(sig[4:], checkpoint.body.encode())
            return None
        except InvalidSignature:
            continue
    return "the checkpoint's signature does not verify: it was altered or not signed by this key"


# -- the evidence rules (docs/report-format.md; projections/figures.py on the server) --

def _plain(value: Any) -> Any:
    """The library's typed values ({"_type_", "_data_"}) as their data."""
    if isinstance(value, dict):
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return _plain(value["_data_"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _published(prov: dict[str, Any]) -> str | None:
    day = (prov.get("source") or {}).get("published")
    if day:
        return str(day)
    recorded = prov.get("recorded_at")
    return str(recorded)[:10] if recorded else None


def _set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    keys = path.split(".")
    for k in keys[:-1]:
        doc = doc.setdefault(k, {})
    doc[keys[-1]] = json.loads(json.dumps(value))  # its own copy


def _get_path(doc: Any, path: str) -> Any:
    for k in path.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(k)
    return doc


def _withdraw_corrections(state: dict[str, Any], report: str) -> None:
    """Retracting a report undoes its corrections: every corrected field is set back to
    its value before its first correction, then the live corrections apply again in
    order (the tracker's rule, docs/report-format.md, "retraction")."""
    kept = [c for c in state["corrections"] if c["report"] != report]
    if len(kept) == len(state["corrections"]):
        return
    state["corrections"] = kept
    scratch: dict[str, Any] = {}
    for path in reversed(list(state["originals"])):
        _set_path(scratch, path, state["originals"][path])
    for c in kept:
        _set_path(scratch, c["field"], c["value"])
    for path in state["originals"]:
        _set_path(state["details"], path, _get_path(scratch, path))


def fold_incident(events: Iterable[tuple[int, str, dict[str, Any]]]) -> dict[str, Any] | None:
    """An incident's details, figures and assessments from its events (position, class
    name, fields), in log order: what its figures need, by the tracker's rules."""
    state: dict[str, Any] | None = None
    for position, name, data in events:
        prov = data.get("provenance") or {}
        if name == "IncidentReported":
            state = {"id": data["key"], "details": data["details"], "report": prov["report"],
                     "figures": {}, "assessments": [], "reports": [prov["report"]],
                     "withdrawn": [], "retracted": None, "corrections": [], "originals": {}}
            continue
        if state is None:
            continue
        if prov.get("report") and prov["report"] not in state["reports"] and name not in (
                "IncidentReportRetracted", "IncidentRetracted"):
            state["reports"].append(prov["report"])
        if name == "CasualtiesReported":
            key = f"{data['source']}\x1f{data['actor'] or ''}\x1f{prov['report']}"
            state["figures"][key] = {
                "source": data["source"], "actor": data["actor"], "killed": data["killed"],
                "low": data["low"], "high": data["high"], "report": prov["report"],
                "published": _published(prov), "seq": position}
        elif name == "AssessmentRecorded":
            state["assessments"].append({
                "killed": data["killed"], "low": data["low"], "high": data["high"],
                "report": prov["report"], "published": _published(prov), "seq": position,
                "source": (prov.get("source") or {}).get("name")})
        elif name == "IncidentCorrected":
            state["originals"].setdefault(data["field"], data["previous"])
            state["corrections"].append({"field": data["field"], "value": data["value"],
                                         "report": prov["report"]})
            _set_path(state["details"], data["field"], data["value"])
        elif name == "IncidentRetracted":
            state["retracted"] = data["reason"]
        elif name == "IncidentReportRetracted":
            report = data["report"]
            state["withdrawn"].append(report)
            _withdraw_corrections(state, report)
            state["figures"] = {k: f for k, f in state["figures"].items()
                                if f["report"] != report}
            state["assessments"] = [a for a in state["assessments"] if a["report"] != report]
            if state["report"] == report and not [
                    r for r in state["reports"] if r not in state["withdrawn"]]:
                state["retracted"] = data["reason"]
    return state


def fold_link(events: Iterable[tuple[int, str, dict[str, Any]]]) -> dict[str, Any] | None:
    """A link between two records (same_incident / distinct_incidents): its pair and each
    live report's assertion. Status: distinct while any live report says so, else same
    while any says so, else none."""
    state: dict[str, Any] | None = None
    for _, name, data in events:
        prov = data.get("provenance") or {}
        if name == "LinkOpened":
            state = {"key": data["key"], "kind": data["kind"], "a": data["a"], "b": data["b"],
                     "assertions": {}}
        elif state is None:
            continue
        elif name == "IdentityAsserted":
            state["assertions"][prov["report"]] = data["relation"]
        elif name == "LinkReportRetracted":
            state["assertions"].pop(data["report"], None)
    if state is not None:
        relations = set(state["assertions"].values())
        state["status"] = ("distinct" if "distinct" in relations else
                           "same" if "same" in relations else None)
    return state


def merge_cluster(canonical: str, members: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Records of one real event counted once, under `canonical`: its details, and every
    live member's figures and assessments (the evidence rules then work across them)."""
    live = {k: d for k, d in members.items() if not d["retracted"]}
    figures = {f"{k}\x1e{fk}": f for k, d in live.items() for fk, f in d["figures"].items()}
    assessments = sorted((a for d in live.values() for a in d["assessments"]),
                         key=lambda a: a["seq"])
    return {**members[canonical], "figures": figures, "assessments": assessments,
            "retracted": None if live else members[canonical]["retracted"]}


def _connected(members: Sequence[str], edges: Iterable[tuple[str, str]]) -> bool:
    reach, todo = {members[0]}, [members[0]]
    adjacent: dict[str, set[str]] = {}
    for a, b in edges:
        adjacent.setdefault(a, set()).add(b)
        adjacent.setdefault(b, set()).add(a)
    while todo:
        for nxt in adjacent.get(todo.pop(), ()):
            if nxt not in reach:
                reach.add(nxt)
                todo.append(nxt)
    return reach >= set(members)


def _rank(f: dict[str, Any]) -> tuple[str, int]:
    return (f.get("published") or "", f["seq"])


def incident_killed(figures: dict[str, dict[str, Any]],
                    assessment: dict[str, Any] | None) -> dict[str, Any]:
    """{best, low, high, basis}: best is the total of the source whose current figures were
    published last (ties: recorded later), unless an assessment sets it; low/high span the
    sources' totals (a source's explicit low/high standing in for its total)."""
    current: dict[tuple[str, str], dict[str, Any]] = {}
    for f in figures.values():
        key = (f["source"], f.get("actor") or "")
        if key not in current or _rank(f) > _rank(current[key]):
            current[key] = f
    by_source: dict[str, list[dict[str, Any]]] = {}
    for (source, _), f in current.items():
        by_source.setdefault(source, []).append(f)
    totals = {}
    for source, figs in by_source.items():
        overall = [f for f in figs if not f.get("actor")]
        used = overall or figs
        latest = max(used, key=_rank)
        totals[source] = {
            "best": sum(f["killed"] for f in used),
            "low": sum(f["killed"] if f.get("low") is None else f["low"] for f in used),
            "high": sum(f["killed"] if f.get("high") is None else f["high"] for f in used),
            "rank": _rank(latest), "report": latest["report"]}
    out: dict[str, Any] = {"best": 0, "low": 0, "high": 0, "basis": None}
    if totals:
        source, latest = max(totals.items(), key=lambda item: item[1]["rank"])
        out = {"best": latest["best"], "low": min(t["low"] for t in totals.values()),
               "high": max(t["high"] for t in totals.values()),
               "basis": {"rule": "single_source" if len(totals) == 1 else "latest_published",
                         "report": latest["report"], "source": source}}
    if assessment is not None:
        best = assessment["killed"]
        low, high = (out["low"], out["high"]) if totals else (best, best)
        out = {"best": best,
               "low": low if assessment.get("low") is None else assessment["low"],
               "high": high if assessment.get("high") is None else assessment["high"],
               "basis": {"rule": "assessment", "report": assessment["report"],
                         "source": assessment.get("source")}}
    return out


UNKNOWN = "(unknown)"
ZERO = {"best": 0, "low": 0, "high": 0}


def involved_actors(state: dict[str, Any]) -> list[str]:
    """The actors taking part (the incident's, in order), and any actor a figure names."""
    actors = [a["actor"] for a in state["details"].get("actors") or []]
    for f in state["figures"].values():
        if f.get("actor") and f["actor"] not in actors:
            actors.append(f["actor"])
    return actors


def actor_killed(state: dict[str, Any], actor: str) -> dict[str, Any] | None:
    """An actor's part of an incident (by=actor), None when it is not involved: its own
    figures by the same rules where a source named actors; when none did, every involved
    actor counts the incident's figures."""
    if actor not in involved_actors(state):
        return None
    per_actor = [f for f in state["figures"].values() if f.get("actor")]
    if not per_actor:
        assessment = state["assessments"][-1] if state["assessments"] else None
        return incident_killed(state["figures"], assessment)
    own = [f for f in per_actor if f["actor"] == actor]
    if not own:
        return dict(ZERO)
    return incident_killed({str(i): f for i, f in enumerate(own)}, None)


def dimension_key(details: dict[str, Any], by: str) -> str | None:
    """The casualties row an incident counts in, grouped `by` (None: in no row)."""
    loc = details.get("location") or {}
    if by == "country":
        return str(loc.get("country") or UNKNOWN)
    if by in ("admin1", "admin2"):
        # Country-qualified, as the views key regions: "Mali / Mopti (/ Djenné)".
        levels = ("country", "admin1", "admin2")[:2 if by == "admin1" else 3]
        return " / ".join(str(loc.get(level) or UNKNOWN) for level in levels)
    if by == "month":
        return str(details.get("date") or "")[:7] or UNKNOWN
    if by == "type":
        return str(details.get("type") or UNKNOWN)
    if by == "operation":
        return str(details["operation"]) if details.get("operation") else None
    raise ValueError(f"cannot check figures grouped by {by!r}")


# -- checking a citation ------------------------------------------------------------

@dataclass
class Report:
    """What a check found: `ok` only when nothing failed."""

    checked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    # The answer's figures the citation does not cite (a citation of one row carries the
    # whole answer for context): nothing about them is verified.
    uncovered: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, message: str) -> None:
        self.failures.append(message)


def _hex(value: Any, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} is not hexadecimal") from None
    return raw


def _event_data(entry: dict[str, Any], state: bytes) -> tuple[str, dict[str, Any]]:
    name = str(entry["topic"]).rsplit(":", 1)[-1].rsplit(".", 1)[-1]
    try:
        data = json.loads(state)
    except RecursionError:
        raise ValueError("its state nests too deeply to be an event") from None
    if not isinstance(data, dict):
        raise ValueError("its state is not a JSON object")
    if int(data.get("class_version", 1) or 1) != 1:
        raise ValueError(f"its class version {data['class_version']} needs an upcaster")
    return name, _plain(data)


def verify_citation(citation: dict[str, Any], verifier_key: str,
                    since: str | None = None) -> Report:
    """Checks everything a citation claims (see the module's docstring)."""
    report = Report()
    try:
        name, public = parse_verifier_key(verifier_key)
    except ValueError as e:
        report.fail(f"key: {e}")
        return report
    cp_json = citation.get("checkpoint")
    if not isinstance(cp_json, dict) or not isinstance(cp_json.get("text"), str):
        report.fail("the citation carries no checkpoint")
        return report
    try:
        checkpoint = parse_checkpoint(cp_json["text"])
    except ValueError as e:
        report.fail(f"checkpoint: {e}")
        return report
    problem = check_signature(checkpoint, name, public)
    if problem:
        report.fail(f"signature: {problem}")
    else:
        report.checked.append(f"signature of {name} on checkpoint size {checkpoint.size}")
    if cp_json.get("size") != checkpoint.size or cp_json.get("root") != checkpoint.root.hex():
        report.fail("checkpoint: its size/root fields do not match its signed text")

    # 2. inclusion of every cited event, and its decoded fields for the figures
    position = citation.get("position")
    # position -> (aggregate, event class, fields, version)
    events: dict[int, tuple[str, str, dict[str, Any], int]] = {}
    for ev in citation.get("evidence") or []:
        for inc in ev.get("inclusion") or []:
            pos = inc.get("position")
            try:
                entry = inc["entry"]
                state = base64.b64decode(entry["state"], validate=True)
                raw = entry_bytes(str(entry["previous"]), int(pos), str(entry["aggregate"]),
                                  int(entry["version"]), str(entry["topic"]), state)
                proof = [_hex(p, "a proof hash") for p in inc["proof"]]
                index = int(inc["index"])
            except (KeyError, TypeError, ValueError, binascii.Error) as e:
                report.fail(f"evidence: the event at position {pos} (report "
                            f"{ev.get('report')}) is malformed: {e}")
                continue
            if isinstance(position, int) and pos > position:
                report.fail(f"evidence: position {pos} is after the cited position "
                            f"{position}")
            if not verify_inclusion(index, checkpoint.size, leaf_hash(raw), proof,
                                    checkpoint.root):
                report.fail(f"inclusion: the event at position {pos} (report "
                            f"{ev.get('report')}) is not in the log under the checkpoint: "
                            "it was altered, or the proof is wrong")
                continue
            try:
                name_, data = _event_data(entry, state)
            except (ValueError, KeyError) as e:
                report.fail(f"evidence: the event at position {pos} cannot be read: {e}")
                continue
            prov_report = (data.get("provenance") or {}).get("report")
            if ev.get("report") is not None and prov_report != ev.get("report"):
                report.fail(f"evidence: the event at position {pos} belongs to report "
                            f"{prov_report!r}, not {ev.get('report')!r}")
            events[int(pos)] = (str(entry["aggregate"]), name_, data, int(entry["version"]))
    report.checked.append(f"{_counted(len(events), 'event')} included in the log of size "
                          f"{checkpoint.size}")

    # 3. consistency with a checkpoint the reader kept
    if since is not None:
        _check_since(report, citation, checkpoint, since, name, public)

    # 4. the figures, recomputed
    _check_figures(report, citation, events)
    return report


def _check_since(report: Report, citation: dict[str, Any], checkpoint: Checkpoint,
                 since: str, name: str, public: bytes) -> None:
    try:
        old = parse_checkpoint(since)
    except ValueError as e:
        report.fail(f"old checkpoint: {e}")
        return
    problem = check_signature(old, name, public)
    if problem:
        report.fail(f"old checkpoint signature: {problem}")
        return
    if old.size > checkpoint.size:
        report.fail(f"consistency: the log shrank: the kept checkpoint has {old.size} "
                    f"entries, the cited one {checkpoint.size}")
        return
    consistency = citation.get("consistency") or {}
    try:
        proof = [_hex(p, "a consistency hash") for p in consistency.get("proof") or []]
    except ValueError as e:
        report.fail(f"consistency: {e}")
        return
    if old.size != checkpoint.size and consistency.get("from") != old.size:
        report.fail(f"consistency: the citation carries no consistency proof from size "
                    f"{old.size} (cite again with --since)")
        return
    if not verify_consistency(old.size, checkpoint.size, proof, old.root, checkpoint.root):
        report.fail(f"consistency: the log at the kept checkpoint (size {old.size}) is not a "
                    f"prefix of the log at the cited one (size {checkpoint.size}): history "
                    "was rewritten")
        return
    report.checked.append(f"the log of size {old.size} is a prefix of size {checkpoint.size}")


def aggregate_of(kind: str, key: str) -> str:
    """The aggregate id (hex) of the entity the reports call `key` (tracker.domain.base:
    uuid5 of the URL namespace and /KINDs/KEY)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"/{kind}s/{key}").hex


def incident_aggregate(key: str) -> str:
    return aggregate_of("incident", key)


def _check_figures(report: Report, citation: dict[str, Any],
                   events: dict[int, tuple[str, str, dict[str, Any], int]]) -> None:
    by_aggregate: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
    versions: dict[str, list[int]] = {}
    for pos in sorted(events):
        agg, name, data, version = events[pos]
        by_aggregate.setdefault(agg, []).append((pos, name, data))
        versions.setdefault(agg, []).append(version)
    incidents: dict[str, dict[str, Any]] = {}
    links: list[dict[str, Any]] = []
    for agg, evs in by_aggregate.items():
        if sorted(versions[agg]) != list(range(1, len(versions[agg]) + 1)):
            report.fail(f"evidence: the events of aggregate {agg} are incomplete "
                        f"(versions {sorted(versions[agg])})")
            continue
        if evs[0][1] == "LinkOpened":
            link = fold_link(evs)
            if link is None or aggregate_of("link", link["key"]) != agg:
                report.fail(f"evidence: aggregate {agg} is not the link it says it is")
            else:
                links.append(link)
            continue
        state = fold_incident(evs)
        if state is None:
            continue
        if incident_aggregate(state["id"]) != agg:
            report.fail(f"evidence: incident {state['id']!r} is reported in aggregate {agg}, "
                        "not its own")
            continue
        incidents[state["id"]] = state
    clusters = citation.get("clusters") or {}
    for canonical, members in clusters.items():
        members = list(members)
        missing = [m for m in members if m not in incidents]
        if canonical not in members or missing:
            member = "member" if len(missing) <= 1 else "members"
            report.fail(f"cluster {canonical!r}: no verified events for {member} "
                        f"{', '.join(missing) or canonical}")
            incidents.pop(canonical, None)
            continue
        same = [(lk["a"], lk["b"]) for lk in links if lk["kind"] == "incident"
                and lk["status"] == "same" and lk["a"] in members and lk["b"] in members]
        if not _connected(members, same):
            report.fail(f"cluster {canonical!r}: the cited links do not join "
                        f"{', '.join(members)} as one event")
            incidents.pop(canonical, None)
            continue
        incidents[canonical] = merge_cluster(canonical, {m: incidents[m] for m in members})
    answer = citation.get("answer")
    figures = citation.get("figures") or []
    cited = {json.dumps(f.get("path")) for f in figures if isinstance(f, dict)}
    for path in _required(citation):
        if json.dumps(path) not in cited:
            report.fail(f"figure {path}: in the answer but not cited (no evidence for it)")
    for figure in figures:
        where = figure.get("path")
        try:
            claimed = _at(answer, where)
        except (KeyError, IndexError, TypeError):
            report.fail(f"figure {where}: not found in the answer")
            continue
        if isinstance(answer, dict) and isinstance(where, list) and len(where) == 3 \
                and where[0] == "rows":
            row = _at(answer, where[:2])
            if figure.get("by") != answer.get("by") or figure.get("key") != row.get("key"):
                report.fail(f"figure {where}: cited as {figure.get('by')} "
                            f"{figure.get('key')!r}, the answer's row is {answer.get('by')} "
                            f"{row.get('key')!r}")
                continue
        ids = figure.get("incidents") or []
        missing = [i for i in ids if i not in incidents]
        if missing:
            report.fail(f"figure {where}: no verified events for "
                        f"{'incident' if len(missing) == 1 else 'incidents'} "
                        f"{', '.join(missing[:5])}")
            continue
        total = {"best": 0, "low": 0, "high": 0}
        bad = False
        for i in ids:
            state = incidents[i]
            if state["retracted"]:
                report.fail(f"figure {where}: incident {i} is retracted and counts nothing")
                bad = True
                continue
            by, key = figure.get("by"), figure.get("key")
            if by == "actor":
                share = actor_killed(state, str(key))
                if share is None:
                    report.fail(f"figure {where}: actor {key!r} takes no part in incident "
                                f"{i} (its events say {involved_actors(state)})")
                    bad = True
                    continue
                k = share
            else:
                if by is not None and dimension_key(state["details"], by) != key:
                    report.fail(f"figure {where}: incident {i} is not in {by} {key!r} "
                                f"(its events say {dimension_key(state['details'], by)!r})")
                    bad = True
                assessment = state["assessments"][-1] if state["assessments"] else None
                k = incident_killed(state["figures"], assessment)
            for part in total:
                total[part] += k[part]
        if bad:
            continue
        got = {p: claimed.get(p) for p in total} if isinstance(claimed, dict) else claimed
        if got != total:
            report.fail(f"figure {where}: the answer says {got}, the cited reports give "
                        f"{total} by the evidence rules")
            continue
        if "incidents" in figure and figure.get("count_path") is not None:
            try:
                count = _at(answer, figure["count_path"])
            except (KeyError, IndexError, TypeError):
                count = None
            if count != len(ids):
                report.fail(f"figure {where}: the answer counts {count} incidents, the "
                            f"evidence {len(ids)}")
                continue
        report.checked.append(f"figure {where} = {total} from {_counted(len(ids), 'incident')}")
    report.uncovered = [_label(answer, path) for path in _all_figures(citation)
                        if json.dumps(path) not in cited]


def _all_figures(citation: dict[str, Any]) -> list[list[Any]]:
    """Every figure of the answer a citation of the whole query would cite."""
    return _required({**citation, "query": {**(citation.get("query") or {}), "key": None}})


def _label(answer: Any, path: list[Any]) -> str:
    """A figure as a reader names it: the row's key, or the total."""
    if len(path) == 3 and path[0] == "rows" and isinstance(answer, dict):
        return f"row {(answer.get('rows') or [{}])[path[1]].get('key')!r}"
    return str(path[0]) if len(path) == 1 else str(path)


def _required(citation: dict[str, Any]) -> list[list[Any]]:
    """The figures of the answer a citation of its query must cite: each casualties row's
    killed (or the one row asked for) and the total; an incident's killed."""
    query, answer = citation.get("query") or {}, citation.get("answer")
    if not isinstance(answer, dict):
        return []
    if query.get("view") == "incident":
        return [["killed"]]
    if query.get("view") == "casualties":
        rows = answer.get("rows") or []
        wanted = query.get("key")
        out: list[list[Any]] = [["rows", i, "killed"] for i, r in enumerate(rows)
                                if wanted is None or r.get("key") == wanted]
        if wanted is None:
            out.append(["total"])
        return out
    return []


def _at(doc: Any, path: Any) -> Any:
    for step in path or []:
        doc = doc[step]
    return doc


def _counted(n: int, noun: str) -> str:
    """"1 incident", "2 incidents": tracker.wording.counted, restated (this file imports
    nothing of the tracker)."""
    return f"{n} {noun if n == 1 else noun + 's'}"


def uncovered_note(result: Report) -> str | None:
    """The line naming the answer's figures a citation does not cover (None: none)."""
    if not result.uncovered:
        return None
    shown = ", ".join(result.uncovered[:10]) + (
        f" and {len(result.uncovered) - 10} more" if len(result.uncovered) > 10 else "")
    return (f"not covered: {shown} (in the answer for context; this citation does not cite "
            "them, so nothing about them is verified)")


def verdict(result: Report) -> str:
    """The last line of a verified citation's check."""
    return "citation verified" + (" (only the figures listed as ok)" if result.uncovered
                                  else "")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a tracker citation offline.")
    parser.add_argument("citation", help="the citation JSON file ('-' reads stdin)")
    parser.add_argument("--key", required=True, help="the log's public key file")
    parser.add_argument("--since", help="a checkpoint you kept from before")
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.citation == "-" else open(args.citation).read()  # noqa: SIM115
        try:
            citation = json.loads(text)
        except RecursionError:
            raise ValueError("the citation nests too deeply to be one") from None
        with open(args.key) as f:
            key = f.read()
        since = None
        if args.since:
            with open(args.since) as f:
                since = f.read()
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if not isinstance(citation, dict):
        print("error: the citation is not a JSON object", file=sys.stderr)
        return 1
    result = verify_citation(citation, key, since)
    for line in result.checked:
        print(f"ok: {line}")
    for line in result.failures:
        print(f"FAILED: {line}", file=sys.stderr)
    note = uncovered_note(result)
    if note:
        print(note)
    print(verdict(result) if result.ok else
          f"citation NOT verified: {_counted(len(result.failures), 'problem')}",
          file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
