"""Stored events straight to JSON-ready dicts, for the projections.

The library's mapper builds a domain event object per stored event (its decode runs at
~40k events/s); the views only need each event's class name and its fields as JSON values.
This decodes the stored JSON once with orjson and turns the library's typed values
({"_type_": "date_iso", "_data_": "2020-11-13"}) into their JSON data (ISO strings).

It relies on three things of eventsourcing 9.5's `Mapper.to_domain_event`, checked by the
contract test tests/projections/test_decode.py against the library on the stored-event
fixtures: the topic names the class (resolved through `resolve_topic`, so `register_topic`
renames apply), `class_version` in the state drives the upcasters, and the state is the
transcoder's JSON unless a cipher or compressor is configured. An event whose class has
upcasters (class_version > 1), and any store with a cipher or compressor, goes through the
library's own mapper instead, so upcasting is never bypassed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson
from eventsourcing.utils import resolve_topic

from tracker.audit import to_jsonable
from tracker.exceptions import EventUnreadableError

if TYPE_CHECKING:
    from eventsourcing.persistence import Mapper, Notification


class UnreadableEventError(EventUnreadableError):
    """Raised when the projections cannot decode a stored event; names its position."""


class RawEvent(NamedTuple):
    """One stored event as the projections see it."""

    position: int
    name: str            # the event class name, e.g. "CasualtiesReported"
    oid: str             # the aggregate id, hex
    data: dict[str, Any]  # its fields as JSON values (dates as ISO strings)


_CLASS_INFO: dict[str, tuple[str, bool]] = {}


def _class_info(topic: str) -> tuple[str, bool]:
    """(class name, needs the library's mapper) for a stored topic, cached."""
    info = _CLASS_INFO.get(topic)
    if info is None:
        cls = resolve_topic(topic)
        info = (cls.__name__, getattr(cls, "class_version", 1) > 1)
        _CLASS_INFO[topic] = info
    return info


def _plain(value: Any) -> Any:
    """Typed values ({"_type_", "_data_"}) replaced by their data, in place, innermost first."""
    t = type(value)
    if t is dict:
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return _plain(value["_data_"])
        for k, v in value.items():
            tv = type(v)
            if tv is dict or tv is list:
                value[k] = _plain(v)
        return value
    if t is list:
        for i, v in enumerate(value):
            tv = type(v)
            if tv is dict or tv is list:
                value[i] = _plain(v)
    return value


def decode(mapper: Mapper[Any], notifications: Sequence[Notification]) -> list[RawEvent]:
    """The projections' view of stored events, in order."""
    fast = mapper.cipher is None and mapper.compressor is None
    out = []
    for n in notifications:
        try:
            name, upcast = _class_info(n.topic)
            if fast and not upcast:
                state = n.state
                data = orjson.loads(state)
                if b'"_type_"' in state:
                    data = _plain(data)
            else:
                event = mapper.to_domain_event(n)
                data = to_jsonable({k: v for k, v in vars(event).items()
                                    if k not in ("originator_id", "originator_version")})
        except Exception as e:  # noqa: BLE001 - any failure is a damaged event
            raise UnreadableEventError(n.id, n.topic, f"{type(e).__name__}: {e}") from e
        oid = n.originator_id
        out.append(RawEvent(n.id, name, oid.hex if hasattr(oid, "hex") else str(oid), data))
    return out


def recorded_at(data: dict[str, Any]) -> str:
    """Knowledge time of an event (ISO, UTC): when its report was recorded."""
    prov = data.get("provenance")
    if prov and prov.get("recorded_at"):
        return str(prov["recorded_at"])
    return str(data.get("timestamp", ""))
