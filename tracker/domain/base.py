"""Helpers shared by the aggregates: deterministic ids and dotted field paths."""

from __future__ import annotations

from functools import lru_cache
from hashlib import sha1
from typing import Any
from uuid import NAMESPACE_URL, UUID

_NAMESPACE = NAMESPACE_URL.bytes
# uuid5's bits: the version (5) and the RFC 4122 variant over the SHA-1 digest's first 16
# bytes.
_KEEP = ((1 << 128) - 1) & ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_5 = (5 << 76) | (0x8000 << 48)


@lru_cache(maxsize=65536)
def entity_id(kind: str, key: str) -> UUID:
    """The aggregate id of the entity a report calls `key`: the same key, the same id —
    uuid5(NAMESPACE_URL, "/{kind}s/{key}"), computed as uuid5 does without its per-call
    import and byte conversions (a report of 30,000 links asks for 90,000 ids, more than
    the cache holds). Cached: a report refers to the same entities many times."""
    digest = sha1(_NAMESPACE + f"/{kind}s/{key}".encode()).digest()
    return UUID(int=(int.from_bytes(digest[:16], "big") & _KEEP) | _VERSION_5)


def copy_tree(value: Any) -> Any:
    """A copy of nested dicts and lists; scalars (str, numbers, dates…) are immutable and
    shared. Event payloads are such trees; this is several times faster than deepcopy."""
    if isinstance(value, dict):
        return {k: copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_tree(v) for v in value]
    return value


def get_path(state: dict[str, Any], path: str) -> Any:
    """Reads a dotted path ('location.admin1') from nested dicts; None when absent."""
    node: Any = state
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return copy_tree(node)


def set_path(state: dict[str, Any], path: str, value: Any) -> None:
    """Writes a dotted path into nested dicts, creating the dicts it needs."""
    parts = path.split(".")
    node = state
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = copy_tree(value)


def same_value(a: Any, b: Any) -> bool:
    """Equal as JSON values, a null member of an object counting as absent."""
    if isinstance(a, dict) and isinstance(b, dict):
        return all(same_value(a.get(k), b.get(k)) for k in a.keys() | b.keys())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def withdraw_corrections(corrections: list[dict[str, Any]], originals: dict[str, Any],
                         report: str) -> tuple[list[dict[str, Any]], list[tuple[str, Any]]]:
    """What retracting `report` does to corrected fields: (the corrections still live,
    [(path, value)] to write, in order).

    `corrections` are the live corrections in the order recorded (each with `field`,
    `value` and `report`); `originals` holds, per path, its value before its first
    correction, in the order of first corrections. Every corrected path is set back to
    what it held before any correction, then the live corrections apply again in order:
    a field the report corrected returns to the value the live reports give it (the one
    before, or a later live correction's), whatever was corrected since. Nothing changes
    when the report corrected nothing. Shared by the aggregates, whose state the next
    reports are checked against, and the views, so that both agree."""
    kept = [c for c in corrections if c["report"] != report]
    if len(kept) == len(corrections):
        return corrections, []
    scratch: dict[str, Any] = {}
    for path in reversed(list(originals)):
        set_path(scratch, path, originals[path])
    for c in kept:
        set_path(scratch, c["field"], c["value"])
    return kept, [(path, get_path(scratch, path)) for path in originals]


class Revisable:
    """The deciding half of corrections and retractions, shared by the aggregates.

    Each aggregate keeps its own `@event` methods (`_corrected`, `_retracted`,
    `_report_retracted`), so every event class keeps its own name and stored topic.
    """

    details: dict[str, Any]
    retracted: str | None
    retracted_reports: set[str]

    def _current(self, field: str) -> Any:
        return get_path(self.details, field)

    def _note_correction(self, field: str, previous: Any, value: Any, report: str) -> None:
        """Keeps what a correction changed, so that retracting its report undoes it
        (`_withdraw_corrections`)."""
        state = self.__dict__
        state.setdefault("_originals", {}).setdefault(field, copy_tree(previous))
        state.setdefault("_corrections", []).append(
            {"field": field, "value": copy_tree(value), "report": report})

    def _withdraw_corrections(self, report: str) -> None:
        """The fields `report` corrected return to what the live reports give them."""
        corrections = self.__dict__.get("_corrections")
        if not corrections:
            return
        kept, changes = withdraw_corrections(corrections, self.__dict__["_originals"], report)
        if changes:
            self.__dict__["_corrections"] = kept
            for path, value in changes:
                self._set_field(path, value)

    def _set_field(self, field: str, value: Any) -> None:
        set_path(self.details, field, value)

    def correct(self, field: str, value: Any, reason: str, provenance: dict[str, Any]) -> None:
        """Records the new value of a field with the old one, unless it is unchanged."""
        previous = self._current(field)
        if previous != value:
            self._corrected(  # type: ignore[attr-defined]
                field=field, previous=previous, value=value, reason=reason,
                provenance=provenance)

    def retract(self, reason: str, provenance: dict[str, Any]) -> None:
        """The entity stops counting; retracting twice records once."""
        if self.retracted is None:
            self._retracted(reason=reason, provenance=provenance)  # type: ignore[attr-defined]

    def retract_report(self, report: str, reason: str, provenance: dict[str, Any]) -> None:
        """The facts a retracted report gave this entity stop counting."""
        if report not in self.retracted_reports:
            self._report_retracted(  # type: ignore[attr-defined]
                report=report, reason=reason, provenance=provenance)
