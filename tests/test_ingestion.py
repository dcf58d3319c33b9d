"""Importing ACLED and UCDP GED exports: fixtures written for the tests."""

import csv
from pathlib import Path

import pytest

from projections.readmodel.queries import open_views
from projections.readmodel.store import ReadModelStore
from projections.runner import Projector
from tracker.ingestion import acled, ucdp
from tracker.ingestion.importer import Importer
from tracker.ingestion.rows import IngestionError, RowError

DATA = Path(__file__).parent / "fixtures" / "datasets"


def rows(path: Path):
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        for row in reader:
            yield reader.line_num, row


class ViewsAtHead:
    """The present views of a fresh read model, each query in its own snapshot."""

    def __init__(self, store):
        self.store = store

    def __getattr__(self, name):
        def query(*args, **kwargs):
            with open_views(self.store) as views:
                return getattr(views, name)(*args, **kwargs)
        return query


def views_of(tracker):
    store = ReadModelStore("sqlite:///:memory:")
    Projector(tracker, store).catch_up()
    return ViewsAtHead(store)


# -- pure parsers ------------------------------------------------------------------------------


def test_acled_dyadic_rows_map_to_incidents():
    parsed = list(acled.parse_rows(rows(DATA / "acled_dyadic.csv"), monadic=False))
    niaki, strike, bad, protest = parsed
    assert niaki.incident_id == "acled:MLI1001"
    assert niaki.details["date"] == "2020-11-12" and niaki.details["type"] == "battle"
    assert niaki.details["location"] == {"name": "Niaki", "country": "Mali", "admin1": "Mopti",
                                         "admin2": "Douentza", "admin3": "Boni",
                                         "region": "Western Africa", "latitude": 15.01,
                                         "longitude": -2.5, "geo_precision": 2}
    assert [(a.name, a.side, a.kind) for a in niaki.actors] == [
        ("Military Forces of France (2017-)", "a", "state_force"),
        ("JNIM: Group for Support of Islam and Muslims", "b", "armed_group")]
    assert niaki.killed == 30 and niaki.ref["version"] == "1605559070"
    assert strike.details["date_precision"] == "week"
    assert [a.associated for a in strike.actors] == [False, True, False]
    assert isinstance(bad, RowError) and bad.line == 4 and "event_date" in bad.reason
    assert protest.details["date_precision"] == "month" and protest.details["type"] == "protest"


def test_acled_monadic_rows_of_one_event_are_one_incident():
    parsed = list(acled.parse_rows(rows(DATA / "acled_monadic.csv"), monadic=True))
    assert [p.incident_id for p in parsed] == ["acled:BFO9001", "acled:BFO9002"]
    first = parsed[0]
    assert [(a.name, a.side) for a in first.actors] == [
        ("Military Forces of Burkina Faso (2022-)", "a"), ("Islamic State (Sahel)", "b")]
    assert first.killed == 12
    assert first.details["attributes"]["disorder_type"] == "Political violence"


def test_ucdp_rows_keep_best_low_high_as_given():
    parsed = list(ucdp.parse_rows(rows(DATA / "ucdp_small.csv"), release="23.1"))
    first, second, bad = parsed
    assert (first.killed, first.low, first.high) == (0, 0, 20)
    assert first.details["type"] == "violence_against_civilians"
    assert first.ref["headline"] == "TEST HEADLINE, WITH COMMA."
    assert (second.killed, second.low, second.high) == (8, 10, 12)
    assert "range_note" in second.details["attributes"]
    assert second.details["date_end"] == "1992-03-04"
    assert second.details["date_precision"] == "week"
    assert second.breakdown == {"side_a": 4, "side_b": 3, "civilians": 0, "unknown": 1}
    assert isinstance(bad, RowError) and "type_of_violence" in bad.reason


# -- importing ---------------------------------------------------------------------------------


def test_an_acled_import_reports_bad_rows_and_imports_the_rest(sqlite_tracker):
    summary = Importer(sqlite_tracker, "acled").run(DATA / "acled_dyadic.csv")
    assert (summary.rows, summary.new, summary.rejected) == (4, 3, 1)
    assert summary.errors == [f"{DATA / 'acled_dyadic.csv'}:4: event_date 'not a date' is not "
                              "a date in a form these exports use (e.g. '13 November 2020', "
                              "'2020-11-13', '13-Nov-20')"]
    views = views_of(sqlite_tracker)
    assert views.casualties("country")["rows"][0]["killed"]["best"] == 30
    event = sqlite_tracker.get_history("incident", "acled:MLI1001")[0]
    assert event["provenance"]["ref"] == {"dataset": "ACLED", "row": "MLI1001", "line": 2,
                                          "version": "1605559070",
                                          "sources": "Ministry of Armed Forces; AFP"}
    assert event["provenance"]["source"]["kind"] == "dataset"


def test_strict_refuses_the_whole_file(sqlite_tracker):
    with pytest.raises(IngestionError, match="1 bad row"):
        Importer(sqlite_tracker, "acled", strict=True).run(DATA / "acled_dyadic.csv")
    assert sqlite_tracker.max_position() == 0


def test_a_file_that_is_not_an_export_is_refused(sqlite_tracker, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(IngestionError, match="missing column"):
        Importer(sqlite_tracker, "acled").run(other)


def test_the_same_file_twice_records_nothing_new(sqlite_tracker):
    Importer(sqlite_tracker, "acled").run(DATA / "acled_dyadic.csv")
    head = sqlite_tracker.max_position()
    again = Importer(sqlite_tracker, "acled").run(DATA / "acled_dyadic.csv")
    assert (again.new, again.corrected, again.unchanged, again.events) == (0, 0, 3, 0)
    assert sqlite_tracker.max_position() == head


def test_a_newer_export_corrects_only_the_changed_row(sqlite_tracker, tmp_path):
    Importer(sqlite_tracker, "acled").run(DATA / "acled_dyadic.csv")
    head = sqlite_tracker.max_position()
    newer = tmp_path / "newer.csv"
    text = (DATA / "acled_dyadic.csv").read_text()
    newer.write_text(text.replace('near Niaki.",30,1605559070', 'near Niaki.",34,1606000000'))

    summary = Importer(sqlite_tracker, "acled").run(newer)

    assert (summary.new, summary.corrected, summary.unchanged) == (0, 1, 2)
    new_events = sqlite_tracker.list_events(after=head)["events"]
    assert {e["entity"]["id"] for e in new_events if e["entity"]["kind"] == "incident"} == {
        "acled:MLI1001"}
    figure = next(e for e in new_events if e["type"] == "CasualtiesReported")
    assert figure["provenance"]["ref"]["version"] == "1606000000"
    views = views_of(sqlite_tracker)
    assert views.casualties("country")["rows"][0]["killed"]["best"] == 34
    assert views.casualties("country")["rows"][0]["incidents"] == 3


def test_a_changed_field_is_recorded_as_a_correction(sqlite_tracker, tmp_path):
    Importer(sqlite_tracker, "acled").run(DATA / "acled_dyadic.csv")
    newer = tmp_path / "newer.csv"
    newer.write_text((DATA / "acled_dyadic.csv").read_text().replace(
        "Mali,Mopti,Douentza,Boni,Niaki", "Mali,Segou,Douentza,Boni,Niaki"))
    Importer(sqlite_tracker, "acled").run(newer)
    corrected = sqlite_tracker.get_history("incident", "acled:MLI1001")[-1]
    assert corrected["type"] == "IncidentCorrected"
    assert (corrected["payload"]["field"], corrected["payload"]["previous"],
            corrected["payload"]["value"]) == ("location.admin1", "Mopti", "Segou")


def test_monadic_deaths_are_counted_once(sqlite_tracker):
    summary = Importer(sqlite_tracker, "acled").run(DATA / "acled_monadic.csv")
    # rows are the file's rows; a monadic event spans several of them
    assert (summary.rows, summary.incidents, summary.new) == (4, 2, 2)
    views = views_of(sqlite_tracker)
    country = views.casualties("country")["rows"][0]
    assert (country["key"], country["killed"]["best"], country["incidents"]) == (
        "Burkina Faso", 17, 2)


def test_deletions_retract_and_the_tallies_drop(sqlite_tracker):
    Importer(sqlite_tracker, "acled").run(DATA / "acled_dyadic.csv")
    summary = Importer(sqlite_tracker, "acled").run_deletions(DATA / "acled_deletions.csv")
    assert (summary.rows, summary.retracted, summary.unchanged) == (2, 1, 1)
    views = views_of(sqlite_tracker)
    assert views.casualties("country")["rows"][0]["killed"]["best"] == 0
    assert views.casualties("country")["rows"][0]["incidents"] == 2
    again = Importer(sqlite_tracker, "acled").run_deletions(DATA / "acled_deletions.csv")
    assert again.retracted == 0
    # The export imported again: the deleted incident's row is not "unchanged" (it stands
    # for nothing live), and stays out of the views.
    reimport = Importer(sqlite_tracker, "acled").run(DATA / "acled_dyadic.csv")
    assert (reimport.skipped_retracted, reimport.unchanged, reimport.new) == (1, 2, 0)
    assert views_of(sqlite_tracker).casualties("country")["rows"][0]["incidents"] == 2


def test_retract_missing_retracts_rows_gone_from_the_newer_file(sqlite_tracker, tmp_path):
    Importer(sqlite_tracker, "acled").run(DATA / "acled_dyadic.csv")
    shorter = tmp_path / "shorter.csv"
    lines = (DATA / "acled_dyadic.csv").read_text().splitlines(keepends=True)
    shorter.write_text("".join(lines[:2]))
    summary = Importer(sqlite_tracker, "acled").run(shorter, retract_missing=False)
    assert summary.retracted == 0
    summary = Importer(sqlite_tracker, "acled").run(shorter, retract_missing=True)
    assert summary.retracted == 2
    assert views_of(sqlite_tracker).casualties("country")["rows"][0]["incidents"] == 1


def test_dataset_actor_names_resolve_through_aliases(seeded):
    seeded.record_report({"report": "alias-jnim", "source": {"name": "Desk", "kind": "analyst"},
                          "facts": [{"fact": "alias", "actor": "jnim",
                                     "alias": "JNIM: Group for Support of Islam and Muslims"}]})
    Importer(seeded, "acled").run(DATA / "acled_dyadic.csv")
    niaki = seeded.get_entity("incident", "acled:MLI1001")
    assert {a["actor"] for a in niaki["details"]["actors"]} >= {"jnim"}
    by_actor = {r["key"]: r for r in views_of(seeded).casualties("actor")["rows"]}
    assert by_actor["jnim"]["killed"]["best"] == 35 + 30
    france = next(a["actor"] for a in niaki["details"]["actors"] if a["side"] == "a")
    assert france.startswith("acled:military-forces-of-france-2017")


def test_ucdp_import_flags_ranges_and_keeps_provenance(sqlite_tracker):
    summary = Importer(sqlite_tracker, "ucdp", release="23.1").run(DATA / "ucdp_small.csv")
    assert (summary.new, summary.rejected, summary.flagged) == (2, 1, 1)
    incident = views_of(sqlite_tracker).incident("ucdp-ged:2")
    basis = incident["killed"].pop("basis")
    assert incident["killed"] == {"best": 8, "low": 10, "high": 12,
                                  "flagged": "range does not contain best (kept as given)"}
    # A dataset's report has no publication date: it counts as published when recorded.
    assert (basis["rule"], basis["source"]) == ("single_source", "UCDP GED")
    assert basis["report"].startswith("ucdp-import-") and basis["published"]
    figure = sqlite_tracker.get_history("incident", "ucdp-ged:1")[1]
    assert figure["provenance"]["ref"]["release"] == "23.1"
    assert figure["payload"]["extra"]["breakdown"] == {"side_a": 0, "side_b": 0,
                                                       "civilians": 0, "unknown": 0}


def test_an_export_of_events_is_refused_as_a_deletions_list(sqlite_tracker, tmp_path):
    """A retraction is for good: an ordinary export given to `acled-deletions` by mistake
    retracts nothing (it has no deleted_timestamp column), and the error says what it is."""
    Importer(sqlite_tracker, "acled").run(DATA / "acled_dyadic.csv")
    with pytest.raises(IngestionError, match="no deleted_timestamp column.*tracker import acled"):
        Importer(sqlite_tracker, "acled").run_deletions(DATA / "acled_dyadic.csv")
    views = views_of(sqlite_tracker)
    assert views.casualties("country")["rows"][0]["killed"]["best"] > 0
    listed = tmp_path / "no-timestamp.csv"
    listed.write_text("event_id_cnty,deleted_timestamp\nMLI1001,\nMLI1004,notatime\n"
                      "MLI1002,1606000000\n")
    summary = Importer(sqlite_tracker, "acled").run_deletions(listed)
    assert (summary.rejected, summary.retracted) == (2, 1)
    assert "no-timestamp.csv:2: deleted_timestamp is empty" in summary.errors[0]
    assert ("no-timestamp.csv:3: deleted_timestamp 'notatime' is neither Unix seconds nor a "
            "date") in summary.errors[1]
    for key in ("acled:MLI1001", "acled:MLI1004"):
        assert not sqlite_tracker.get_entity("incident", key)["retracted"]
    assert sqlite_tracker.get_entity("incident", "acled:MLI1002")["retracted"]
