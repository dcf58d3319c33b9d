"""`tracker verify`: the hash chain catches edits made directly in the database."""

import sqlite3

import pytest

from tests.conftest import base_report
from tracker.config import eventsourcing_env, sqlite_path


def sqlite_exec(url: str, statement: str) -> None:
    with sqlite3.connect(sqlite_path(url)) as conn:
        conn.execute(statement)


def pg_exec(url: str, statement: str) -> None:
    import psycopg

    env = eventsourcing_env(url)
    with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                         port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                         autocommit=True,
                         options=f"-c search_path={env['POSTGRES_SCHEMA']}") as conn:
        conn.execute(statement)


TAMPER = {
    "sqlite": {
        "alter": "UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), "
                 "'30', '31') AS BLOB) WHERE rowid = 5",
        "delete": "DELETE FROM stored_events WHERE rowid = 3",
        "swap": "UPDATE stored_events SET topic = (SELECT topic FROM stored_events "
                "WHERE rowid = 2) WHERE rowid = 4",
    },
    "postgres": {
        "alter": "UPDATE conflicttracker_events SET state = "
                 "replace(convert_from(state, 'UTF8'), '30', '31')::bytea "
                 "WHERE notification_id = 5",
        "delete": "DELETE FROM conflicttracker_events WHERE notification_id = 3",
        "swap": "UPDATE conflicttracker_events SET topic = (SELECT topic FROM "
                "conflicttracker_events WHERE notification_id = 2) WHERE notification_id = 4",
    },
}


def test_an_intact_log_verifies(tracker):
    tracker.record_report(base_report())
    result = tracker.verify()
    assert result.ok and result.checked == 5 and result.problem is None


@pytest.mark.parametrize("tamper, position, word", [
    ("alter", 5, "altered"), ("delete", 3, "deleted"), ("swap", 4, "altered")])
def test_a_tampered_event_fails_verify_naming_it(database_url, make_tracker, tamper, position,
                                                  word):
    tracker = make_tracker(database_url)
    tracker.record_report(base_report())
    backend = "postgres" if database_url.startswith("postgresql") else "sqlite"
    run = pg_exec if backend == "postgres" else sqlite_exec

    run(database_url, TAMPER[backend][tamper])

    result = tracker.verify()
    assert not result.ok
    assert result.position == position
    assert f"position {position}" in result.problem and word in result.problem
    assert result.checked == position - 1


@pytest.mark.parametrize("column, value, found", [
    ("state", "CAST(state AS TEXT)", "its state is stored as str"),
    ("state", "7", "its state is stored as int"),
    ("originator_version", "'one'", "its originator_version is stored as str")])
def test_a_row_tampered_to_another_type_is_named_as_damaged(sqlite_database_url, make_tracker,
                                                            column, value, found):
    """SQLite lets a BLOB column hold TEXT: verify names the position, no TypeError."""
    tracker = make_tracker(sqlite_database_url)
    tracker.record_report(base_report())
    sqlite_exec(sqlite_database_url,
                f"UPDATE stored_events SET {column} = {value} WHERE rowid = 4")
    result = tracker.verify()
    assert not result.ok and result.position == 4 and result.checked == 3
    assert result.problem.startswith("event at position 4 is damaged: ")
    assert found in result.problem


def test_a_row_the_store_cannot_read_is_named_by_the_position_before_it(sqlite_database_url,
                                                                         make_tracker):
    tracker = make_tracker(sqlite_database_url)
    tracker.record_report(base_report())
    sqlite_exec(sqlite_database_url,
                "UPDATE stored_events SET originator_id = 'not-a-uuid' WHERE rowid = 3")
    result = tracker.verify()
    assert not result.ok and result.checked == 2
    assert result.problem.startswith("the stored event after position 2 cannot be read (")


def test_verify_on_the_command_line_names_a_damaged_row(sqlite_database_url, monkeypatch):
    from click.testing import CliRunner

    from api.cli import main

    monkeypatch.setenv("TRACKER_DATABASE_URL", sqlite_database_url)
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    assert CliRunner().invoke(main, ["seed"]).exit_code == 0
    sqlite_exec(sqlite_database_url,
                "UPDATE stored_events SET state = CAST(state AS TEXT) WHERE rowid = 7")
    result = CliRunner().invoke(main, ["verify"])
    assert result.exit_code != 0 and "position 7" in result.output
    assert "Traceback" not in result.output and "TypeError" not in result.output


def test_the_sqlite_event_store_checkpoints_its_wal_less_often(sqlite_tracker):
    from tracker.integrity import ChainedSQLiteApplicationRecorder

    sqlite_tracker.record_report(base_report())
    with sqlite_tracker.recorder.datastore.transaction(commit=False) as c:
        c.execute("PRAGMA wal_autocheckpoint")
        assert c.fetchone()[0] == ChainedSQLiteApplicationRecorder.WAL_AUTOCHECKPOINT
        c.execute("PRAGMA journal_mode")
        assert c.fetchone()[0] == "wal"


def test_a_connection_that_writes_events_keeps_a_bigger_page_cache(sqlite_tracker):
    # Writes touch index pages at random; a connection that only reads (a follower reading
    # the log in order) keeps SQLite's default cache, so its process stays small.
    from tracker.integrity import ChainedSQLiteApplicationRecorder

    pool = sqlite_tracker.recorder.datastore.pool
    reader = pool._create_connection()._sqlite_conn
    default = reader.execute("PRAGMA cache_size").fetchone()[0]
    sqlite_tracker.record_report(base_report())
    with sqlite_tracker.recorder.datastore.transaction(commit=False) as c:
        c.execute("PRAGMA cache_size")
        assert c.fetchone()[0] == -ChainedSQLiteApplicationRecorder.WRITER_CACHE_KIB
    assert reader.execute("PRAGMA cache_size").fetchone()[0] == default
    assert default != -ChainedSQLiteApplicationRecorder.WRITER_CACHE_KIB


def test_the_sqlite_default_does_not_load_psycopg(tmp_path):
    # An import's view helper starts while the import writes: every module it loads
    # delays it. The PostgreSQL recorder (and psycopg) load only for a PostgreSQL store.
    import subprocess
    import sys

    code = ("import sys\n"
            "from api.services import Services\n"
            "from tracker.config import Settings\n"
            f"s = Services.from_settings(Settings(database_url='sqlite:///{tmp_path}/e.sqlite'))\n"
            "s.runner.catch_up()\n"
            "print('psycopg' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_verify_checks_the_log_as_it_stood_while_reports_keep_landing(database_url,
                                                                      make_tracker):
    # Verify reads events and chain entries in separate pages while writers append. A report
    # that lands between those reads is not a deleted event: the check covers the log up to
    # the head it saw first, and the next check covers the rest.
    tracker = make_tracker(database_url)
    tracker.record_report(base_report())
    recorder = tracker.recorder
    select = recorder.select_notifications
    landed = []

    def select_then_record(*args, **kwargs):
        batch = select(*args, **kwargs)
        if not landed:
            landed.append(tracker.record_report(base_report("r-later", name="Reuters")))
        return batch

    recorder.select_notifications = select_then_record
    try:
        during = tracker.verify()
    finally:
        del recorder.select_notifications
    assert landed and during.ok, during.problem
    assert during.checked == 5
    after = tracker.verify()
    assert after.ok and after.checked > 5


def test_the_chain_hash_is_the_documented_one():
    # Stored logs are verified against entries written by every earlier version: the hash
    # of an entry must stay sha256 over the length-prefixed parts, in this order.
    import hashlib
    from uuid import UUID

    from tracker.integrity import GENESIS, chain_hash

    oid = UUID("12345678-1234-5678-1234-567812345678")
    state = '{"killed": 30, "place": "Ménaka"}'.encode()
    spec = hashlib.sha256()
    for part in (GENESIS, "7", oid.hex, "2", "tracker.domain.incident:Incident.Reported"):
        spec.update(len(part.encode()).to_bytes(4, "big") + part.encode())
    spec.update(len(state).to_bytes(8, "big") + state)
    assert chain_hash(GENESIS, 7, oid, 2, "tracker.domain.incident:Incident.Reported",
                      state) == spec.hexdigest()


def test_the_views_read_of_the_log_is_the_librarys(tracker):
    """`select_stored` (the views' read of the log) returns what the library's
    `select_notifications` does, position, aggregate id, topic and bytes, on both
    backends, with its bounds (after, limit, stop) meaning the same."""
    tracker.record_report(base_report())
    tracker.record_report({"report": "r-two", "source": {"name": "Wire", "kind": "media"},
                           "facts": [{"fact": "casualties", "incident": "niaki",
                                      "killed": 31}]})
    recorder = tracker.recorder
    head = recorder.max_notification_id()
    assert head > 6
    for after, limit, stop in ((0, 100, None), (2, 3, None), (1, 100, head - 2), (head, 5, None)):
        ours = recorder.select_stored(after, limit, stop)
        theirs = recorder.select_notifications(after, limit, stop=stop, inclusive_of_start=False)
        assert [(n.id, n.topic, bytes(n.state)) for n in ours] == [
            (n.id, n.topic, bytes(n.state)) for n in theirs]
        assert [getattr(n.originator_id, "hex", n.originator_id) for n in ours] == [
            n.originator_id.hex for n in theirs]
        # What the projector calls: the same rows, whatever the recorder.
        assert tracker.select_stored(after, limit, stop) == ours
    assert recorder.select_stored(head, 5) == []


def test_the_actors_events_are_read_through_their_index_as_the_library_reads_them(tracker):
    """`actor_events` (an import's names) returns the actors' events the library's
    `select_notifications` returns, in order, paged by (after, limit), on both backends;
    its query uses the partial index, not a walk of the log."""
    tracker.record_report(base_report())
    tracker.record_report({"report": "r-alias", "source": {"name": "Desk", "kind": "analyst"},
                           "facts": [{"fact": "alias", "actor": "jnim", "alias": "GSIM"},
                                     {"fact": "casualties", "incident": "niaki",
                                      "killed": 31}]})
    tracker.record_report({"report": "r-three", "source": {"name": "Desk", "kind": "analyst"},
                           "facts": [{"fact": "actor", "id": "isgs", "name": "ISGS",
                                      "kind": "armed_group"}]})
    everything = tracker.recorder.select_notifications(0, 1000, inclusive_of_start=False)
    actors = [(n.id, n.topic, bytes(n.state), n.originator_id, n.originator_version)
              for n in everything if n.topic.startswith("tracker.domain.actor:")]
    assert len(actors) >= 4 and len(actors) < len(everything)

    def read(after: int, limit: int) -> list[tuple]:
        return [(n.id, n.topic, bytes(n.state), n.originator_id, n.originator_version)
                for n in tracker.actor_events(after, limit)]

    assert read(0, 1000) == actors
    assert read(actors[0][0], 2) == actors[1:3]
    assert read(actors[-1][0], 10) == []
    # Decodable as the library's own notifications are.
    assert [type(tracker.mapper.to_domain_event(n)).__name__
            for n in tracker.actor_events(0, 1000)][:1] == ["ActorRegistered"]


def test_the_actors_index_is_used_and_made_for_an_existing_sqlite_store(sqlite_database_url):
    from tracker.application import ConflictTracker
    from tracker.config import Settings

    tracker = ConflictTracker.from_settings(Settings(database_url=sqlite_database_url))
    tracker.record_report(base_report())
    path = sqlite_path(sqlite_database_url)
    tracker.close()
    with sqlite3.connect(path) as conn:  # a store made before the index existed
        conn.execute("DROP INDEX stored_events_actor_events")
    tracker = ConflictTracker.from_settings(Settings(database_url=sqlite_database_url))
    assert [n.topic.rsplit(".", 1)[1] for n in tracker.actor_events(0, 100)] == [
        "ActorRegistered", "ActorRegistered"]
    tracker.close()
    with sqlite3.connect(path) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT rowid, * FROM stored_events INDEXED BY "
            "stored_events_actor_events WHERE topic LIKE 'tracker.domain.actor:%' "
            "AND rowid > 0 ORDER BY rowid LIMIT 10").fetchall()
    assert "stored_events_actor_events" in str(plan)
