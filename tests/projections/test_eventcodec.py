"""The orjson transcoder writes and reads the library's JSON event format: a store written by
either transcoder is read by the other, value for value."""

import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from api.services import build_tracker
from projections.eventcodec import OrjsonTranscoder
from tests.conftest import base_report
from tracker.application import ConflictTracker
from tracker.config import Settings
from tracker.transcodings import DateAsISO

FIXTURES = Path(__file__).parents[1] / "fixtures"


def registered(transcoder):
    for t in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(t)
    return transcoder


LIBRARY = registered(JSONTranscoder())
FAST = registered(OrjsonTranscoder())


@pytest.mark.parametrize("fixture", ["seed_stored_events_v1.json", "seed_stored_events_v2.json"])
def test_every_stored_fixture_event_reads_and_writes_the_same(fixture):
    events = json.loads((FIXTURES / fixture).read_text(encoding="utf-8"))["events"]
    for e in events:
        stored = e["state"].encode()
        state = LIBRARY.decode(stored)
        assert FAST.decode(stored) == state, e["topic"]
        # Written again, byte for byte what the library writes.
        assert FAST.encode(state) == LIBRARY.encode(state), e["topic"]


scalars = (st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text()
           | st.dates() | st.datetimes(timezones=st.just(UTC)))
trees = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.dictionaries(st.text(max_size=8), trees, max_size=6))
def test_each_reads_what_the_other_writes(state):
    assert LIBRARY.decode(FAST.encode(state)) == state
    assert FAST.decode(LIBRARY.encode(state)) == state


def test_what_orjson_cannot_write_is_written_by_the_library():
    # Integers beyond 64 bits, non-string keys, Decimal (a registered transcoding).
    state = {"big": 2**70, "keys": {1: "one"}, "amount": Decimal("1.10")}
    assert FAST.encode(state) == LIBRARY.encode(state)
    assert FAST.decode(FAST.encode(state)) == {"big": 2**70, "keys": {"1": "one"},
                                               "amount": Decimal("1.10")}


def test_what_orjson_cannot_read_is_read_by_the_library():
    stored = LIBRARY.encode({"x": float("nan")})  # the library writes NaN; JSON has none
    assert math.isnan(FAST.decode(stored)["x"])


def test_an_unregistered_type_is_refused_by_name():
    with pytest.raises(TranscodingNotRegisteredError, match="mystery"):
        FAST.decode(b'{"a":{"_type_":"mystery","_data_":1}}')
    with pytest.raises(TypeError):
        FAST.encode({"a": object()})


def test_typed_values_are_revived_however_deep():
    state = {"timestamp": datetime(2020, 11, 13, tzinfo=UTC),
             "details": {"date": date(2020, 11, 12), "nested": [[{"d": date(2020, 1, 1)}]]}}
    assert FAST.decode(LIBRARY.encode(state)) == state
    # A string that merely reads "_type_" is left alone.
    odd = {"timestamp": datetime(2020, 11, 13, tzinfo=UTC), "note": "_type_"}
    assert FAST.decode(LIBRARY.encode(odd)) == odd


def test_a_store_written_by_either_transcoder_is_read_by_the_other(tmp_path):
    url = f"sqlite:///{tmp_path}/events.sqlite"
    plain = ConflictTracker.from_settings(Settings(database_url=url))
    plain.record_report(base_report())
    fast = build_tracker(Settings(database_url=url))
    assert isinstance(fast.mapper.transcoder, OrjsonTranscoder)
    report = base_report()
    report["report"] = "r-fast"
    report["facts"] = [{"fact": "casualties", "incident": "niaki", "killed": 31}]
    fast.record_report(report)
    for reader in (plain, fast):
        history = reader.get_history("incident", "niaki")
        assert [h["type"] for h in history] == ["IncidentReported", "CasualtiesReported",
                                                "CasualtiesReported"]
        assert reader.verify().ok
    assert plain.get_entity("incident", "niaki") == fast.get_entity(
        "incident", "niaki")
    plain.close()
    fast.close()
