"""Events are forever: events as stored by earlier versions of the code must still load.

tests/fixtures/seed_stored_events_v*.json hold them byte for byte. Renaming or moving an
event class, or changing its fields, breaks these tests unless the change comes with
`register_topic(old, new)` or a `class_version` and `upcast_vN_vM`.

v1 was written by the first version, whose aggregates shared dicts with their events: a
registration stored in the same save as later facts about the entity carried those facts
too (JNIM's ActorRegistered holds its affiliation). No store outside the tests was written
by it; v1 stays to prove such events still load. v2 is what the fixed code stores. v3 adds
the analysts' assessment (AssessmentRecorded), the evidence model's new event. v4 adds a
revoked token's name issued again (TokenReissued). v5 adds identity links (LinkOpened,
IdentityAsserted, LinkReportRetracted) and a quarantine decision (QuarantineOpened,
EventsQuarantined).
"""

import json
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

FIXTURES = Path(__file__).parent / "fixtures"


VERSIONS = ["seed_stored_events_v1.json", "seed_stored_events_v2.json",
            "seed_stored_events_v3.json", "seed_stored_events_v4.json",
            "seed_stored_events_v5.json"]


@pytest.fixture(params=VERSIONS)
def stored(request) -> list[dict]:
    return json.loads((FIXTURES / request.param).read_text(encoding="utf-8"))["events"]


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


def test_the_newest_fixture_covers_every_event_class_of_the_domain():
    # A new event class needs a new fixture (tests/fixtures/make_stored_events.py), which
    # then keeps loading for ever beside the older ones.
    from eventsourcing.domain import CanMutateAggregate

    stored = json.loads((FIXTURES / VERSIONS[-1]).read_text(encoding="utf-8"))["events"]

    from tracker.application import AGGREGATES
    from tracker.domain.quarantine import Quarantine
    from tracker.domain.token import Token

    defined = {f"{cls.__module__}:{cls.__qualname__}.{name}"
               for cls in [*AGGREGATES.values(), Token, Quarantine]
               for name, value in vars(cls).items()
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


def test_v2_registrations_hold_only_what_was_first_reported(sqlite_tracker):
    events = json.loads((FIXTURES / "seed_stored_events_v2.json").read_text())["events"]
    sqlite_tracker.recorder.insert_events([
        StoredEvent(originator_id=UUID(e["originator_id"]),
                    originator_version=e["originator_version"],
                    topic=e["topic"], state=e["state"].encode()) for e in events])
    jnim = sqlite_tracker.get_history("actor", "jnim")
    assert "affiliations" not in jnim[0]["payload"]["details"]
    assert sqlite_tracker.get_entity("actor", "jnim")["details"]["affiliations"] == [
        {"parent": "al-qaeda", "relation": "branch_of", "since": None}]
    ghali = sqlite_tracker.get_entity("actor", "iyad-ag-ghali")["details"]
    assert [s["authority"] for s in ghali["sanctions"]] == ["United States", "United Nations"]
