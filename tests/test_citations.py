"""Citable figures end to end, on SQLite and PostgreSQL: seed, checkpoint, cite Mali's
casualties, verify offline; append, checkpoint, consistency from the old one; then edit a
stored event, delete the last events with their chain entries, or rebuild the log with one
report changed: verification fails and says why."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from api.citations import cite
from api.services import Services
from seeds import load_seeds, seed_reports
from tests.test_integrity import pg_exec, sqlite_exec
from tracker import merkle
from tracker.citation_verify import entry_bytes, verify_citation
from tracker.config import Settings, eventsourcing_env, sqlite_path
from tracker.integrity import chain_hash
from tracker.transparency import (
    NoCheckpointError,
    ProofError,
    Transparency,
    generate_signer,
    parse_signer,
    signer_key_text,
)

ROOT = Path(__file__).resolve().parents[1]
MALI = {"view": "casualties", "by": "country", "key": "Mali"}


@pytest.fixture
def signer():
    return generate_signer("tracker.test")


def open_services(url: str) -> Services:
    return Services.from_settings(Settings(database_url=url, inline=True))


@pytest.fixture
def services(database_url):
    made = open_services(database_url)
    yield made
    made.close()


def backend(url: str) -> str:
    return "postgres" if url.startswith("postgresql") else "sqlite"


def events_table(url: str) -> str:
    return "conflicttracker_events" if backend(url) == "postgres" else "stored_events"


def run_sql(url: str, statement: str) -> None:
    (pg_exec if backend(url) == "postgres" else sqlite_exec)(url, statement)


def set_state(url: str, position: int, state: bytes) -> None:
    """An edit made directly in the database, bypassing the tracker."""
    if backend(url) == "postgres":
        import psycopg

        env = eventsourcing_env(url)
        with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                             port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                             autocommit=True,
                             options=f"-c search_path={env['POSTGRES_SCHEMA']}") as conn:
            conn.execute("UPDATE conflicttracker_events SET state = %s "
                         "WHERE notification_id = %s", (state, position))
    else:
        import sqlite3

        with sqlite3.connect(sqlite_path(url)) as conn:
            conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                         (state, position))


def mali_report(report_id: str, killed: int, published: str = "2020-11-20") -> dict[str, Any]:
    """A later report: a new incident in Mali with its toll."""
    return {"report": report_id,
            "source": {"name": "MINUSMA", "kind": "official", "published": published},
            "facts": [{"fact": "incident", "id": f"inc-{report_id}", "date": "2020-11-19",
                       "type": "battle", "location": {"name": "Gao", "country": "Mali"}},
                      {"fact": "casualties", "incident": f"inc-{report_id}",
                       "killed": killed}]}


def seed(services: Services) -> None:
    load_seeds(services.tracker)
    services.after_write()


def mali_row(citation: dict[str, Any]) -> dict[str, Any]:
    (row,) = [r for r in citation["answer"]["rows"] if r["key"] == "Mali"]
    return row


def test_cite_mali_verify_offline_then_extend_and_check_consistency(services, signer):
    seed(services)
    tp = Transparency(services.tracker.recorder)
    first = tp.checkpoint(signer)
    assert first["size"] == services.tracker.max_position() or backend(
        services.settings.database_url) == "postgres"

    citation = cite(services, dict(MALI))
    with services.views() as views:
        shown = views.casualties("country")
    (expected,) = [r for r in shown["rows"] if r["key"] == "Mali"]
    assert mali_row(citation)["killed"] == {k: expected["killed"][k]
                                            for k in ("best", "low", "high")}
    assert citation["position"] == services.tracker.max_position()
    assert citation["checkpoint"]["size"] == first["size"]
    result = verify_citation(json.loads(json.dumps(citation)), signer.verifier_key)
    assert result.ok, result.failures
    assert any("figure" in line and "rows" in line for line in result.checked)
    assert "total" in result.uncovered and "row 'Mali'" not in result.uncovered
    whole = verify_citation(json.loads(json.dumps(cite(services, {**MALI, "key": None}))),
                            signer.verifier_key)
    assert whole.ok and whole.uncovered == []
    # Every figure's incidents are in the evidence, each with its reports' events.
    cited = {e["report"] for e in citation["evidence"]}
    assert "frmod-2020-11-13" in cited

    # Append reports, sign again: the new log extends the one the reader kept.
    import time
    from datetime import UTC, datetime
    between = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    services.record_report(mali_report("minusma-1", 7), "test")
    services.record_report(mali_report("minusma-2", 4), "test")
    second = tp.checkpoint(signer)
    assert second["size"] > first["size"]
    later = cite(services, dict(MALI), since=first["size"])
    assert mali_row(later)["killed"]["best"] == mali_row(citation)["killed"]["best"] + 11
    result = verify_citation(later, signer.verifier_key, since=first["text"])
    assert result.ok, result.failures
    assert any("prefix" in line for line in result.checked)

    # As the tracker knew it before the appends: the old figure, proven under the new
    # checkpoint, from the events recorded by then only.
    then = cite(services, {**MALI, "as_of": between})
    assert then["position"] == citation["position"] < later["position"]
    assert mali_row(then)["killed"] == mali_row(citation)["killed"]
    assert then["checkpoint"]["size"] == second["size"]
    assert max(p for e in then["evidence"] for p in e["positions"]) <= then["position"]
    # Checked against a kept checkpoint, it needs a consistency proof it does not carry.
    failures = verify_citation(then, signer.verifier_key, since=first["text"]).failures
    assert failures and "no consistency proof" in failures[0]
    assert verify_citation(then, signer.verifier_key).ok

    # A proof from the CLI/API path agrees with the checkpoint's root.
    proof = tp.inclusion(later["evidence"][-1]["positions"][-1], second["size"])
    assert proof["root"] == second["root"]


def test_the_tree_matches_the_log_and_the_chain(services):
    """Each leaf is SHA-256(0x00 || the bytes the hash chain hashes): the root recomputed
    from the whole log, straight from RFC 9162's definition, is the stored tree's."""
    seed(services)
    services.record_report(mali_report("r-extra", 3), "test")
    recorder = services.tracker.recorder
    size, last = Transparency(recorder).head()
    entries = list(recorder.log_entries(range(1, last + 1)))
    assert len(entries) == size
    leaves = []
    for e in entries:
        raw = entry_bytes(e["previous"], e["position"], e["aggregate"], e["version"],
                          e["topic"], e["state"])
        leaves.append(merkle.leaf_hash(raw))
    from tests.unit.test_merkle import reference_root

    def mth(ls: list[bytes]) -> bytes:
        if len(ls) == 1:
            return ls[0]
        k = 1 << ((len(ls) - 1).bit_length() - 1)
        return merkle.node_hash(mth(ls[:k]), mth(ls[k:]))

    assert Transparency(recorder).root()[1] == mth(leaves)
    assert reference_root([b"x"]) == merkle.leaf_hash(b"x")
    # The chain entry is SHA-256 of the same bytes.
    import hashlib
    e = entries[3]
    raw = entry_bytes(e["previous"], e["position"], e["aggregate"], e["version"], e["topic"],
                      e["state"])
    assert hashlib.sha256(raw).hexdigest() == chain_hash(
        e["previous"], e["position"], e["aggregate"], e["version"], e["topic"], e["state"])


def test_an_edited_stored_event_fails_verification_naming_it(database_url, signer):
    services = open_services(database_url)
    try:
        seed(services)
        Transparency(services.tracker.recorder).checkpoint(signer)
        before = cite(services, dict(MALI))
        target = next(i for e in before["evidence"] for i in e["inclusion"]
                      if i["entry"]["topic"].endswith("CasualtiesReported"))
        import base64
        state = base64.b64decode(target["entry"]["state"])
        data = json.loads(state)
        data["killed"] = data["killed"] + 100
        set_state(database_url, target["position"], json.dumps(data).encode())
        after = cite(services, dict(MALI))
    finally:
        services.close()
    result = verify_citation(after, signer.verifier_key)
    assert not result.ok
    assert any(f"position {target['position']}" in f and f.startswith("inclusion")
               for f in result.failures), result.failures


def test_deleting_the_last_events_with_their_chain_and_tree_fails_consistency(database_url,
                                                                              signer):
    """The attack `tracker verify` cannot see: the last report's events and their chain
    entries deleted, the tree rebuilt from what is left, a new report recorded in their
    place. A reader holding the old checkpoint is not fooled."""
    services = open_services(database_url)
    table = events_table(database_url)
    pos = "notification_id" if backend(database_url) == "postgres" else "rowid"
    try:
        seed(services)
        tp = Transparency(services.tracker.recorder)
        kept_at = services.tracker.max_position()
        services.record_report(mali_report("minusma-1", 7), "test")
        services.record_report(mali_report("minusma-2", 4), "test")
        kept = tp.checkpoint(signer)  # the reader keeps this one
        run_sql(database_url, f"DELETE FROM {table} WHERE {pos} > {kept_at}")
        run_sql(database_url, f"DELETE FROM {table}_chain WHERE notification_id > {kept_at}")
        for suffix in ("_tree", "_tree_head", "_tree_gaps"):
            run_sql(database_url, f"DELETE FROM {table}{suffix}")
        assert services.tracker.verify().ok  # the chain alone cannot tell
    finally:
        services.close()
    services = open_services(database_url)
    try:
        services.record_report(mali_report("minusma-1b", 2), "test")
        services.record_report(mali_report("minusma-2b", 1), "test")
        services.record_report(mali_report("minusma-3b", 1), "test")
        tp = Transparency(services.tracker.recorder)
        tp.checkpoint(signer)
        size = tp.head()[0]
        since = min(kept["size"], size)
        citation = cite(services, dict(MALI), since=since)
    finally:
        services.close()
    result = verify_citation(citation, signer.verifier_key, since=kept["text"])
    assert not result.ok
    assert any(f.startswith("consistency") for f in result.failures), result.failures


def test_a_log_rebuilt_with_one_report_changed_fails_consistency(database_url, signer,
                                                                 make_tracker, tmp_path):
    services = open_services(database_url)
    try:
        seed(services)
        kept = Transparency(services.tracker.recorder).checkpoint(signer)
    finally:
        services.close()
    # The same reports, in the same order, into a fresh store, one figure changed.
    rebuilt_url = f"sqlite:///{tmp_path / 'rebuilt.sqlite'}"
    rebuilt = open_services(rebuilt_url)
    try:
        reports = copy.deepcopy(seed_reports())
        changed = False
        for report in reports:
            for fact in report["facts"]:
                if fact["fact"] == "casualties" and not changed:
                    fact["killed"] += 1
                    changed = True
            rebuilt.tracker.record_report(report, recorded_by="seed")
        rebuilt.after_write()
        rebuilt.record_report(mali_report("minusma-1", 7), "test")
        tp = Transparency(rebuilt.tracker.recorder)
        tp.checkpoint(signer)  # the same key: the signature alone cannot tell
        citation = cite(rebuilt, dict(MALI), since=kept["size"])
    finally:
        rebuilt.close()
    assert verify_citation(citation, signer.verifier_key).ok  # consistent with itself
    result = verify_citation(citation, signer.verifier_key, since=kept["text"])
    assert not result.ok
    assert any("rewritten" in f for f in result.failures), result.failures


def test_a_doctored_citation_fails_and_says_why(sqlite_database_url, signer):
    services = open_services(sqlite_database_url)
    try:
        seed(services)
        Transparency(services.tracker.recorder).checkpoint(signer)
        citation = cite(services, {"view": "casualties", "by": "country"})
    finally:
        services.close()
    assert verify_citation(citation, signer.verifier_key).ok
    inflated = copy.deepcopy(citation)
    mali_row(inflated)["killed"]["best"] += 10
    failures = verify_citation(inflated, signer.verifier_key).failures
    assert any("figure" in f and "answer says" in f for f in failures), failures
    other = generate_signer("tracker.test")
    failures = verify_citation(citation, other.verifier_key).failures
    assert any(f.startswith("signature") for f in failures), failures
    forged = copy.deepcopy(citation)
    forged["checkpoint"]["text"] = forged["checkpoint"]["text"].replace(
        f"\n{citation['checkpoint']['size']}\n", f"\n{citation['checkpoint']['size'] + 1}\n")
    failures = verify_citation(forged, signer.verifier_key).failures
    assert any(f.startswith("signature") for f in failures), failures
    dropped = copy.deepcopy(citation)
    dropped["evidence"] = dropped["evidence"][1:]
    assert not verify_citation(dropped, signer.verifier_key).ok
    # An event left out of an incident's history (a retraction, say) is noticed.
    by_aggregate: dict[str, list[tuple[int, int]]] = {}
    for e_i, e in enumerate(citation["evidence"]):
        for k, inc in enumerate(e["inclusion"]):
            by_aggregate.setdefault(inc["entry"]["aggregate"], []).append(
                (inc["entry"]["version"], e_i * 1000 + k))
    agg, items = next((a, sorted(v)) for a, v in by_aggregate.items() if len(v) >= 3)
    e_i, k = divmod(items[1][1], 1000)
    holed = copy.deepcopy(citation)
    del holed["evidence"][e_i]["inclusion"][k]
    failures = verify_citation(holed, signer.verifier_key).failures
    assert any("are incomplete" in f for f in failures), failures
    # An answer whose figures are not all cited, or cited under another row's name.
    uncited = copy.deepcopy(citation)
    uncited["figures"] = [f for f in uncited["figures"] if f["path"] != ["total"]]
    failures = verify_citation(uncited, signer.verifier_key).failures
    assert failures == ["figure ['total']: in the answer but not cited (no evidence for it)"]
    relabelled = copy.deepcopy(citation)
    relabelled["figures"][0]["key"] = "Niger"
    failures = verify_citation(relabelled, signer.verifier_key).failures
    assert any("cited as country 'Niger', the answer's row is country 'Mali'" in f
               for f in failures), failures


@pytest.mark.parametrize("by", ["country", "admin1", "admin2", "actor", "month", "type",
                                "operation"])
def test_every_dimension_cites_and_verifies(sqlite_database_url, signer, by):
    """Each row of casualties by any dimension, and the total, recomputed offline; with a
    report naming actors' own figures and one assessment among the seeds' facts."""
    services = open_services(sqlite_database_url)
    try:
        seed(services)
        services.record_report({
            "report": "ngo-1", "source": {"name": "ACLED-like NGO", "kind": "ngo",
                                          "published": "2020-11-21"},
            "facts": [{"fact": "incident", "id": "gao-2020-11", "date": "2020-11-18",
                       "type": "battle", "operation": "barkhane",
                       "location": {"name": "Gao", "admin1": "Gao", "country": "Mali"},
                       "actors": [{"actor": "france", "side": "a"},
                                  {"actor": "jnim", "side": "b"}]},
                      {"fact": "casualties", "incident": "gao-2020-11", "actor": "jnim",
                       "killed": 12, "low": 10, "high": 15},
                      {"fact": "casualties", "incident": "gao-2020-11", "actor": "france",
                       "killed": 1},
                      {"fact": "assessment", "incident": "niaki-battle-2020-11",
                       "killed": 33, "reason": "cross-checked"}]}, "test")
        Transparency(services.tracker.recorder).checkpoint(signer)
        citation = cite(services, {"view": "casualties", "by": by})
    finally:
        services.close()
    assert citation["answer"]["rows"]
    result = verify_citation(citation, signer.verifier_key)
    assert result.ok, result.failures
    assert sum("figure" in line for line in result.checked) == len(
        citation["answer"]["rows"]) + 1
    # A row's figure moved by one is caught whatever the dimension.
    citation["answer"]["rows"][-1]["killed"]["high"] += 1
    assert not verify_citation(citation, signer.verifier_key).ok


def test_citing_needs_a_checkpoint_covering_the_answer(sqlite_database_url, signer):
    services = open_services(sqlite_database_url)
    try:
        seed(services)
        with pytest.raises(NoCheckpointError, match="tracker checkpoint"):
            cite(services, dict(MALI))
        Transparency(services.tracker.recorder).checkpoint(signer)
        services.record_report(mali_report("minusma-1", 7), "test")
        with pytest.raises(NoCheckpointError):
            cite(services, dict(MALI))  # the last checkpoint does not cover the new report
        made = cite(services, dict(MALI), signer=signer)  # signs one when given the key
        assert made["checkpoint"]["size"] == Transparency(services.tracker.recorder).head()[0]
        with pytest.raises(ProofError, match="position"):
            Transparency(services.tracker.recorder).inclusion(10_000)
    finally:
        services.close()


def test_an_older_store_gets_its_tree_built_on_first_use(sqlite_database_url, signer):
    services = open_services(sqlite_database_url)
    try:
        seed(services)
        tp = Transparency(services.tracker.recorder)
        size, root = tp.root()
    finally:
        services.close()
    # A store written before the tree existed: events and chain, no tree.
    for suffix in ("_tree", "_tree_head", "_tree_gaps"):
        run_sql(sqlite_database_url, f"DELETE FROM stored_events{suffix}")
    services = open_services(sqlite_database_url)
    try:
        services.record_report(mali_report("r-after-upgrade", 1), "test")  # tree left alone
        tp = Transparency(services.tracker.recorder)
        assert services.tracker.recorder.tree_head() == (0, 0)
        new_size, _ = tp.head()  # first use: reads the log once, catches up
        assert new_size == services.tracker.max_position()
        assert tp.root(size)[1] == root
        services.record_report(mali_report("minusma-1", 7), "test")  # appends again
        assert tp.head()[0] == services.tracker.max_position()
        assert services.tracker.recorder.tree_head()[0] == services.tracker.max_position()
    finally:
        services.close()


def test_the_verifier_runs_alone_with_the_standard_library_and_cryptography(
        sqlite_database_url, signer, tmp_path):
    """citation_verify.py imports nothing of the tracker: it runs with tracker,
    projections and api unimportable, in isolated mode, from a copy of the file."""
    services = open_services(sqlite_database_url)
    try:
        seed(services)
        Transparency(services.tracker.recorder).checkpoint(signer)
        citation = cite(services, dict(MALI))
    finally:
        services.close()
    (tmp_path / "c.json").write_text(json.dumps(citation))
    (tmp_path / "k.pub").write_text(signer.verifier_key + "\n")
    copy_of = tmp_path / "citation_verify.py"
    copy_of.write_text((ROOT / "tracker" / "citation_verify.py").read_text())
    blocker = ("import sys, runpy\n"
               "for name in ('tracker', 'projections', 'api', 'orjson', 'eventsourcing'):\n"
               "    sys.modules[name] = None\n"
               f"sys.argv = ['v', {str(tmp_path / 'c.json')!r}, '--key', "
               f"{str(tmp_path / 'k.pub')!r}]\n"
               f"runpy.run_path({str(copy_of)!r}, run_name='__main__')\n")
    run = subprocess.run([sys.executable, "-I", "-c", blocker], capture_output=True,
                         text=True, cwd=tmp_path, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "citation verified (only the figures listed as ok)" in run.stdout
    # Counts in words, singular for one (it restates tracker.wording.counted).
    assert "killed'] = {" in run.stdout and " from 4 incidents\n" in run.stdout
    assert "ok: 10 events included" in run.stdout and "(s)" not in run.stdout
    # The rest of the answer rides along for context, and the verdict says it is not
    # covered: a number changed there is not a figure this citation vouches for.
    assert "not covered: " in run.stdout and "total" in run.stdout
    others = [r for r in citation["answer"]["rows"] if r["key"] != "Mali"]
    assert all(f"row {r['key']!r}" in run.stdout for r in others)
    mali_row(citation)["killed"]["low"] -= 1
    (tmp_path / "c.json").write_text(json.dumps(citation))
    run = subprocess.run([sys.executable, "-I", "-c", blocker], capture_output=True,
                         text=True, cwd=tmp_path, timeout=60)
    assert run.returncode == 1 and "FAILED: figure ['rows', 0, 'killed']" in run.stderr
    assert run.stderr.endswith("citation NOT verified: 1 problem\n"), run.stderr
    # And statically: its imports are the standard library's and cryptography's.
    import ast
    tree = ast.parse((ROOT / "tracker" / "citation_verify.py").read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
             for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree)
              if isinstance(n, ast.ImportFrom) and n.module}
    assert names <= set(sys.stdlib_module_names) | {"cryptography", "__future__"}, names


def test_the_verifier_knows_an_incidents_aggregate_as_the_tracker_does():
    from tracker.citation_verify import incident_aggregate
    from tracker.domain.base import entity_id

    for key in ("niaki-battle-2020-11", "ACLED:BFO1234", "é/ü ?&"):
        assert incident_aggregate(key) == entity_id("incident", key).hex


def test_keys_round_trip_in_the_signed_note_formats(tmp_path):
    signer = generate_signer("tracker.example.org")
    again = parse_signer(signer_key_text(signer))
    assert again.verifier_key == signer.verifier_key
    name, blob = signer.verifier_key.split("+", 2)[0], signer.verifier_key
    assert name == "tracker.example.org" and len(blob.split("+", 2)[1]) == 8


def test_citing_with_an_unreadable_event_names_its_position_on_the_api_and_the_cli(
        database_url, signer, monkeypatch):
    """An event behind a cited figure that cannot be read (its stored JSON damaged) is
    named by its log position, as /events and /history name it: the API's JSON error
    (500, `errors` the position), the CLI's one line and exit 1; never a traceback."""
    from click.testing import CliRunner

    from api import create_app
    from api.cli import main
    from tests.api.conftest import OneErrorShapeClient
    from tracker.domain.base import entity_id
    from tracker.exceptions import EventUnreadableError

    services = open_services(database_url)
    try:
        seed(services)
        Transparency(services.tracker.recorder).checkpoint(signer)
        incident = "niaki-battle-2020-11"
        assert cite(services, {"view": "incident", "id": incident})["evidence"]
        damaged = min(services.tracker.recorder.positions_of(
            entity_id("incident", incident)).values())
        set_state(database_url, damaged, b'{"broken')
        for args in ({"view": "incident", "id": incident}, dict(MALI),
                     {"view": "casualties", "by": "country"}):
            with pytest.raises(EventUnreadableError) as raised:
                cite(services, args)
            assert raised.value.position == damaged
    finally:
        services.close()

    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "REDIS_URL": None})
    app.test_client_class = OneErrorShapeClient
    try:
        client = app.test_client()
        for query in (f"view=incident&id={incident}", "view=casualties&by=country&key=Mali"):
            answer = client.get(f"/api/v1/cite?{query}")
            assert answer.status_code == 500, answer.json
            assert f"position {damaged}" in answer.json["message"]
            assert answer.json["errors"] == [{"field": "position", "message": str(damaged)}]
        assert client.get("/api/v1/casualties?by=country").status_code == 200
    finally:
        app.extensions["tracker"].close()

    monkeypatch.setenv("TRACKER_DATABASE_URL", database_url)
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    for command in (["cite", "incident", incident],
                    ["cite", "casualties", "--by", "country", "--row", "Mali"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit), result.exception
        (line,) = result.output.splitlines()
        assert line.startswith("error: ") and f"position {damaged}" in line


def test_the_standalone_verifier_refuses_a_too_deep_citation_in_one_line(tmp_path, capsys,
                                                                         signer):
    """A citation (or an event state in it) of 2000 nested brackets ended in a
    RecursionError traceback."""
    from tracker.citation_verify import _event_data, main

    deep = "[" * 2000 + "]" * 2000
    (tmp_path / "deep.json").write_text(deep)
    (tmp_path / "k.pub").write_text(signer.verifier_key + "\n")
    assert main([str(tmp_path / "deep.json"), "--key", str(tmp_path / "k.pub")]) == 1
    assert capsys.readouterr().err == "error: the citation nests too deeply to be one\n"
    with pytest.raises(ValueError, match="nests too deeply"):
        _event_data({"topic": "tracker.domain:Incident.Reported"}, deep.encode())
