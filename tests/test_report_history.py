"""A report's history (/history/report/{id}, `tracker history report ID`): its own events,
every event it recorded on other records, and, once retracted, the events that withdrew
them; read from the report's place in the log, never by scanning the log. On SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Any

import pytest
from click.testing import CliRunner

from api import create_app
from api.cli import main
from tests.api.conftest import OneErrorShapeClient
from tests.conftest import base_report
from tracker.audit import MAX_EVENTS_PAGE

DESK = {"name": "Desk", "kind": "analyst"}


def figure(report: str, killed: int) -> dict[str, Any]:
    """Another source's figure for the incident base_report records."""
    return {"report": report, "source": {"name": f"Paper {report}", "kind": "media"},
            "facts": [{"fact": "casualties", "incident": "niaki", "actor": "jnim",
                       "killed": killed}]}


def retraction(report: str, *targets: str) -> dict[str, Any]:
    return {"report": report, "source": DESK, "facts": [
        {"fact": "retraction", "target": {"report": t}, "reason": "wrong"} for t in targets]}


@pytest.fixture
def app(database_url: str) -> Any:
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "REDIS_URL": None})
    app.test_client_class = OneErrorShapeClient
    yield app
    app.extensions["tracker"].close()


def the_log(tracker: Any) -> list[dict[str, Any]]:
    return tracker.list_events(after=0, limit=MAX_EVENTS_PAGE)["events"]


def by_report(log: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """What a report's history should list, found the slow way (every event of the log):
    the events it recorded, and those that withdrew its facts from other records."""
    return [e for e in log if e["provenance"].get("report") == key
            or (e["entity"]["kind"] == "report" and e["entity"]["id"] == key)
            or (e["type"].endswith("ReportRetracted") and e["payload"].get("report") == key)]


def test_a_reports_history_lists_what_it_did_to_other_records_and_its_withdrawal(
        app, monkeypatch):
    tracker = app.extensions["tracker"].tracker
    first = tracker.record_report(base_report())
    tracker.issue_token("someone", "reader")  # the administration writes in between
    tracker.record_report(figure("r-two", 28))
    tracker.record_report(figure("r-three", 31))
    # One retraction of two reports that both gave the incident a figure: the incident is
    # touched once, for r-three first, so its event withdrawing r-two's figure comes
    # before r-two's ReportRetracted in the retraction's save.
    undo = tracker.record_report(retraction("r-undo", "r-three", "r-two"))
    tracker.record_report(figure("r-four", 30))
    log = the_log(tracker)
    client = app.test_client()

    base = client.get("/api/v1/history/report/r-base").json
    assert [e["position"] for e in base["events"]] == first.positions
    assert [(e["type"], e["entity"]["kind"], e["entity"]["id"]) for e in base["events"]] == [
        ("ReportRecorded", "report", "r-base"), ("ActorRegistered", "actor", "jnim"),
        ("ActorRegistered", "actor", "france"), ("IncidentReported", "incident", "niaki"),
        ("CasualtiesReported", "incident", "niaki")]
    two = client.get("/api/v1/history/report/r-two").json["events"]
    assert two == by_report(log, "r-two")
    assert [e["type"] for e in two] == ["ReportRecorded", "CasualtiesReported",
                                        "IncidentReportRetracted", "ReportRetracted"]
    assert [e["provenance"]["report"] for e in two] == ["r-two", "r-two", "r-undo", "r-undo"]
    assert two[2]["payload"] == {"report": "r-two", "reason": "wrong"}
    three = client.get("/api/v1/history/report/r-three").json["events"]
    assert three == by_report(log, "r-three")
    assert [e["type"] for e in three] == ["ReportRecorded", "CasualtiesReported",
                                          "ReportRetracted", "IncidentReportRetracted"]
    # The retraction's own history: everything its save recorded.
    assert client.get("/api/v1/history/report/r-undo").json["events"] == [
        e for e in log if e["position"] in undo.positions]
    for key in ("r-base", "r-two", "r-three", "r-undo", "r-four"):
        assert tracker.get_history("report", key) == by_report(log, key), key

    # As of before the retraction: what the report recorded, not yet its withdrawal.
    before = datetime.fromisoformat(
        [e for e in log if e["position"] < undo.positions[0]][-1]["recorded"])
    assert tracker.get_history("report", "r-two", as_of=before) == two[:2]

    # On the command line, the events on other records name them.
    monkeypatch.setenv("TRACKER_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    runner = CliRunner()
    out = runner.invoke(main, ["history", "report", "r-two"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert len(lines) == 4 and "  ReportRecorded  [r-two]" in lines[0]
    assert ("  CasualtiesReported  incident/niaki  killed 28 by Paper r-two, of jnim  "
            "[r-two]") in lines[1]
    assert ("  IncidentReportRetracted  incident/niaki  report r-two withdrawn (wrong)  "
            "[r-undo]") in lines[2]
    assert "  ReportRetracted  report r-two retracted (wrong)  [r-undo]" in lines[3]
    as_json = json.loads(runner.invoke(main, ["history", "report", "r-two", "--json"]).output)
    assert as_json == {"kind": "report", "id": "r-two", "events": two, "next": None}


def test_a_reports_history_reads_its_own_place_in_the_log_not_the_log(app):
    tracker = app.extensions["tracker"].tracker
    tracker.record_report(base_report())
    for n in range(120):  # a log many times the report's size after it
        tracker.record_report(figure(f"later-{n}", n))
    recorder = tracker.recorder
    read: list[int] = []
    select = recorder.select_notifications

    def counting(*args: Any, **kwargs: Any) -> Any:
        found = select(*args, **kwargs)
        read.append(len(found))
        return found

    recorder.select_notifications = counting
    try:
        history = tracker.get_history("report", "r-base")
        assert len(history) == 5
        assert sum(read) <= 64 < tracker.max_position() / 3, read
        read.clear()
        # The last report of the log: its save ends where the log does.
        assert len(tracker.get_history("report", "later-119")) == 2
        assert sum(read) <= 1, read
    finally:
        recorder.select_notifications = select


def test_reports_recorded_at_once_each_have_exactly_their_own_history(app):
    """Writers at the same time: each report's save still holds consecutive positions, so
    each history is exactly its report's events."""
    tracker = app.extensions["tracker"].tracker
    tracker.record_report(base_report())
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(6):  # records of their own: no writer waits for another
                tracker.record_report({"report": f"w{n}-{i}", "source": DESK, "facts": [
                    {"fact": "incident", "id": f"w{n}-{i}", "date": "2020-11-12",
                     "type": "battle", "location": {"name": "Niaki", "country": "Mali"}},
                    {"fact": "casualties", "incident": f"w{n}-{i}", "killed": i}]})
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    tracker.record_report(retraction("undo", "w0-0", "w3-5"))
    log = the_log(tracker)
    for key in [f"w{n}-{i}" for n in range(4) for i in range(6)]:
        assert tracker.get_history("report", key) == by_report(log, key), key


def test_a_history_is_paged_and_a_page_of_a_big_report_reads_the_page(app, monkeypatch):
    """/history takes `after` and `limit` and answers `next`: the pages together are the
    whole history, in order, each event once; a page of a report's history reads about
    the page's events from its place in the log, not the whole report."""
    tracker = app.extensions["tracker"].tracker
    facts = [{"fact": "incident", "id": f"p{i}", "date": "2021-01-01", "type": "battle",
              "location": {"name": "X", "country": "Mali"}} for i in range(600)]
    tracker.record_report({"report": "big", "source": {"name": "Paper", "kind": "media"},
                           "facts": facts})
    client = app.test_client()
    whole = client.get("/api/v1/history/report/big").json
    assert len(whole["events"]) == 601 and whole["next"] is None
    pages, after = [], 0
    read = []
    real = tracker.recorder.select_notifications

    def counting(*args, **kwargs):
        got = real(*args, **kwargs)
        read.append(len(got))
        return got

    monkeypatch.setattr(tracker.recorder, "select_notifications", counting)
    while True:
        page = client.get(f"/api/v1/history/report/big?after={after}&limit=50").json
        assert len(page["events"]) <= 50
        pages += page["events"]
        if page["next"] is None:
            break
        assert page["next"] == page["events"][-1]["position"]
        after = page["next"]
    assert pages == whole["events"]
    # 13 pages: each reads about itself (from `after`, a batch at a time), not the report
    # (13 x 601 events).
    assert sum(read) < 3 * 601, read
    for bad in ("limit=0", "limit=10001", "after=-1", "after=9223372036854775808",
                "limit=x"):
        refused = client.get(f"/api/v1/history/report/big?{bad}")
        assert refused.status_code == 422, bad
        assert bad.split("=")[0] in refused.json["message"], refused.json
    # At the limits: the largest page, and a page past the end (empty, no next).
    assert len(client.get("/api/v1/history/report/big?limit=10000").json["events"]) == 601
    last = whole["events"][-1]["position"]
    past = client.get(f"/api/v1/history/report/big?after={last}").json
    assert past["events"] == [] and past["next"] is None
