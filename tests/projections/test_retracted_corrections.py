"""Retracting a report withdraws its corrections (docs/report-format.md, "retraction"): each
field it corrected returns to what the live reports give it — the value before, or a later
live correction's — in the views (now and as of any moment, and after a rebuild), in the
aggregates the next reports are checked against, and in a citation's offline check. On
SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from api.citations import cite
from api.services import Services
from projections.readmodel.queries import open_views
from projections.readmodel.store import ReadModelStore
from projections.runner import Projector
from tracker.citation_verify import verify_citation
from tracker.config import Settings
from tracker.exceptions import ReportValidationError
from tracker.transparency import Transparency, generate_signer

DESK = {"name": "Desk", "kind": "analyst", "published": "2021-03-05"}


def registered(report_id: str = "m1") -> dict[str, Any]:
    return {"report": report_id,
            "source": {"name": "Wire", "kind": "media", "published": "2021-03-02"},
            "facts": [
                {"fact": "actor", "id": "grp", "name": "The Group", "kind": "armed_group"},
                {"fact": "actor", "id": "abu", "name": "Abu", "kind": "person"},
                {"fact": "actor", "id": "army", "name": "The Army", "kind": "state_force"},
                {"fact": "incident", "id": "x", "date": "2021-03-01", "type": "battle",
                 "location": {"name": "Tin", "country": "Mali"},
                 "actors": [{"actor": "grp", "side": "a"}]},
                {"fact": "casualties", "incident": "x", "killed": 3},
                {"fact": "operation", "id": "op", "name": "Op", "lead": "army",
                 "started": "2021-01-01"}]}


def correcting(report_id: str, target: dict[str, str], field: str, value: Any
               ) -> dict[str, Any]:
    return {"report": report_id, "source": DESK,
            "facts": [{"fact": "correction", "target": target, "field": field,
                       "value": value, "reason": "checked"}]}


def retracting(report_id: str, target: str) -> dict[str, Any]:
    return {"report": report_id, "source": DESK,
            "facts": [{"fact": "retraction", "target": {"report": target},
                       "reason": "the correction was wrong"}]}


def moment() -> datetime:
    time.sleep(0.01)
    when = datetime.now(UTC)
    time.sleep(0.01)
    return when


def admin1_rows(store: ReadModelStore, as_of: datetime | None = None) -> dict[str, int]:
    with open_views(store, as_of) as views:
        return {r["key"]: r["killed"]["best"] for r in views.casualties("admin1")["rows"]}


def incident(store: ReadModelStore, as_of: datetime | None = None) -> dict[str, Any]:
    with open_views(store, as_of) as views:
        return views.incident("x")


@pytest.fixture
def world(database_url, make_tracker):
    tracker = make_tracker(database_url)
    store = ReadModelStore(Settings(database_url=database_url).read_model_url())
    runner = Projector(tracker, store)
    tracker.record_report(registered())
    runner.catch_up()
    yield tracker, store, runner
    store.close()


def test_a_retracted_correction_of_an_incident_is_undone_and_a_later_live_one_stays(world):
    tracker, store, runner = world
    x = {"incident": "x"}
    for report in (correcting("c1", x, "location.admin1", "Gao"),
                   correcting("c2", x, "date", "2021-03-02"),
                   correcting("c3", x, "location.admin1", "Menaka")):
        tracker.record_report(report)
    runner.catch_up()
    assert admin1_rows(store) == {"Mali / Menaka": 3}
    before_c3 = moment()
    tracker.record_report(retracting("r3", "c3"))
    runner.catch_up()
    # c3 withdrawn: c1's value, still live, is back.
    assert admin1_rows(store) == {"Mali / Gao": 3}
    assert admin1_rows(store, before_c3) == {"Mali / Menaka": 3}
    before_c1 = moment()
    tracker.record_report(retracting("r1", "c1"))
    runner.catch_up()
    shown = incident(store)
    assert shown["location"].get("admin1") is None and shown["date"] == "2021-03-02"
    assert [c["report"] for c in shown["corrections"]] == ["c2"]
    assert incident(store, before_c1)["location"]["admin1"] == "Gao"
    # The aggregate agrees: a new correction starts from the value the views show.
    assert tracker.get_entity("incident", "x")["details"]["location"].get("admin1") is None
    tracker.record_report(correcting("c4", x, "location.admin1", "Kidal"))
    history = tracker.get_history("incident", "x")
    (last,) = [e["payload"] for e in history
               if e["payload"].get("field") == "location.admin1"][-1:]
    assert last["previous"] is None and last["value"] == "Kidal", last
    runner.catch_up()
    assert runner.verify() == []
    runner.rebuild()
    assert incident(store)["location"]["admin1"] == "Kidal"


def test_retracting_an_earlier_correction_keeps_a_later_live_one(world):
    tracker, store, runner = world
    x = {"incident": "x"}
    tracker.record_report(correcting("c1", x, "location.admin1", "Gao"))
    tracker.record_report({**correcting("c2", x, "location.admin1", "Menaka"), "facts": [
        *correcting("c2", x, "location.admin1", "Menaka")["facts"],
        *correcting("c2", x, "location.latitude", 16.1)["facts"],
        *correcting("c2", x, "location.longitude", 1.9)["facts"]]})
    tracker.record_report(retracting("r1", "c1"))
    runner.catch_up()
    # c2 came after c1 and stays: c1's retraction changes nothing that shows.
    assert incident(store)["location"]["admin1"] == "Menaka"
    tracker.record_report(retracting("r2", "c2"))
    runner.catch_up()
    # Every field c2 corrected goes back, together.
    assert incident(store)["location"] == {"name": "Tin", "country": "Mali", "admin1": None,
                                           "latitude": None, "longitude": None}
    assert runner.verify() == []


def test_a_retracted_correction_of_an_actors_kind_lets_the_next_report_use_the_kind_before(
        world):
    tracker, store, runner = world
    tracker.record_report(correcting("k1", {"actor": "abu"}, "kind", "armed_group"))
    runner.catch_up()
    death = {"report": "d1", "source": DESK,
             "facts": [{"fact": "death", "person": "abu", "date": "2021-03-04"}]}
    with pytest.raises(ReportValidationError, match="not a person"):
        tracker.record_report(death)
    tracker.record_report(retracting("rk", "k1"))
    runner.catch_up()
    with open_views(store) as views:
        assert views.actor("abu")["kind"] == "person"
    assert tracker.record_report(death).recorded
    runner.catch_up()
    assert runner.verify() == []


def test_a_retracted_correction_of_an_operation_is_undone(world):
    tracker, store, runner = world
    tracker.record_report(correcting("o1", {"operation": "op"}, "name", "Operation Dune"))
    runner.catch_up()
    with open_views(store) as views:
        assert views.operations("op")["name"] == "Operation Dune"
    tracker.record_report(retracting("ro", "o1"))
    runner.catch_up()
    with open_views(store) as views:
        assert views.operations("op")["name"] == "Op"
    assert tracker.get_entity("operation", "op")["details"]["name"] == "Op"
    assert runner.verify() == []


def test_a_citation_of_a_region_after_a_withdrawn_correction_verifies(database_url):
    services = Services.from_settings(Settings(database_url=database_url, inline=True))
    try:
        x = {"incident": "x"}
        for report in (registered(), correcting("c1", x, "location.admin1", "Gao"),
                       correcting("c2", x, "location.admin1", "Menaka"),
                       retracting("r2", "c2")):
            services.record_report(report, "test")
        signer = generate_signer("tracker.test")
        Transparency(services.tracker.recorder).checkpoint(signer)
        citation = cite(services, {"view": "casualties", "by": "admin1", "key": "Mali / Gao"})
        (row,) = citation["answer"]["rows"]
        assert row["killed"]["best"] == 3
        result = verify_citation(json.loads(json.dumps(citation)), signer.verifier_key)
        assert result.ok, result.failures
    finally:
        services.close()
