"""The `tracker` command, driven with click's CliRunner (flaskr's init-db test is the model)."""

import copy
import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from api.cli.common import EXIT_BROKEN_PIPE
from tests.conftest import base_report

DATASETS = Path(__file__).parent / "fixtures" / "datasets"


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'events.sqlite'}")
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


def test_seed_records_the_article_and_a_second_run_records_nothing(cli):
    first = cli("seed", "--json")
    assert first.exit_code == 0
    recorded = sum(r["events"] for r in json.loads(first.output)["reports"])
    assert recorded >= 25

    second = cli("seed")
    assert second.exit_code == 0
    assert "0 events recorded" in second.output
    log = json.loads(cli("log", "--limit", "1000", "--json").output)
    assert len(log["events"]) == recorded


def test_the_seeds_carry_their_publication_and_an_older_seeding_is_kept(cli, monkeypatch):
    """The ministry's and the spokesman's announcements count as published on 13 November
    2020, not on the day of seeding (a later report must be able to outrank them). A store
    seeded by an earlier version of a seed report keeps it: seeding again says so and
    goes on."""
    import seeds

    current = seeds.seed_reports()
    older = copy.deepcopy(current)
    del older[1]["source"]["published"]
    monkeypatch.setattr(seeds, "seed_reports", lambda: older)
    assert cli("seed").exit_code == 0
    monkeypatch.setattr(seeds, "seed_reports", lambda: current)
    again = cli("seed")
    assert again.exit_code == 0, again.output
    assert f"{current[1]['report']}: an earlier version of this seed report is recorded" in (
        again.output)
    assert "0 events recorded" in again.output
    for report in current[1:3]:
        assert report["source"]["published"] == "2020-11-13", report["report"]


def test_a_fresh_seed_dates_each_figure_by_its_report(cli):
    cli("seed")
    listed = json.loads(cli("query", "incidents", "--json").output)["incidents"]
    (niaki,) = [i for i in listed if i["id"] == "niaki-battle-2020-11"]
    assert niaki["killed"]["basis"]["published"] == "2020-11-13"


def test_the_log_shows_the_date_as_first_reported_and_its_correction(cli):
    cli("seed")
    events = json.loads(cli("log", "--limit", "1000", "--json").output)["events"]
    assert [e["position"] for e in events] == sorted(e["position"] for e in events)

    reported = next(e for e in events if e["type"] == "IncidentReported"
                    and e["entity"]["id"] == "niaki-battle-2020-11")
    assert reported["payload"]["details"]["date"] == "2015-11-13"

    corrected = next(e for e in events if e["type"] == "IncidentCorrected"
                     and e["entity"]["id"] == "niaki-battle-2020-11")
    assert corrected["payload"]["field"] == "date"
    assert (corrected["payload"]["previous"], corrected["payload"]["value"]) == (
        "2015-11-13", "2020-11-13")
    assert "anniversary" in corrected["payload"]["reason"]
    assert corrected["provenance"]["source"]["kind"] == "analyst"
    assert corrected["position"] > reported["position"]


def test_the_seed_fixes_all_three_errors_of_the_article(cli):
    cli("seed")
    events = json.loads(cli("log", "--limit", "1000", "--json").output)["events"]
    fixes = {(e["entity"]["id"], e["payload"]["field"]) for e in events
             if e["type"].endswith("Corrected")}
    assert ("frederic-barbry", "aliases") in fixes
    assert ("soumaila-cisse", "title") in fixes
    assert ("menaka-raid-2020-11", "date") in fixes


def test_log_pages_with_after_and_limit(cli):
    cli("seed")
    page = json.loads(cli("log", "--after", "10", "--limit", "5", "--json").output)
    assert [e["position"] for e in page["events"]] == [11, 12, 13, 14, 15]
    assert page["next"] == 15


def click_range(path: list[str], option: str) -> tuple[int | None, int | None]:
    """The bounds of a command's integer option (`path`: the command's words)."""
    command = main
    for word in path:
        command = command.commands[word]
    (param,) = [p for p in command.params if option in p.opts]
    return getattr(param.type, "min", None), getattr(param.type, "max", None)


def schema_range(schema: object, field: str) -> tuple[int | None, int | None]:
    from marshmallow import validate

    (bound,) = [v for v in schema().fields[field].validators
                if isinstance(v, validate.Range)]
    return bound.min, bound.max


def test_the_clis_numbers_take_the_ranges_the_apis_schemas_take(cli):
    """`tracker log --after -5` was accepted (the API: 422) and `--limit 0` printed an
    event: each integer option takes what the API's parameter takes, refused as a usage
    error naming the option otherwise."""
    from api import schemas
    from api.routes import transparency

    pairs = [(["log"], "--after", schemas.EventsArgsSchema, "after"),
             (["log"], "--limit", schemas.EventsArgsSchema, "limit"),
             (["query", "incidents"], "--limit", schemas.IncidentsArgsSchema, "limit"),
             (["query", "actors"], "--limit", schemas.ActorsArgsSchema, "limit"),
             (["proof", "inclusion"], "--position", transparency.InclusionArgsSchema,
              "position"),
             (["proof", "inclusion"], "--size", transparency.InclusionArgsSchema, "size"),
             (["proof", "consistency"], "--from", transparency.ConsistencyArgsSchema,
              "from_"),
             (["proof", "consistency"], "--to", transparency.ConsistencyArgsSchema, "to")]
    for path, option, schema, field in pairs:
        assert click_range(path, option) == schema_range(schema, field), (path, option)
    cli("seed")
    runner = CliRunner()
    low, high = click_range(["log"], "--limit")
    for args in (["--after", "-5"], ["--limit", str(low - 1)], ["--limit", str(high + 1)],
                 ["--after", str(click_range(["log"], "--after")[1] + 1)]):
        refused = runner.invoke(main, ["log", *args])
        assert refused.exit_code == 2, (args, refused.output)
        assert f"Invalid value for '{args[0]}'" in refused.output
    page = json.loads(cli("log", "--limit", str(high), "--json").output)
    assert 0 < len(page["events"]) <= high and page["next"] is None
    huge = runner.invoke(main, ["proof", "inclusion", "--position", str(2**70)])
    assert huge.exit_code == 2 and "Invalid value for '--position'" in huge.output


def test_report_from_stdin_then_again(cli):
    text = json.dumps(base_report())
    first = cli("report", "-", input=text)
    assert first.exit_code == 0 and "5 events" in first.output
    again = cli("report", "-", input=text)
    assert "already recorded" in again.output


def test_a_report_file_not_in_utf8_is_refused_in_one_line_and_a_bom_is_read(cli, tmp_path):
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff{}")
    refused = cli("report", str(binary))
    assert refused.exit_code == 1
    assert f"{binary}: not valid UTF-8 (byte 0xff at offset 0)" in refused.output
    assert "Traceback" not in refused.output
    piped = cli("report", "-", input=b"\xff{}")
    assert piped.exit_code == 1 and "not valid UTF-8" in piped.output
    marked = tmp_path / "bom.json"
    marked.write_bytes(b"\xef\xbb\xbf" + json.dumps(base_report()).encode())
    read = cli("report", str(marked))
    assert read.exit_code == 0 and "5 events" in read.output


@pytest.mark.parametrize("levels", [33, 2000])
def test_every_command_reading_json_refuses_a_too_deep_file_in_the_apis_one_line(
        cli, tmp_path, levels):
    """`tracker report` of 2000 nested brackets ended in a RecursionError traceback (and so
    did import, link accept and verify-citation); 33 levels (no recursion limit reached)
    must be refused alike: one loader (tracker.jsontext.loads) answers for all."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * levels + "]" * levels)
    keys = tmp_path / "keys"
    assert cli("keygen", "--out", str(keys)).exit_code == 0
    runner = CliRunner()  # catching exceptions: a traceback must fail the assertion below
    for command in (["report"], ["import", "acled"], ["import", "ucdp"], ["link", "accept"],
                    ["verify-citation", "--key", str(keys / "tracker.key.pub")]):
        result = runner.invoke(main, [*command, str(deep)])
        assert result.exception is None or isinstance(result.exception, SystemExit), command
        assert result.exit_code == 1, (command, result.output)
        (line,) = result.output.splitlines()
        assert line.startswith(f"error: {deep}: nests deeper than 32 levels"), command
    refused = runner.invoke(main, ["report", str(deep)])
    assert refused.output == (f"error: {deep}: nests deeper than 32 levels; a report is a few "
                              "levels deep; nothing recorded\n")
    assert json.loads(cli("log", "--json").output)["events"] == []


def _one_incident_report(report_id: str, kind: str = "battle") -> dict:
    return {"report": report_id, "source": {"name": "S", "kind": "media",
                                            "published": "2021-01-01"},
            "facts": [{"fact": "incident", "id": f"i-{report_id}", "date": "2021-01-01",
                       "type": kind, "location": {"name": "P", "country": "Mali"}}]}


def test_report_of_several_files_stops_at_a_refused_one_and_names_the_rest(cli, tmp_path):
    """`tracker report a1 bad2 a3` said nothing of a3 (not recorded), and with --json
    printed nothing although a1 was recorded."""
    paths = []
    for name, kind in (("a1", "battle"), ("bad2", "battel"), ("a3", "battle"),
                       ("a4", "battle")):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(_one_incident_report(name, kind)))
    a1, bad2, a3, a4 = map(str, paths)
    runner = CliRunner()
    text = runner.invoke(main, ["report", a1, bad2, a3, a4])
    assert text.exit_code == 1
    assert text.stdout == f"{a1}: report 'a1' recorded, 2 events (positions 1-2)\n"
    assert (f"{bad2}:\nerror: report refused, nothing recorded:\n  {bad2}:1: fact 0, "
            "field 'type'") in text.stderr
    assert text.stderr.endswith(
        f"{a3}: not processed (stopped at {bad2}); nothing recorded from it\n"
        f"{a4}: not processed (stopped at {bad2}); nothing recorded from it\n")
    assert {e["provenance"]["report"] for e in
            json.loads(cli("log", "--json").output)["events"]} == {"a1"}

    paths[0].write_text(json.dumps(_one_incident_report("a5")))  # a new report in a1's file
    as_json = runner.invoke(main, ["report", "--json", a1, bad2, a3])
    assert as_json.exit_code == 1
    body = json.loads(as_json.stdout)
    assert body["reports"] == [{"file": a1, "report": "a5", "recorded": True, "events": 2,
                                "positions": [3, 4]}]
    assert body["refused"]["file"] == bad2
    assert body["refused"]["errors"][0]["field"] == "type"
    assert body["not_processed"] == [a3]
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    unreadable = runner.invoke(main, ["report", "--json", str(broken), a3])
    assert unreadable.exit_code == 1
    assert json.loads(unreadable.stdout) == {
        "reports": [], "refused": {"file": str(broken), "message": "not valid JSON: Expecting "
                                   "property name enclosed in double quotes: line 1 column 2 "
                                   "(char 1)"},
        "not_processed": [a3]}


def test_changes_by_actor_print_names_as_casualties_by_actor_do(cli):
    """`query changes --by actor` printed ids (acled:islamic-state-…-c06496) where
    `query casualties --by actor` prints names; the JSON keeps the API's ids."""
    cli("seed")
    tallied = [line.split("  best")[0].strip() for line in
               cli("query", "casualties", "--by", "actor").output.splitlines()[:-1]]
    changed = cli("query", "changes", "--from", "2000-01-01", "--by", "actor").output
    labels = [line[:40].strip() for line in changed.splitlines()]
    assert "Jama'at Nusrat al-Islam wal-Muslimin" in labels and "jnim" not in labels
    assert sorted(labels) == sorted(tallied)
    rows = json.loads(cli("query", "changes", "--from", "2000-01-01", "--by", "actor",
                          "--json").output)["rows"]
    assert "jnim" in {r["key"] for r in rows} and all("name" not in r for r in rows)


def test_query_help_says_which_subcommands_take_as_of():
    """`tracker query --help` said every subcommand takes --as-of; changes does not."""
    query = main.commands["query"]
    takes = {name: {p.name for p in command.params} for name, command in
             query.commands.items()}
    assert all("as_json" in params for params in takes.values())
    assert {name for name, params in takes.items() if "as_of" not in params} == {"changes"}
    text = CliRunner().invoke(main, ["query", "--help"]).output
    assert "--as-of but for changes" in " ".join(text.split())


def test_a_bad_report_prints_each_error_and_exits_1(cli, tmp_path):
    bad = base_report()
    bad["facts"][3]["killed"] = "thirty"
    bad["facts"][2]["location"].pop("country")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))

    result = CliRunner().invoke(main, ["report", str(path)])

    assert result.exit_code == 1
    assert "fact 2, field 'location.country'" in result.output
    assert "fact 3, field 'killed'" in result.output
    assert json.loads(cli("log", "--json").output)["events"] == []


def test_history_json_lists_corrections_with_before_and_after(cli):
    cli("seed")
    history = json.loads(cli("history", "actor", "soumaila-cisse", "--json").output)
    corrected = history["events"][-1]
    assert corrected["payload"]["previous"] == "Prime Minister of Mali"
    assert corrected["payload"]["value"] == "Leader of the opposition in Mali"


def test_history_of_an_unknown_entity_fails_clearly(cli):
    result = CliRunner().invoke(main, ["history", "actor", "nobody"])
    assert result.exit_code == 1
    assert "no actor with id 'nobody'" in result.output


def test_verify_passes_then_fails_after_tampering(cli, tmp_path):
    cli("seed")
    assert cli("verify").exit_code == 0
    import sqlite3
    with sqlite3.connect(tmp_path / "events.sqlite") as conn:
        conn.execute("DELETE FROM stored_events WHERE rowid = 7")
    result = CliRunner().invoke(main, ["verify"])
    assert result.exit_code == 1
    assert "position 7" in result.output and "deleted" in result.output


QUERIES = [
    ("query", "leadership", "jnim", "--json"),
    ("query", "casualties", "--by", "country", "--json"),
    ("query", "casualties", "--by", "admin1", "--json"),
    ("query", "casualties", "--by", "actor", "--json"),
    ("query", "operations", "--json"),
    ("query", "incidents", "--json"),
]


def test_query_commands_print_contract_shapes(cli):
    cli("seed")
    leadership = json.loads(cli(*QUERIES[0]).output)
    assert set(leadership) >= {"group", "name", "leaders", "former"}
    assert set(leadership["former"][0]) >= {"person", "name", "role", "until", "reason"}
    casualties = json.loads(cli(*QUERIES[1]).output)
    assert set(casualties) >= {"by", "as_of", "rows", "total"}
    row = casualties["rows"][0]
    assert (row["key"], row["name"], row["incidents"], row["killed"]) == (
        "Mali", "Mali", 4, {"best": 35, "low": 35, "high": 35})
    assert set(row) >= {"civilians", "wounded"}
    operations = json.loads(cli(*QUERIES[4]).output)["operations"]
    assert set(operations[0]) >= {"id", "name", "status", "lead", "partners", "incidents",
                                  "killed"}


def test_rebuild_twice_gives_byte_identical_query_output(cli):
    cli("seed")
    before = [cli(*q).output for q in QUERIES]
    assert cli("rebuild").exit_code == 0
    first = [cli(*q).output for q in QUERIES]
    assert cli("rebuild").exit_code == 0
    second = [cli(*q).output for q in QUERIES]
    assert before == first == second


def test_rebuild_verify_passes_then_fails_on_a_hand_altered_view(cli, tmp_path):
    cli("seed")
    assert cli("rebuild", "--verify").exit_code == 0
    import sqlite3
    with sqlite3.connect(tmp_path / "events-views.sqlite") as conn:
        (gen,) = conn.execute("SELECT gen FROM rm_generations WHERE status = 'active'"
                              ).fetchone()
        changed = conn.execute(f"UPDATE g{gen}_tallies SET best = 3 WHERE dim = 'admin1' AND "
                               "key = 'Mali / Mopti' AND valid_to IS NULL").rowcount
        assert changed == 1
    result = CliRunner().invoke(main, ["rebuild", "--verify"])
    assert result.exit_code == 1
    # One line per difference, naming the table, the key and each column with both values,
    # on standard output (`> diff.txt`), and whether the log's chain holds.
    lines = result.stdout.splitlines()
    assert lines[0] == "1 difference between the live views and a rebuild from the log:"
    assert lines[1].startswith("  casualties.tallies [dim 'admin1', key 'Mali / Mopti', "
                               "valid_from ")
    assert lines[1].endswith("]: best: live 3, rebuilt 30")
    assert lines[2] == ("the log's hash chain holds (48 events): the live views are at "
                        "fault; `tracker rebuild` replaces them")
    assert len(lines) == 3 and result.stderr == ""
    as_json = CliRunner().invoke(main, ["rebuild", "--verify", "--json"])
    assert as_json.exit_code == 1
    body = json.loads(as_json.stdout)
    assert body["ok"] is False and body["chain"]["ok"] is True
    (difference,) = body["differences"]
    assert (difference["view"], difference["table"], difference["side"]) == (
        "casualties", "tallies", "both")
    assert difference["key"]["key"] == "Mali / Mopti"
    assert difference["columns"] == {"best": {"live": 3, "rebuilt": 30}}


def _tamper(path: Path, position: int, old: str, new: str) -> None:
    """Edits the stored event at `position` in place, as someone with the database could."""
    import sqlite3
    with sqlite3.connect(path) as conn:
        changed = conn.execute(
            "UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), ?, ?) AS BLOB)"
            " WHERE rowid = ? AND instr(CAST(state AS TEXT), ?) > 0",
            (old, new, position, old)).rowcount
        assert changed == 1


@pytest.mark.parametrize("beside", [False, True], ids=["checked-first", "checked-beside"])
def test_rebuild_refuses_a_log_that_fails_its_chain_unless_told(cli, tmp_path, monkeypatch,
                                                                beside):
    """A stored event altered in the database (`tracker verify` finds it) was folded by
    `tracker rebuild` without a word, and readers switched to the altered figure. A big
    log is checked in a process of its own while the fold runs (`beside`: every log here),
    and readers switch only once it holds."""
    import api.cli.admin

    if beside:
        monkeypatch.setattr(api.cli.admin, "CHAIN_BESIDE", 0)
    cli("seed")
    events = json.loads(cli("log", "--limit", "1000", "--json").output)["events"]
    (niaki,) = [e for e in events if e["type"] == "CasualtiesReported"
                and e["entity"]["id"] == "niaki-battle-2020-11"
                and e["payload"]["killed"] == 30]
    position = niaki["position"]
    _tamper(tmp_path / "events.sqlite", position, '"killed":30,', '"killed":300,')

    def mali() -> int:
        rows = json.loads(cli("query", "casualties", "--by", "country", "--json").output)
        return next(r["killed"]["best"] for r in rows["rows"] if r["key"] == "Mali")

    before = mali()
    runner = CliRunner()
    refused = runner.invoke(main, ["rebuild"])
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr.startswith(
        f"error: the log fails its hash chain after {position - 1} good events: event at "
        f"position {position} (tracker.domain.incident:Incident.CasualtiesReported")
    assert "Nothing was rebuilt" in refused.stderr and "--ignore-chain" in refused.stderr
    assert mali() == before

    verified = runner.invoke(main, ["rebuild", "--verify"])
    assert verified.exit_code == 1
    out = verified.stdout
    assert "incidents [key 'niaki-battle-2020-11', valid_from " in out
    assert "best: live 30, rebuilt 300" in out
    assert ".killed: live 30, rebuilt 300" in out  # the document's path, not its bytes
    assert "b'" not in out and "\\x28" not in out
    assert out.splitlines()[-1].startswith(
        f"the log FAILS its hash chain after {position - 1} good events: event at position "
        f"{position} ")
    assert "The log is at fault, not the views" in out

    forced = runner.invoke(main, ["rebuild", "--ignore-chain"])
    assert forced.exit_code == 0
    assert forced.stderr.startswith("warning: the log fails its hash chain after ")
    assert mali() == before + 270
    assert json.loads(runner.invoke(main, ["rebuild", "--json", "--ignore-chain"]).stdout)[
        "chain"]["position"] == position
    # Set aside, the altered event is passed over (named once) and the rest holds.
    assert runner.invoke(main, ["quarantine", str(position), "--reason", "altered"]
                         ).exit_code == 0
    aside = runner.invoke(main, ["rebuild"])
    assert aside.exit_code == 0, aside.stderr
    assert aside.stderr.count(f"note: the event at position {position} fails") == 1
    assert mali() == before - 30  # the ministry's 30 at Niaki, set aside


def test_rebuild_passes_over_an_altered_event_that_is_set_aside(cli, tmp_path):
    """The way out of a damaged event (README: set it aside, then rebuild) still works: the
    views do not fold a quarantined event, so its failing the chain does not stop a
    rebuild; the rest of the log is still checked."""
    cli("seed")
    _tamper(tmp_path / "events.sqlite", 38, '"killed":30,', '"killed":300,')
    assert cli("quarantine", "38", "--reason", "altered").exit_code == 0
    runner = CliRunner()
    rebuilt = runner.invoke(main, ["rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert rebuilt.stderr == ("note: the event at position 38 fails the hash chain and is "
                              "set aside from the views (tracker quarantine): not folded; the "
                              "rest of the log holds\n")
    assert runner.invoke(main, ["verify"]).exit_code == 1  # the audit still says it
    _tamper(tmp_path / "events.sqlite", 40, '"timestamp"', '"timestamq"')
    refused = runner.invoke(main, ["rebuild"])
    assert refused.exit_code == 1
    assert "error: the log fails its hash chain after 38 good events: event at position 40 " \
        in refused.stderr


def test_rebuild_of_an_unknown_view_fails_clearly(cli):
    result = CliRunner().invoke(main, ["rebuild", "tallies"])
    assert result.exit_code == 1 and "unknown view: tallies; known: " in result.output


def test_as_of_before_the_seed_gives_empty_views(cli):
    cli("seed")
    data = json.loads(cli("query", "casualties", "--by", "country", "--as-of", "2020-01-01",
                          "--json").output)
    assert data["rows"] == [] and data["as_of"].startswith("2020-01-01T23:59:59")
    bad = CliRunner().invoke(main, ["query", "operations", "--as-of", "last week"])
    assert bad.exit_code == 1 and "as_of 'last week'" in bad.output


def test_as_of_in_nanoseconds_is_truncated_to_microseconds(cli):
    """`--as-of "$(date +%Y-%m-%dT%H:%M:%S.%N)"`: nine fractional digits, the same parser
    as the API's as_of; the digits past microseconds are dropped, never rounded up."""
    from datetime import UTC, datetime

    cli("seed")
    now = datetime.now(UTC)
    nanos = now.strftime("%Y-%m-%dT%H:%M:%S.%f") + "999"
    data = json.loads(cli("query", "casualties", "--by", "country", "--as-of", nanos,
                          "--json").output)
    assert data["as_of"] == now.isoformat() and data["rows"] != []
    changes = json.loads(cli("query", "changes", "--from", "2020-01-01T00:00:00.000000001",
                             "--to", nanos, "--by", "country", "--json").output)
    assert changes["to"] == now.isoformat() and changes["rows"] != []


def test_a_report_with_a_key_given_twice_is_refused_naming_it(cli, tmp_path):
    text = json.dumps(base_report()).replace('"killed": 30', '"killed": 30, "killed": 3000')
    path = tmp_path / "twice.json"
    path.write_text(text)

    result = CliRunner().invoke(main, ["report", str(path)])

    assert result.exit_code == 1
    assert "fact 3, field 'killed'" in result.output and "twice" in result.output
    assert "Traceback" not in result.output
    assert json.loads(cli("log", "--json").output)["events"] == []


def test_a_revoked_token_name_can_be_created_again(cli):
    first = cli("token", "create", "--role", "reader", "--name", "x")
    assert first.exit_code == 0
    refused = CliRunner().invoke(main, ["token", "create", "--role", "reader", "--name", "x"])
    assert refused.exit_code == 1 and "already exists and is active" in refused.output
    assert cli("token", "revoke", "x").exit_code == 0
    again = cli("token", "create", "--role", "admin", "--name", "x")
    assert again.exit_code == 0 and again.output.splitlines()[0] != first.output.splitlines()[0]
    listed = json.loads(cli("token", "list", "--json").output)["tokens"]
    assert [(t["name"], t["role"], t["revoked"]) for t in listed] == [("x", "admin", None)]
    # the views fold past the new event as past any other
    cli("seed")
    assert cli("rebuild", "--verify").exit_code == 0


def test_the_log_describes_token_events_and_who_recorded_them(cli):
    cli("token", "create", "--role", "reporter", "--name", "fixture-token")
    cli("token", "revoke", "fixture-token", "--reason", "left the team")
    lines = cli("log").output.splitlines()
    assert "None" not in cli("log").output
    issued, revoked = lines
    assert "TokenIssued" in issued and "token fixture-token issued (reporter)" in issued
    assert issued.endswith("[by cli]")
    assert "token fixture-token revoked (left the team)" in revoked


def test_history_starts_with_its_first_event_and_names_a_retracted_report(cli, tmp_path):
    cli("seed")
    retraction = {"report": "editor-2020-12", "source": {"name": "Editor", "kind": "other"},
                  "facts": [{"fact": "retraction",
                             "target": {"report": "corrections-2020-11-article-errors"},
                             "reason": "checked again"}]}
    path = tmp_path / "retraction.json"
    path.write_text(json.dumps(retraction))
    assert cli("report", str(path)).exit_code == 0
    events = json.loads(cli("history", "actor", "soumaila-cisse", "--json").output)["events"]

    lines = cli("history", "actor", "soumaila-cisse").output.splitlines()

    assert len(lines) == len(events)
    assert lines[0].split()[0] == str(events[0]["position"])
    assert lines[-1].split()[2] == "ActorReportRetracted"
    assert ("report corrections-2020-11-article-errors withdrawn (checked again)"
            in lines[-1])
    assert lines[-1].endswith("[editor-2020-12]")
    report = cli("history", "report", "corrections-2020-11-article-errors").output
    assert "report corrections-2020-11-article-errors retracted (checked again)" in report


def test_acled_deletions_names_rejected_rows_and_exits_3(cli, tmp_path):
    assert cli("import", "acled", str(DATASETS / "acled_dyadic.csv")).exit_code == 3
    listed = tmp_path / "deleted.csv"
    listed.write_text("event_id_cnty,deleted_timestamp\nMLI1001,notatime\nMLI1002,1606000000\n")
    out = cli("import", "acled-deletions", str(listed))
    assert out.exit_code == 3
    assert (f"rejected: {listed}:2: deleted_timestamp 'notatime' is neither Unix seconds "
            "nor a date") in out.output
    assert "1 incident retracted" in out.output
    every = tmp_path / "all-bad.csv"
    every.write_text("event_id_cnty,deleted_timestamp\nMLI1001,\n")
    assert cli("import", "acled-deletions", str(every)).exit_code == 1
    assert cli("import", "acled-deletions", str(every), "--json").exit_code == 1


def test_changes_without_a_change_say_so(cli):
    cli("seed")
    result = cli("query", "changes", "--from", "2030-01-01", "--by", "country")
    assert result.exit_code == 0
    head = json.loads(cli("log", "--limit", "1000", "--json").output)["events"][-1]["position"]
    assert result.output == (f"no change by country between 2030-01-01T23:59:59.999999+00:00 "
                             f"(position {head}) and now (position {head})\n")
    moved = cli("query", "changes", "--from", "2020-01-01", "--by", "country").output
    assert "no change" not in moved and moved.startswith("Mali")


def test_counts_in_summaries_are_singular_for_one(cli, tmp_path):
    lines = (DATASETS / "acled_labels.csv").read_text().splitlines()
    path = tmp_path / "one-bad-row.csv"
    path.write_text("\n".join([lines[0], lines[1], lines[2].replace(",", ",,", 1)]) + "\n")
    result = CliRunner().invoke(main, ["import", "acled", str(path), "--no-parallel-views"])
    assert result.exit_code == 3, result.output
    summary = result.output.splitlines()[-1]
    assert summary.startswith("2 rows read (1 dataset event): 1 incident new")
    assert "1 row rejected" in summary and "rows rejected" not in summary
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    refused = CliRunner().invoke(main, ["import", "acled", str(other)])
    assert refused.exit_code == 1 and "not an ACLED export" in refused.output


def test_a_reader_that_stops_early_ends_the_command_quietly(cli, tmp_path):
    """`tracker query incidents --csv | head`: the closed pipe is not reported as a store
    outage (a broken pipe is a ConnectionError); the command ends as SIGPIPE ends others."""
    report = base_report("many")
    report["facts"] += [{"fact": "incident", "id": f"inc-{n}", "date": "2020-01-01",
                         "type": "battle",
                         "location": {"name": f"Place {n}", "country": "Mali"}}
                        for n in range(1000)]
    (tmp_path / "many.json").write_text(json.dumps(report), encoding="utf-8")
    assert cli("report", str(tmp_path / "many.json")).exit_code == 0
    reader = subprocess.Popen([sys.executable, "-m", "api.cli", "query", "incidents",
                               "--csv"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    assert reader.stdout.read(100)  # far more than a pipe's buffer is left to write
    reader.stdout.close()
    assert reader.wait(timeout=60) == EXIT_BROKEN_PIPE
    assert reader.stderr.read() == b""


def test_import_help_says_it_reads_json_too(cli):
    for dataset in ("acled", "ucdp"):
        about = cli("import", dataset, "--help").output.partition("Options:")[0]
        assert "CSV" in about and "JSON" in about


def test_serve_on_a_busy_port_is_one_line_and_exit_1(cli):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port)])
    assert result.exit_code == 1
    assert result.output == (f"tracker: cannot serve on 127.0.0.1:{port}: port {port} is in "
                             "use by another program; stop it, or serve on another port "
                             "(--port)\n")


def test_serve_prints_the_dashboard_and_api_urls_and_serves_them(tmp_path):
    from tests.api.test_gunicorn import free_port, wait_until_serving

    port = free_port()
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'events.sqlite'}"}
    env.pop("TRACKER_REDIS_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(server, f"{base}/api/v1")
        with urllib.request.urlopen(f"{base}/", timeout=10) as page:
            assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    finally:
        server.terminate()
        server.wait(10)
    said = server.stderr.read().decode().splitlines()
    assert said[:3] == [f"dashboard: {base}/", f"API:       {base}/api/v1",
                        f"API docs:  {base}/api/v1/docs"]


def test_history_lines_say_what_each_fact_said(cli):
    """The text history names a figure, a death, a role's end, materiel, an alias — not
    only the event's type (the JSON has every field)."""
    cli("seed")
    niaki = cli("history", "incident", "niaki-battle-2020-11").output
    assert "CasualtiesReported  killed 30 by French Ministry of the Armed Forces, of jnim" in (
        niaki)
    assert "MaterielReported  seized: weapons, motorbikes" in niaki
    moussa = cli("history", "actor", "bah-ag-moussa").output
    assert "DeathReported  died on 2015-11-13 in menaka-raid-2020-11" in moussa
    assert "RoleEnded  deputy of jnim ended on 2015-11-13 (killed)" in moussa
    alias = {"report": "alias-1", "source": {"name": "Desk", "kind": "analyst"},
             "facts": [{"fact": "alias", "actor": "jnim", "alias": "GSIM"}]}
    assert cli("report", "-", input=json.dumps(alias)).exit_code == 0
    assert "AliasAdded  alias 'GSIM'  [alias-1]" in cli("history", "actor", "jnim").output


def test_a_refused_report_file_names_each_facts_line(cli, tmp_path):
    """A refusal names file:line beside the fact's index and field, the line its fact
    begins on (strings holding brackets, commas and escaped quotes, nested lists and a
    byte-order mark do not throw the count off)."""
    text = ('\ufeff{\n  "report": "bad-1", "notes": "a [tricky], \\"note\\" {",\n'
            '  "source": {"name": "Desk", "kind": "analyst"},\n'
            '  "facts": [\n'
            '    {"fact": "incident", "id": "x1", "date": "2021-01-01", "type": "battle",\n'
            '     "location": {"name": "A ]", "country": "Mali"}, "actors": []},\n'
            '    {"fact": "casualties", "incident": "x1",\n'
            '     "killed": 20, "low": 25, "high": 15},\n'
            '    {"fact": "incident", "id": "x2", "date": "2021-13-01", "type": "battle",\n'
            '     "location": {"name": "B", "country": "Mali"}}\n'
            '  ]\n}\n')
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    out = CliRunner().invoke(main, ["report", str(path)])
    assert out.exit_code == 1
    assert f"  {path}:7: fact 1, field 'low': 25 is above high (15)" in out.stderr
    assert f"  {path}:9: fact 2, field 'date': " in out.stderr


def test_fact_lines_reads_only_the_reports_own_facts_list():
    from tracker.jsontext import fact_lines

    assert fact_lines('{"a": {"facts": [1]},\n "facts": [\n2, {"facts": [3]}]}') == [3, 3]
    assert fact_lines('{"facts": []}') == []
    assert fact_lines("[1, 2]") == [] and fact_lines('{"facts": 3}') == []
    assert fact_lines('{"facts": [1, ') == []  # not JSON: no lines, the parser says why
