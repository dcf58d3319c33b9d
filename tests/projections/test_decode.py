"""Contract test of projections.decode against eventsourcing: on every stored-event fixture
(events as earlier versions stored them), the projections' fast decode gives exactly what
the library's own mapper gives, as JSON values. It fails loudly if the library changes how
it stores or decodes events."""

import json
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import Notification

from projections.decode import UnreadableEventError, decode
from tracker.audit import to_jsonable

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize(
    "name", sorted(p.name for p in FIXTURES.glob("seed_stored_events_v*.json")))
def test_the_fast_decode_equals_the_librarys_mapper(sqlite_tracker, name):
    stored = json.loads((FIXTURES / name).read_text(encoding="utf-8"))["events"]
    notes = [Notification(id=e["position"], originator_id=UUID(e["originator_id"]),
                          originator_version=e["originator_version"], topic=e["topic"],
                          state=e["state"].encode()) for e in stored]
    fast = decode(sqlite_tracker.mapper, notes)
    assert len(fast) == len(notes) > 40
    for raw, note in zip(fast, notes, strict=True):
        event = sqlite_tracker.mapper.to_domain_event(note)
        expected = to_jsonable({k: v for k, v in vars(event).items()
                                if k not in ("originator_id", "originator_version")})
        assert (raw.position, raw.name, raw.oid) == (
            note.id, type(event).__name__, note.originator_id.hex)
        assert raw.data == expected, note.topic


def test_a_damaged_event_names_its_position(sqlite_tracker):
    note = Notification(id=42, originator_id=UUID(int=1), originator_version=1,
                        topic="tracker.domain.incident:Incident.CasualtiesReported",
                        state=b'{"timestamp": {"_type_": "datetime_iso", "_data_": "20')
    with pytest.raises(UnreadableEventError, match="position 42"):
        decode(sqlite_tracker.mapper, [note])

