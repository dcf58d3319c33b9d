"""The views over the seed and over small logs, on SQLite and real PostgreSQL read models."""

import json
from datetime import date, datetime, timedelta

import pytest

from projections.readmodel.queries import IncidentFilter, QueryError, open_views
from projections.readmodel.store import ReadModelStore
from projections.runner import Projector
from tests.conftest import base_report
from tracker.exceptions import EntityNotFoundError


@pytest.fixture
def runner(seeded, read_model):
    r = Projector(seeded, read_model)
    r.catch_up()
    return r


def snapshot(store, as_of=None) -> str:
    with open_views(store, as_of) as views:
        return json.dumps({
            "leadership": views.leadership("jnim"),
            "casualties": {by: views.casualties(by) for by in
                           ("country", "admin1", "actor", "month", "type", "operation")},
            "operations": views.operations(),
            "incidents": views.incidents(limit=1000),
        }, sort_keys=True)


def test_seed_leadership(runner):
    with open_views(runner.store) as views:
        jnim = views.leadership("jnim")
    assert jnim["name"] == "Jama'at Nusrat al-Islam wal-Muslimin"
    assert [(e["person"], e["role"]) for e in jnim["leaders"]] == [("iyad-ag-ghali", "leader")]
    former = {(e["person"], e["role"]): e for e in jnim["former"]}
    deputy = former[("bah-ag-moussa", "deputy")]
    assert (deputy["reason"], deputy["incident"], deputy["until"]) == (
        "killed", "menaka-raid-2020-11", "2020-11-13")
    assert deputy["name"] == "Bah ag Moussa"


def test_a_group_is_found_by_a_recorded_alias_too(runner):
    with open_views(runner.store) as views:
        assert views.leadership("JNIM")["group"] == "jnim"


def test_seed_casualties(runner):
    with open_views(runner.store) as views:
        by_country = views.casualties("country")
        admin1_rows = views.casualties("admin1")["rows"]
        by_admin1 = {r["name"]: r["killed"]["best"] for r in admin1_rows}
        by_month = {r["key"]: r["incidents"] for r in views.casualties("month")["rows"]}
    assert [(r["key"], r["killed"]["best"]) for r in by_country["rows"]] == [("Mali", 35)]
    assert by_country["total"] == {"best": 35, "low": 35, "high": 35}
    assert (by_admin1["Mopti"], by_admin1["Menaka"]) == (30, 5)
    # Regions are keyed with their country, and carry both names as fields.
    assert {(r["key"], r["country"], r["admin1"]) for r in admin1_rows} >= {
        ("Mali / Mopti", "Mali", "Mopti"), ("Mali / Menaka", "Mali", "Menaka")}
    assert by_month["2020-11"] == 2  # the corrected dates, not 2015


def test_seed_operations(runner):
    with open_views(runner.store) as views:
        ops = {o["id"]: o for o in views.operations()["operations"]}
    assert (ops["barkhane"]["status"], ops["takuba"]["status"]) == ("active", "active")
    assert ops["barkhane"]["incidents"] == ["menaka-raid-2020-11", "niaki-battle-2020-11"]
    assert ops["barkhane"]["killed"]["best"] == 35
    assert ops["takuba"]["partners"] == ["estonia", "mali-armed-forces"]


def test_seed_incident_detail_keeps_sources_and_corrections(runner):
    with open_views(runner.store) as views:
        niaki = views.incident("niaki-battle-2020-11")
    assert niaki["date"] == "2020-11-13"
    assert niaki["killed"]["best"] == 30
    assert niaki["sources"][-1] == "French Ministry of the Armed Forces"
    assert niaki["corrections"][0]["previous"] == "2015-11-13"
    assert {m["action"] for m in niaki["materiel"]} == {"seized", "destroyed"}


def test_catching_up_again_changes_nothing(runner):
    before = snapshot(runner.store)
    assert runner.catch_up() == 0
    fresh = Projector(runner.tracker, runner.store)  # another process, nothing cached
    assert fresh.catch_up() == 0
    assert snapshot(runner.store) == before


def test_two_projectors_interleaving_small_batches_land_each_event_once(sqlite_tracker,
                                                                        read_model):
    sqlite_tracker.record_report(base_report())
    sqlite_tracker.record_report({"report": "r2", "source": {"name": "NGO", "kind": "ngo"},
                                  "facts": [{"fact": "casualties", "incident": "niaki",
                                             "killed": 33}]})
    a = Projector(sqlite_tracker, read_model, batch_size=2)
    b = Projector(sqlite_tracker, read_model, batch_size=2)
    gen = a.ensure_active()
    a._batch(gen, 4)
    b._batch(gen, 5)  # b folds on what a wrote; a's cache is now stale
    a.catch_up()
    b.catch_up()
    with open_views(read_model) as views:
        rows = views.casualties("country")["rows"]
    assert [(r["key"], r["killed"], r["incidents"]) for r in rows] == [
        ("Mali", {"best": 33, "low": 30, "high": 33}, 1)]
    assert a.verify() == []


def test_a_later_figure_from_the_same_source_supersedes_in_the_tally(sqlite_tracker,
                                                                     read_model):
    sqlite_tracker.record_report(base_report())
    ministry = {"name": "Ministry", "kind": "official"}
    sqlite_tracker.record_report({"report": "r2", "source": ministry,
                                  "facts": [{"fact": "casualties", "incident": "niaki",
                                             "actor": "jnim", "killed": 32}]})
    sqlite_tracker.record_report({"report": "r3", "source": {"name": "NGO", "kind": "ngo"},
                                  "facts": [{"fact": "casualties", "incident": "niaki",
                                             "actor": "jnim", "killed": 40}]})
    Projector(sqlite_tracker, read_model).catch_up()
    with open_views(read_model) as views:
        assert views.casualties("country")["total"] == {"best": 40, "low": 32, "high": 40}


def test_retracting_a_report_drops_its_figure_and_changes_name_the_retraction(
        sqlite_tracker, read_model):
    runner = Projector(sqlite_tracker, read_model)
    sqlite_tracker.record_report(base_report())
    sqlite_tracker.record_report({"report": "r2", "source": {"name": "Blog", "kind": "media"},
                                  "facts": [{"fact": "casualties", "incident": "niaki",
                                             "killed": 300}]})
    runner.catch_up()
    with open_views(read_model) as views:
        assert views.casualties("country")["total"]["best"] == 300
        before_retraction = views.position
    sqlite_tracker.record_report({"report": "r3", "source": {"name": "Desk", "kind": "analyst"},
                                  "facts": [{"fact": "retraction", "target": {"report": "r2"},
                                             "reason": "fabricated"}]})
    runner.catch_up()
    with open_views(read_model) as views:
        assert views.casualties("country")["total"] == {"best": 30, "low": 30, "high": 30}
        t0 = datetime(2000, 1, 1)
        everything = views.changes("country", 0, views.position, t0, None)
        retraction = views.changes("country", before_retraction, views.position, t0, None)
    [mali] = everything["rows"]
    assert (mali["before"]["best"], mali["after"]["best"]) == (0, 30)
    assert [c["report"] for c in mali["causes"]] == ["r-base", "r2", "r3"]
    [moved] = retraction["rows"]
    assert (moved["before"]["best"], moved["after"]["best"]) == (300, 30)
    assert [(c["report"], c["source"]) for c in moved["causes"]] == [("r3", "Desk")]


def test_retracting_an_incident_removes_it_from_every_view(sqlite_tracker, read_model):
    sqlite_tracker.record_report(base_report())
    sqlite_tracker.record_report({"report": "r2", "source": {"name": "Desk", "kind": "analyst"},
                                  "facts": [{"fact": "retraction", "target": {"incident": "niaki"},
                                             "reason": "never happened"}]})
    Projector(sqlite_tracker, read_model).catch_up()
    with open_views(read_model) as views:
        assert views.casualties("country")["rows"] == []
        assert views.incidents()["incidents"] == []
        assert views.incident("niaki")["retracted"] == "never happened"


def test_filters_and_paging(runner):
    with open_views(runner.store) as views:
        mopti = views.casualties("admin1", IncidentFilter(actor="jnim",
                                                          date_from=date(2020, 11, 1)))
        assert {r["key"]: r["killed"]["best"] for r in mopti["rows"]} == {
            "Mali / Mopti": 30, "Mali / Menaka": 5}
        first = views.incidents(IncidentFilter(country="mali"), limit=3)
        assert len(first["incidents"]) == 3 and first["next"]
        rest = views.incidents(IncidentFilter(country="mali"), limit=3, cursor=first["next"])
        assert [i["id"] for i in rest["incidents"]] == ["mali-coup-2020"]
        assert rest["next"] is None
        government = views.incidents(IncidentFilter(actor="mali-government"))["incidents"]
        assert government[0]["id"] == "mali-prisoner-exchange-2020-10"
        battles = views.incidents(IncidentFilter(type="battle", admin1="mopti"))["incidents"]
        assert [i["id"] for i in battles] == ["niaki-battle-2020-11"]
        heavy = views.incidents(IncidentFilter(min_killed=10))["incidents"]
        assert [i["id"] for i in heavy] == ["niaki-battle-2020-11"]
        by_source = views.incidents(IncidentFilter(source="French Military Spokesman"))
        assert {i["id"] for i in by_source["incidents"]} <= {
            "niaki-battle-2020-11", "menaka-raid-2020-11"}


def test_a_read_statement_is_built_once_per_shape_and_its_values_bound(runner):
    """The queries are SQLAlchemy Core statements kept per (generation, present or as of,
    shape): other values build no new statement and still decide the answer; another
    combination of filters is another statement."""
    store = runner.store
    kept = store._queries  # noqa: SLF001 - what the store keeps is the point here
    with open_views(store) as views:
        mali = views.incidents(IncidentFilter(country="mali"))["incidents"]
        built = len(kept)
        # Another value: no new statement, and it decides the answer (no incident was
        # ever in Niger: a refusal naming it, from the same lookup statement).
        with pytest.raises(QueryError, match="unknown country 'niger'"):
            views.incidents(IncidentFilter(country="niger"))
        assert len(kept) == built
        heavy = views.incidents(IncidentFilter(country="mali", min_killed=10))["incidents"]
        assert len(kept) == built + 1
        assert views.incidents(IncidentFilter(country="mali", min_killed=1000)
                               )["incidents"] == []
        assert len(kept) == built + 1
    assert len(mali) == 4 and [i["id"] for i in heavy] == ["niaki-battle-2020-11"]
    # As of a moment: one more statement, whichever position it reads at.
    events = [e for _, e in runner.tracker.iter_events()]
    with open_views(store, events[0].timestamp - timedelta(seconds=1)) as empty:
        assert empty.incidents(IncidentFilter(country="mali"))["incidents"] == []
    built = len(kept)
    with open_views(store, datetime.now().astimezone()) as now:
        assert now.incidents(IncidentFilter(country="mali"))["incidents"] == mali
    assert len(kept) == built


def test_unknown_group_is_not_found(runner):
    with open_views(runner.store) as views, pytest.raises(EntityNotFoundError):
        views.leadership("nobody")


def test_as_of_before_the_seed_is_empty_and_between_reports_is_uncorrected(runner):
    events = [e for _, e in runner.tracker.iter_events()]
    first = events[0].timestamp
    correction = next(e for e in events if type(e).__name__ == "ReportRecorded"
                      and e.key == "corrections-2020-11-article-errors")
    with open_views(runner.store, first - timedelta(seconds=1)) as empty:
        assert empty.casualties("country")["rows"] == []
        assert empty.operations()["operations"] == []
        with pytest.raises(EntityNotFoundError):
            empty.leadership("jnim")
    corrected_at = datetime.fromisoformat(correction.provenance["recorded_at"])
    with open_views(runner.store, corrected_at - timedelta(microseconds=1)) as views:
        assert views.incident("niaki-battle-2020-11")["date"] == "2015-11-13"
        assert {r["key"] for r in views.casualties("month")["rows"]} >= {"2015-11"}
        deputy = next(e for e in views.leadership("jnim")["former"] if e["role"] == "deputy")
        assert deputy["until"] == "2015-11-13"


def test_rebuild_is_blue_green_and_gives_identical_output(runner):
    before = snapshot(runner.store)
    old = runner.store.active()
    gen, replaced = runner.rebuild()
    assert gen != old and replaced == old
    assert set(runner.store.generations()) == {gen}  # the old tables are gone
    assert snapshot(runner.store) == before


def test_verify_passes_then_names_a_hand_altered_row(runner):
    from sqlalchemy import text

    assert runner.verify() == []
    store = runner.store
    gen = store.active()
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE g{gen}_tallies SET best = 36 WHERE dim = 'country' "
                             "AND key = 'Mali' AND valid_to IS NULL")
    differences = runner.verify()
    assert len(differences) == 1 and not differences.truncated
    (d,) = differences
    assert (d.table, d.side, d.key["dim"], d.key["key"]) == ("tallies", "both", "country",
                                                             "Mali")
    assert d.columns == {"best": (36, 35)}
    assert d.line().startswith("casualties.tallies [dim 'country', key 'Mali', valid_from ")
    assert d.line().endswith("]: best: live 36, rebuilt 35")
    # A row one side lacks is named with its values, its document summarised.
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE g{gen}_tallies SET best = 35 WHERE dim = 'country' "
                             "AND key = 'Mali' AND valid_to IS NULL")
        deleted = conn.execute(text(f"DELETE FROM g{gen}_docs WHERE kind = 'actor' AND "
                                    "doc LIKE :jnim AND valid_to IS NULL"),
                               {"jnim": '%"id":"jnim"%'})
        assert deleted.rowcount == 1
    (gone,) = runner.verify()
    assert (gone.table, gone.side, gone.key["id"]) == ("docs", "rebuilt", "jnim")
    line = gone.line()
    assert line.startswith("documents.docs [kind 'actor', id 'jnim', valid_from ")
    assert "missing from the live views (the rebuild has it): doc {'id': 'jnim'" in line
    assert runner.verify(limit=0).truncated


def operations_report(report_id: str, facts: list) -> dict:
    return {"report": report_id, "source": {"name": "Desk", "kind": "analyst"}, "facts": facts}


def test_an_incident_follows_its_operation_through_corrections_and_retraction(
        sqlite_tracker, read_model):
    runner = Projector(sqlite_tracker, read_model)
    sqlite_tracker.record_report(base_report())
    # Linked by a correction, after it was reported.
    sqlite_tracker.record_report(operations_report("r-ops", [
        {"fact": "operation", "id": "op-a", "name": "A", "lead": "france"},
        {"fact": "correction", "target": {"incident": "niaki"}, "field": "operation",
         "value": "op-a", "reason": "linked"},
    ]))
    runner.catch_up()

    def ops():
        with open_views(read_model) as views:
            return {o["id"]: o for o in views.operations()["operations"]}

    assert (ops()["op-a"]["incidents"], ops()["op-a"]["killed"]["best"]) == (["niaki"], 30)
    # Moved to another operation: it leaves the first one, with its deaths.
    sqlite_tracker.record_report(operations_report("r-ops-2", [
        {"fact": "operation", "id": "op-b", "name": "B", "lead": "france"},
        {"fact": "correction", "target": {"incident": "niaki"}, "field": "operation",
         "value": "op-b", "reason": "relinked"},
        {"fact": "casualties", "incident": "niaki", "killed": 33},
    ]))
    runner.catch_up()
    assert (ops()["op-a"]["incidents"], ops()["op-a"]["killed"]["best"]) == ([], 0)
    assert (ops()["op-b"]["incidents"], ops()["op-b"]["killed"]["best"]) == (["niaki"], 33)
    # Retracted: it counts for no operation.
    sqlite_tracker.record_report(operations_report("r-ops-3", [
        {"fact": "retraction", "target": {"incident": "niaki"}, "reason": "never happened"}]))
    runner.catch_up()
    assert (ops()["op-b"]["incidents"], ops()["op-b"]["killed"]["best"]) == ([], 0)
    with open_views(read_model) as views:
        assert views.operations("op-b")["status"] == "active"


def test_casualties_by_operation(runner):
    with open_views(runner.store) as views:
        rows = views.casualties("operation")["rows"]
    assert [(r["key"], r["killed"]["best"], r["incidents"]) for r in rows] == [
        ("barkhane", 35, 2)]


def test_by_actor_rows_carry_the_actors_name(runner):
    with open_views(runner.store) as views:
        rows = {r["key"]: r["name"] for r in views.casualties("actor")["rows"]}
    assert rows["jnim"] == "Jama'at Nusrat al-Islam wal-Muslimin"


def test_by_actor_under_a_filter_adds_up_as_the_unfiltered_tally(sqlite_tracker, read_model):
    # niaki: a figure naming jnim; x: figures naming no actor (each actor counts them).
    sqlite_tracker.record_report(base_report())
    sqlite_tracker.record_report({"report": "r2", "source": {"name": "W", "kind": "media"},
                                  "facts": [
        {"fact": "incident", "id": "x", "date": "2021-01-01", "type": "battle",
         "location": {"name": "X", "country": "Mali"},
         "actors": [{"actor": "france", "side": "a"}, {"actor": "jnim", "side": "b"}]},
        {"fact": "casualties", "incident": "x", "killed": 7}]})
    sqlite_tracker.record_report({"report": "r3", "source": {"name": "V", "kind": "media"},
                                  "facts": [{"fact": "casualties", "incident": "x",
                                             "killed": 9, "low": 8}]})
    Projector(sqlite_tracker, read_model).catch_up()
    with open_views(read_model) as views:
        plain = views.casualties("actor")["rows"]
        filtered = views.casualties("actor", IncidentFilter(date_from=date(1900, 1, 1)))["rows"]
    assert [(r["key"], r["killed"], r["incidents"]) for r in filtered] == [
        (r["key"], r["killed"], r["incidents"]) for r in plain]
    assert {r["key"]: r["killed"]["best"] for r in plain} == {"jnim": 39, "france": 9}


def test_a_unit_left_to_the_next_batch_is_decoded_once(sqlite_tracker, read_model,
                                                       monkeypatch):
    # A batch never ends inside a unit (one report's events): the trailing unit goes to the
    # next batch, already decoded, instead of being read and decoded again.
    import projections.runner as runner_module

    for n in range(6):
        sqlite_tracker.record_report({
            "report": f"r{n}", "source": {"name": f"S{n}", "kind": "media"},
            "facts": [{"fact": "incident", "id": f"i{n}", "date": "2021-01-0" + str(n + 1),
                       "type": "battle", "location": {"name": "X", "country": "Mali"}},
                      {"fact": "casualties", "incident": f"i{n}", "killed": n}]})
    decoded = []
    real = runner_module.decode

    def counting(mapper, notes):
        decoded.extend(n.id for n in notes)
        return real(mapper, notes)

    monkeypatch.setattr(runner_module, "decode", counting)
    projector = Projector(sqlite_tracker, read_model, batch_size=4)  # units are 3 events
    projector.catch_up()
    assert sorted(decoded) == list(range(1, sqlite_tracker.max_position() + 1))
    assert projector.verify() == []
    with open_views(read_model) as views:
        assert views.casualties("country")["rows"][0]["killed"]["best"] == sum(range(6))


def test_actor_search_takes_like_wildcards_literally(sqlite_tracker, read_model):
    """`q=%` or `q=_` matches the actors whose id, name or alias holds that character,
    not every actor (LIKE wildcards escaped, on both backends)."""
    sqlite_tracker.record_report(base_report())
    sqlite_tracker.record_report({
        "report": "r-odd", "source": {"name": "Ministry", "kind": "official"},
        "facts": [{"fact": "actor", "id": "brigade-50", "name": "The 50% Brigade",
                   "kind": "armed_group", "aliases": ["b_50!"]}]})
    runner = Projector(sqlite_tracker, read_model)
    runner.catch_up()
    with open_views(read_model) as views:
        def found(q):
            return [a["id"] for a in views.actors(q)["actors"]]

        assert len(found(None)) == 3
        assert found("%") == ["brigade-50"]
        assert found("_") == ["brigade-50"]
        assert found("!") == ["brigade-50"]
        assert found("0% b") == ["brigade-50"]
        assert found("b_5") == ["brigade-50"]
        assert found("j%m") == [] and found("jn_m") == [] and found("!%") == []
        assert found("jnim") == ["jnim"]


def test_unknown_civilians_are_unknown_not_zero_and_say_how_many_give_them(sqlite_tracker,
                                                                           tmp_path):
    """A tally's civilians (wounded) are the sum over the incidents a source gives them for,
    with that count; where none does they are null, not 0 (issue: "unknown is shown as 0")."""
    store = ReadModelStore(f"sqlite:///{tmp_path / 'v.sqlite'}")
    runner = Projector(sqlite_tracker, store)

    def report(rid, incident, country, **figure):
        return {"report": rid, "source": {"name": "S", "kind": "media"}, "facts": [
            {"fact": "incident", "id": incident, "date": "2021-01-01", "type": "battle",
             "location": {"name": "X", "country": country}},
            {"fact": "casualties", "incident": incident, "killed": 5, **figure}]}

    for r in (report("a", "a", "Mali", breakdown={"civilians": 3}), report("b", "b", "Mali"),
              report("c", "c", "Niger", wounded=2)):
        sqlite_tracker.record_report(r)
    runner.catch_up()
    with open_views(store) as views:
        rows = {r["key"]: r for r in views.casualties("country")["rows"]}
        filtered = views.casualties("country", IncidentFilter(country="Niger"))["rows"]
    assert rows["Mali"]["civilians"] == {"best": 3, "reported_by": 1}
    assert rows["Mali"]["wounded"] == {"best": None, "reported_by": 0}
    assert rows["Niger"]["civilians"] == {"best": None, "reported_by": 0}
    assert filtered[0]["wounded"] == {"best": 2, "reported_by": 1}
    store.close()


def test_the_total_by_operation_is_what_its_rows_count(runner):
    runner.tracker.record_report({
        "report": "no-op", "source": {"name": "S", "kind": "media"},
        "facts": [{"fact": "incident", "id": "no-op", "date": "2021-01-01", "type": "riot",
                   "location": {"name": "X", "country": "Mali"}},
                  {"fact": "casualties", "incident": "no-op", "killed": 4}]})
    runner.catch_up()
    with open_views(runner.store) as views:
        by_operation = views.casualties("operation")
        everything = views.casualties("country")["total"]
    assert by_operation["total"] == {
        k: sum(r["killed"][k] for r in by_operation["rows"]) for k in ("best", "low", "high")}
    assert by_operation["total"]["best"] < everything["best"]
    assert "operation" in by_operation["total_of"]


def test_a_table_loaded_in_bulk_is_analyzed_as_it_grows(pg_views_url):
    """PostgreSQL: rows loaded by COPY leave a table without statistics until autovacuum
    comes by, and the planner may then end a batch's versions by scanning the whole table
    (a rebuild slowing with its size). The store analyzes a table once the rows it loaded
    have doubled since the last ANALYZE (from ANALYZE_FROM on)."""
    from projections.readmodel.store import ANALYZE_FROM, ReadModelStore, table

    store = ReadModelStore(pg_views_url)
    try:
        store.setup()
        gen = store.new_generation()
        name = table(gen, "tally_keys")

        def analyzed() -> float:
            with store.reading() as conn:
                return float(conn.exec_driver_sql(  # PostgreSQL's catalog, as it is
                    "SELECT reltuples FROM pg_class WHERE oid = "
                    f"'{store.schema}.{name}'::regclass").scalar_one())

        def load(start: int, n: int) -> None:
            with store.writing(gen, bulk=True) as (conn, _):
                store.copy_rows(conn, name, ["dim", "key"],
                                [("bench", f"k{i}") for i in range(start, start + n)])

        load(0, ANALYZE_FROM - 1)
        assert analyzed() <= 0  # never analyzed (-1), or empty
        load(ANALYZE_FROM - 1, 1)
        assert analyzed() == ANALYZE_FROM
        load(ANALYZE_FROM, ANALYZE_FROM - 1)  # not doubled yet: the statistics stand
        assert analyzed() == ANALYZE_FROM
        load(2 * ANALYZE_FROM - 1, 1)
        assert analyzed() == 2 * ANALYZE_FROM
    finally:
        store.close()
