"""`tracker link suggest` and `tracker link accept`: candidates as JSON and CSV (the API's
own), accepting them as one idempotent report, accepting a reviewed file with rows removed,
and clear errors for a file that is not a suggest output."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from api.cli import main
from bench.synthetic_links import two_sources
from tests.linking_world import ACLED_JNIM, DESK, JNIM_ACLED, djibo_reports, link_actor


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'events.sqlite'}")
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    syn = two_sources(40, seed=3)
    for n, report in enumerate(syn.reports):
        path = tmp_path / f"r{n}.json"
        path.write_text(json.dumps(report))
        assert invoke("report", str(path)).exit_code == 0
    invoke.syn = syn  # type: ignore[attr-defined]
    return invoke


def incidents(cli) -> int:
    out = cli("query", "casualties", "--by", "country", "--json")
    return sum(r["incidents"] for r in json.loads(out.output)["rows"])


def test_suggest_prints_the_candidates_as_json_and_csv(cli):
    out = cli("link", "suggest", "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["method"] == "tracker-link-suggest/1 days=1 km=25 min_score=0.7"
    pairs = {frozenset((c["incident"], c["other"])) for c in data["candidates"]}
    assert len(pairs & cli.syn.true_pairs) >= 0.9 * len(cli.syn.true_pairs)
    rows = list(csv.DictReader(io.StringIO(cli("link", "suggest", "--csv").output)))
    assert [(r["incident"], r["other"], float(r["score"])) for r in rows] == \
        [(c["incident"], c["other"], c["score"]) for c in data["candidates"]]
    assert list(rows[0]) == ["incident", "other", "score", "days", "km", "type", "actors",
                             "killed", "margin"]
    narrow = json.loads(cli("link", "suggest", "--min-score", "0.95", "--days", "0",
                            "--km", "5", "--json").output)
    assert narrow["parameters"] == {"days": 0, "km": 5.0, "min_score": 0.95}
    assert len(narrow["candidates"]) < len(data["candidates"])


def test_suggest_accept_records_one_report_once(cli):
    before = incidents(cli)
    found = json.loads(cli("link", "suggest", "--json").output)["candidates"]
    out = cli("link", "suggest", "--accept")
    assert len(found) > 1
    assert out.exit_code == 0 and f"{len(found)} same_incident links" in out.output
    assert incidents(cli) == before - len(found)
    again = cli("link", "suggest", "--accept", "--min-score", "0.7")
    assert "no candidates to accept" in again.output  # linked records are one row now
    log = json.loads(cli("log", "--limit", "10000", "--json").output)["events"]
    reports = {e["provenance"]["report"] for e in log if e["type"] == "IdentityAsserted"}
    assert len(reports) == 1
    history = json.loads(cli("history", "report", reports.pop(), "--json").output)
    assert history["events"][0]["provenance"]["source"]["kind"] == "analyst"


def test_a_pair_has_a_history_of_its_own_on_the_command_line_and_the_api(cli, tmp_path):
    """docs/linking.md, "A link's history": `tracker history link 'incident:A|B'` and
    /history/link/… show the reports that linked the pair, then its undoing."""
    found = json.loads(cli("link", "suggest", "--json").output)["candidates"][0]
    a, b = sorted((found["incident"], found["other"]))
    out = cli("link", "suggest", "--accept")
    report = json.loads(cli("log", "--limit", "10000", "--json").output)["events"][-1][
        "provenance"]["report"]
    undo = tmp_path / "undo.json"
    undo.write_text(json.dumps({"report": "undo-1", "source": {"name": "Desk",
                                                               "kind": "analyst"},
                                "facts": [{"fact": "retraction", "target": {"report": report},
                                           "reason": "checked"}]}))
    assert out.exit_code == 0 and cli("report", str(undo)).exit_code == 0
    shown = json.loads(cli("history", "link", f"incident:{a}|{b}", "--json").output)
    types = [e["type"] for e in shown["events"]]
    assert types[:2] == ["LinkOpened", "IdentityAsserted"] and types[-1] == "LinkReportRetracted"
    assert shown["events"][1]["provenance"]["report"] == report
    assert shown["events"][-1]["provenance"]["report"] == "undo-1"
    text = cli("history", "link", f"incident:{b}|{a}").output  # either order: the same pair
    assert "IdentityAsserted" in text

    import os

    from api import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": os.environ["TRACKER_DATABASE_URL"],
                      "REDIS_URL": None})
    try:
        api = app.test_client().get(f"/api/v1/history/link/incident:{a}%7C{b}")
        assert api.status_code == 200
        assert [e["type"] for e in api.json["events"]] == types
    finally:
        app.extensions["tracker"].close()


def test_accept_records_a_reviewed_file_without_the_rows_removed(cli, tmp_path):
    before = incidents(cli)
    text = cli("link", "suggest", "--csv").output
    lines = text.splitlines()
    kept = [lines[0], *lines[1:4]]  # the analyst kept three pairs
    reviewed = tmp_path / "reviewed.csv"
    reviewed.write_text("\n".join(kept) + "\n")
    out = cli("link", "accept", str(reviewed))
    assert out.exit_code == 0 and "recorded: 3 same_incident links" in out.output
    assert incidents(cli) == before - 3
    assert "already recorded; nothing new" in cli("link", "accept", str(reviewed)).output
    left = json.loads(cli("link", "suggest", "--json").output)["candidates"]
    assert len(left) == len(lines) - 4
    as_json = tmp_path / "rest.json"
    as_json.write_text(json.dumps({"method": "m", "candidates": left[:1]}))
    out = cli("link", "accept", str(as_json), "--json")
    assert json.loads(out.output)["links"] == 1 and incidents(cli) == before - 4


@pytest.mark.parametrize("content, message", [
    ("not,a,suggest\n1,2,3\n", "the CSV header lacks incident, other"),
    ('{"candidates": [{"incident": "a:1"}]}', "'incident' and 'other' must both be"),
    ('{"candidates": [{"incident": "a:1", "other": "b:1", "score": 7}]}', "not within 0..1"),
    ('{"rows": []}', "needs a 'candidates' list"),
    ("{nope", "not valid JSON"),
    ('{"candidates": [{"incident": "a:1", "other": "nobody"}]}', "nobody"),
])
def test_accept_refuses_a_file_that_is_not_a_suggest_output(cli, tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    out = CliRunner().invoke(main, ["link", "accept", str(bad)])
    assert out.exit_code == 1 and message in out.output and "Traceback" not in out.output


def test_query_operations_by_an_actor_linked_by_same_actor(cli, tmp_path):
    desk = {"name": "Desk", "kind": "analyst"}
    ops = tmp_path / "ops.json"
    ops.write_text(json.dumps({"report": "ops", "source": desk, "facts": [
        {"fact": "actor", "id": "desk-jnim", "name": "Desk JNIM", "kind": "armed_group"},
        {"fact": "actor", "id": "acled-jnim", "name": "Desk JNIM: Group for Support",
         "kind": "armed_group"},
        {"fact": "operation", "id": "op", "name": "Op", "lead": "france-x",
         "partners": ["acled-jnim"]},
        {"fact": "actor", "id": "france-x", "name": "France", "kind": "state_force"}]}))
    assert cli("report", str(ops)).exit_code == 0
    found = json.loads(cli("query", "operations", "--actor", "desk jnim", "--json").output)
    assert found["operations"] == []
    link = tmp_path / "link.json"
    link.write_text(json.dumps({"report": "link", "source": desk, "facts": [
        {"fact": "same_actor", "actor": "desk-jnim", "same_as": "acled-jnim"}]}))
    assert cli("report", str(link)).exit_code == 0
    [op] = json.loads(cli("query", "operations", "--actor", "desk jnim", "--json").output)[
        "operations"]
    assert op["partners"] == ["desk-jnim"]
    out = CliRunner().invoke(main, ["query", "operations", "--actor", "nobody"])
    assert out.exit_code == 1 and "unknown actor 'nobody'" in out.output


@pytest.fixture
def djibo(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`tracker` over the raid near Djibo (tests.linking_world), on SQLite and PostgreSQL:
    `djibo(*args)` runs a command, `djibo.report(report)` records one."""
    monkeypatch.setenv("TRACKER_DATABASE_URL", database_url)
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(main, list(args))

    def report(data: dict[str, Any]) -> Any:
        path = tmp_path / f"{data['report']}.json"
        path.write_text(json.dumps(data))
        out = invoke("report", str(path))
        assert out.exit_code == 0, out.output
        return out

    invoke.report = report  # type: ignore[attr-defined]
    for data in djibo_reports():
        report(data)
    return invoke


BFA = ("--country", "Burkina Faso", "--min-score", "0.3")


def test_suggest_by_actor_finds_the_records_of_its_linked_actors(djibo: Any) -> None:
    def pairs(*args: str) -> set[frozenset[str]]:
        out = djibo("link", "suggest", *BFA, *args, "--json")
        assert out.exit_code == 0, out.output
        return {frozenset((c["incident"], c["other"]))
                for c in json.loads(out.output)["candidates"]}

    everything = pairs()
    assert len(everything) == 3
    djibo.report(link_actor("same_actor", "jnim", ACLED_JNIM, JNIM_ACLED))
    assert pairs("--actor", "JNIM") == pairs("--actor", ACLED_JNIM) == everything


@pytest.mark.parametrize("option", ["--actor", "--source"])
def test_suggest_by_an_unknown_actor_or_source_fails_as_query_incidents_does(
        djibo: Any, option: str) -> None:
    listed = djibo("query", "incidents", option, "nobody")
    assert listed.exit_code == 1 and "nobody" in listed.output
    for fmt in ((), ("--json",), ("--csv",)):
        out = djibo("link", "suggest", *BFA, option, "nobody", *fmt)
        assert (out.exit_code, out.output) == (1, listed.output)


def members(djibo: Any) -> set[frozenset[str]]:
    out = djibo("query", "incidents", "--country", "Burkina Faso", "--json")
    return {frozenset(i["members"]) for i in json.loads(out.output)["incidents"]}


def test_the_link_commands_count_in_words_one_link_two_links(cli, tmp_path):
    """"1 same_incident link", "2 same_incident links", never "link(s)": in what accept
    prints, in the report's notes, and in suggest's count of candidates and records."""
    from api.linking import link_report

    lines = cli("link", "suggest", "--csv").output.splitlines()
    one = tmp_path / "one.csv"
    one.write_text("\n".join(lines[:2]) + "\n")
    out = cli("link", "accept", str(one))
    assert out.exit_code == 0, out.output
    assert "recorded: 1 same_incident link\n" in out.output and "(s)" not in out.output
    two = tmp_path / "two.csv"
    two.write_text("\n".join([lines[0], *lines[2:4]]) + "\n")
    out = cli("link", "accept", str(two))
    assert "recorded: 2 same_incident links\n" in out.output and "(s)" not in out.output
    pair = {"incident": "a:1", "other": "b:1", "score": 0.9}
    assert link_report([pair], None)["notes"].startswith("1 same_incident link accepted;")
    assert link_report([pair, {**pair, "other": "b:2"}], None)["notes"].startswith(
        "2 same_incident links accepted;")
    listed = cli("link", "suggest", "--min-score", "1", "--days", "0", "--km", "0.1")
    assert listed.exit_code == 0
    assert listed.output.splitlines()[-1].startswith("0 candidates among ")
    assert " 1 records" not in listed.output and "(s)" not in listed.output
    found = json.loads(cli("link", "suggest", "--json").output)["candidates"]
    listed = cli("link", "suggest")
    assert listed.output.splitlines()[-1].startswith(f"{len(found)} candidates among ")


def test_accepting_again_after_the_report_was_retracted_records_the_links_again(
        djibo: Any, tmp_path: Path) -> None:
    best = djibo("link", "suggest", *BFA, "--csv").output.splitlines()[:2]
    reviewed = tmp_path / "reviewed.csv"
    reviewed.write_text("\n".join(best) + "\n")  # the header and the best pair
    apart = members(djibo)
    first = json.loads(djibo("link", "accept", str(reviewed), "--json").output)
    assert first["recorded"] and first.get("redo_of") is None
    linked = members(djibo)
    assert len(linked) == len(apart) - 1

    def undo(report: str) -> None:
        djibo.report({"report": f"undo-{report}", "source": DESK, "facts": [
            {"fact": "retraction", "target": {"report": report}, "reason": "too hasty"}]})
        assert members(djibo) == apart

    undo(first["report"])
    # The same file again: the links are recorded again, in a new report, which says so.
    again = djibo("link", "accept", str(reviewed))
    assert again.exit_code == 0 and "recorded: 1 same_incident link again" in again.output
    assert f"report '{first['report']}' of the same pairs was retracted" in again.output
    assert members(djibo) == linked
    # ... and once more records nothing while that report is live.
    second = json.loads(djibo("link", "accept", str(reviewed), "--json").output)
    assert not second["recorded"] and second["redo_of"] == first["report"]
    assert second["report"] == f"{first['report']}-2"
    assert "live and was already recorded; nothing new" in \
        djibo("link", "accept", str(reviewed)).output
    undo(second["report"])
    third = json.loads(djibo("link", "accept", str(reviewed), "--json").output)
    assert third["recorded"] and third["redo_of"] == second["report"]
    assert third["report"] == f"{first['report']}-3" and members(djibo) == linked


def test_a_refused_pair_is_named_by_its_file_and_line_or_its_candidate_number(
        djibo: Any, tmp_path: Path) -> None:
    header = "incident,other,score"
    reviewed = tmp_path / "reviewed.csv"
    reviewed.write_text(f"{header}\nacled:1,mod:djibo,0.9\nacled:1,nobody,0.5\n")
    out = djibo("link", "accept", str(reviewed))
    assert out.exit_code == 1 and "nothing recorded" in out.output
    assert f"{reviewed}:3: 'other': unknown incident 'nobody'" in out.output
    assert "fact " not in out.output
    # A bad row the file's reader finds is named the same way.
    reviewed.write_text(f"{header}\nacled:1,mod:djibo,0.9\nacled:1,ucdp:1,high\n")
    out = djibo("link", "accept", str(reviewed))
    assert out.exit_code == 1 and f"{reviewed}:3: score 'high' is not a number" in out.output
    edited = tmp_path / "reviewed.json"
    edited.write_text(json.dumps({"candidates": [
        {"incident": "acled:1", "other": "mod:djibo"},
        {"incident": "nobody", "other": "ucdp:1"}]}))
    out = djibo("link", "accept", str(edited))
    assert out.exit_code == 1
    assert f"{edited}: candidate 2: 'incident': unknown incident 'nobody'" in out.output
    assert members(djibo) == {frozenset({k}) for k in ("acled:1", "ucdp:1", "mod:djibo")}


def test_suggest_says_when_actors_were_not_compared(djibo: Any) -> None:
    djibo.report({"report": "ngo-bfa", "source": {"name": "NGO", "kind": "ngo"}, "facts": [
        {"fact": "incident", "id": "ngo:1", "date": "2021-03-01", "type": "battle",
         "location": {"name": "Djibo", "admin1": "Sahel", "country": "Burkina Faso",
                      "latitude": 14.1, "longitude": -1.63}},
        {"fact": "casualties", "incident": "ngo:1", "killed": 12}]})
    found = json.loads(djibo("link", "suggest", *BFA, "--json").output)["candidates"]
    assert any(c["reasons"]["actors"] is None for c in found)  # ngo:1 names no actor
    out = djibo("link", "suggest", *BFA)
    assert out.exit_code == 0 and "None" not in out.output
    lines = [line for line in out.output.splitlines() if "ngo:1" in line]
    assert lines and all("actors not compared" in line for line in lines)
