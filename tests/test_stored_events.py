"""Events are forever: the seed's events as stored on day one must still load.

tests/fixtures/seed_stored_events_v1.json holds them byte for byte. Renaming or moving an
event class, or changing its fields, breaks these tests unless the change comes with
`register_topic(old, new)` or a `class_version` and `upcast_vN_vM`.
"""

import json
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

FIXTURE = Path(__file__).parent / "fixtures" / "seed_stored_events_v1.json"


@pytest.fixture
def stored() -> list[dict]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))["events"]


@pytest.fixture
def tracker_with_old_events(sqlite_tracker, stored):
    sqlite_tracker.recorder.insert_events([
        StoredEvent(originator_id=UUID(e["originator_id"]),
                    originator_version=e["originator_version"],
                    topic=e["topic"], state=e["state"].encode()) for e in stored])
    return sqlite_tracker


def test_every_stored_topic_still_resolves(stored):
    for topic in {e["topic"] for e in stored}:
        assert resolve_topic(topic)


def test_the_fixture_covers_every_event_class_of_the_domain(stored):
    from eventsourcing.domain import CanMutateAggregate

    from tracker.application import AGGREGATES
    from tracker.domain.token import Token

    defined = {f"{cls.__module__}:{cls.__qualname__}.{name}"
               for cls in [*AGGREGATES.values(), Token] for name, value in vars(cls).items()
               if isinstance(value, type) and issubclass(value, CanMutateAggregate)
               and name not in ("Event", "Created")}
    assert defined - {e["topic"] for e in stored} == set()


def test_every_stored_event_still_decodes(tracker_with_old_events, stored):
    decoded = list(tracker_with_old_events.iter_events())
    assert len(decoded) == len(stored)
    assert {type(e).__name__ for _, e in decoded} >= {
        "ReportRecorded", "ActorRegistered", "IncidentReported", "CasualtiesReported",
        "DeathReported", "RoleEnded", "IncidentCorrected", "ActorCorrected"}


def test_the_old_events_rebuild_the_same_entities(tracker_with_old_events):
    t = tracker_with_old_events
    moussa = t.get_entity("actor", "bah-ag-moussa")
    assert moussa["fate"]["fate"] == "death"
    assert str(moussa["fate"]["date"]) == "2020-11-13"
    assert moussa["roles"] == {}
    assert str(t.get_entity("incident", "niaki-battle-2020-11")["details"]["date"]) == "2020-11-13"
    assert t.get_entity("actor", "soumaila-cisse")["details"]["title"] == (
        "Leader of the opposition in Mali")
    assert t.get_entity("operation", "takuba")["details"]["partners"] == [
        "estonia", "mali-armed-forces"]
    assert t.get_entity("operation", "barkhane")["details"]["status"] == "concluded"
    assert t.get_entity("actor", "fixture-person")["fate"]["fate"] == "release"
    assert t.get_entity("incident", "menaka-raid-2020-11")["figures"] == {}
    assert t.get_entity("report", "fr-military-spokesman-2020-11-13")["retracted"]
    assert t.list_tokens() == [{"name": "fixture-token", "role": "reporter",
                                "revoked": "fixture", "issued": t.list_tokens()[0]["issued"]}]
