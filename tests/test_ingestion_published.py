"""When imported figures count as published (ACLED: the row's `timestamp`; UCDP: the
release), and UCDP's web explorer download. Fixtures written for the tests."""

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from projections.readmodel.queries import open_views
from projections.readmodel.store import ReadModelStore
from projections.runner import Projector
from tracker.figures import incident_killed
from tracker.ingestion import ucdp
from tracker.ingestion.importer import Importer
from tracker.ingestion.rows import IngestionError, revision_day

DATA = Path(__file__).parent / "fixtures" / "datasets"
JUNE_2020 = "1591790400"  # 2020-06-10 12:00:00 UTC
DEC_2022 = "1670850000"  # 2022-12-12 13:00:00 UTC


def records(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def views_of(tracker):
    store = ReadModelStore("sqlite:///:memory:")
    Projector(tracker, store).catch_up()
    return store


def incident_view(tracker, key: str) -> dict:
    with open_views(views_of(tracker)) as views:
        return views.incident(key)


def head(tracker) -> int:
    return tracker.recorder.max_notification_id() or 0


def acled_row(tmp_path: Path, name: str, timestamp: str, fatalities: str = "30",
              notes: str | None = None) -> Path:
    """acled_dyadic.csv's first row (MLI1001), revised: another timestamp and figure."""
    row = records(DATA / "acled_dyadic.csv")[0]
    row.update(timestamp=timestamp, fatalities=fatalities)
    if notes is not None:
        row["notes"] = notes
    return write_csv(tmp_path / name, [row])


# -- the row's revision date -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "day"), [
    ("1605559070", "2020-11-16"), ("1591833599", "2020-06-10"), ("1591833600", "2020-06-11"),
    ("1605559070.25", "2020-11-16"), ("2022-12-12", "2022-12-12"),
    ("2022-12-12T10:00:00Z", "2022-12-12"), ("2022-12-12 10:00:00", "2022-12-12"),
    ("", None), ("  ", None)])
def test_a_revision_time_is_a_utc_day(text, day):
    assert revision_day(text, "timestamp") == day


@pytest.mark.parametrize("text", ["soon", "99999999999999", "2022-13-01"])
def test_a_bad_revision_time_names_the_column(text):
    with pytest.raises(ValueError, match=f"timestamp '{text}'"):
        revision_day(text, "timestamp")


def test_an_acled_figure_is_published_at_its_rows_timestamp(sqlite_tracker, tmp_path):
    rows = records(DATA / "acled_dyadic.csv")
    rows[1]["timestamp"] = "2021-03-04"  # some exports write a date
    rows[3]["timestamp"] = ""  # no revision date: the report's (rows[2] is a bad row)
    Importer(sqlite_tracker, "acled").run(write_csv(tmp_path / "a.csv", rows))
    today = datetime.now(UTC).date().isoformat()
    expected = {rows[0]["event_id_cnty"]: revision_day(rows[0]["timestamp"], "t"),
                rows[1]["event_id_cnty"]: "2021-03-04", rows[3]["event_id_cnty"]: today}
    assert expected[rows[0]["event_id_cnty"]] == "2020-11-16"
    for event_id, day in expected.items():
        key = f"acled:{event_id}"
        # The views, the aggregate and the stored event agree.
        assert incident_view(sqlite_tracker, key)["killed"]["basis"]["published"] == day
        figures = sqlite_tracker.get_entity("incident", key)["figures"]
        assert [f["published"] for f in figures.values()] == [day]
        figure = next(e for e in sqlite_tracker.get_history("incident", key)
                      if e["type"] == "CasualtiesReported")
        assert figure["payload"]["extra"].get("published") == (None if day == today else day)


def test_an_acled_row_with_a_bad_timestamp_is_rejected_naming_it(sqlite_tracker, tmp_path):
    rows = records(DATA / "acled_dyadic.csv")
    rows[0]["timestamp"] = "last week"
    path = write_csv(tmp_path / "a.csv", rows)
    summary = Importer(sqlite_tracker, "acled").run(path)
    assert (summary.new, summary.rejected) == (2, 2)  # row 4 is bad in the fixture too
    assert summary.errors[0] == (f"{path}:2: timestamp 'last week' is neither Unix seconds "
                                 "nor a date (e.g. 1605559070 or 2020-11-16)")


# -- re-imports ---------------------------------------------------------------------------------

def test_an_unchanged_file_imported_again_changes_nothing(sqlite_tracker, monkeypatch):
    for dataset, name in (("acled", "acled_dyadic.csv"), ("ucdp", "ucdp_explorer.csv")):
        first = Importer(sqlite_tracker, dataset, release="23.1").run(DATA / name)
        assert first.new > 0
        positions = head(sqlite_tracker)
        again = Importer(sqlite_tracker, dataset, release="23.1").run(DATA / name)
        assert (again.unchanged, again.events) == (first.new, 0)
        # Without the fingerprints, comparing each row with its incident finds the same.
        with monkeypatch.context() as m:
            m.setattr(sqlite_tracker, "import_fingerprints", lambda keys: {})
            compared = Importer(sqlite_tracker, dataset, release="23.1").run(DATA / name)
        assert (compared.unchanged, compared.events) == (first.new, 0)
        assert head(sqlite_tracker) == positions


def test_a_row_revised_without_a_new_figure_keeps_its_figures_date(sqlite_tracker, tmp_path):
    """ACLED's timestamp moves with any change to a row: a corrected note is recorded, the
    figure (the same number) stays as first published."""
    Importer(sqlite_tracker, "acled").run(acled_row(tmp_path, "v1.csv", JUNE_2020))
    summary = Importer(sqlite_tracker, "acled").run(
        acled_row(tmp_path, "v2.csv", DEC_2022, notes="Test row: a corrected note."))
    assert summary.corrected == 1
    history = [e["type"] for e in sqlite_tracker.get_history("incident", "acled:MLI1001")]
    assert history == ["IncidentReported", "CasualtiesReported", "IncidentCorrected"]
    incident = incident_view(sqlite_tracker, "acled:MLI1001")
    assert incident["notes"] == "Test row: a corrected note."
    assert (incident["killed"]["best"], incident["killed"]["basis"]["published"]) == (
        30, "2020-06-10")
    # The same row again, only re-dated: nothing.
    again = Importer(sqlite_tracker, "acled").run(
        acled_row(tmp_path, "v3.csv", "1680000000", notes="Test row: a corrected note."))
    assert (again.unchanged, again.events) == (1, 0)


def test_a_ucdp_file_imported_again_with_its_release_date_records_nothing(sqlite_tracker):
    """The date is part of the figure when it is recorded: the same figures imported again
    with a date record nothing (docs/cli.md: give --published on the first import)."""
    Importer(sqlite_tracker, "ucdp").run(DATA / "ucdp_explorer.csv")
    today = datetime.now(UTC).date().isoformat()
    positions = head(sqlite_tracker)
    for published in (None, "2023-06-01"):
        again = Importer(sqlite_tracker, "ucdp", published=published).run(
            DATA / "ucdp_explorer.csv")
        assert (again.unchanged, again.events) == (3, 0)
    assert head(sqlite_tracker) == positions
    assert ucdp_basis(sqlite_tracker)["published"] == today


# -- the evidence rule with dataset dates (acceptance) -------------------------------------------

def hrw(killed: int = 41) -> dict:
    return {"report": "hrw-2020-08-15",
            "source": {"name": "Human Rights Watch", "kind": "ngo", "published": "2020-08-15"},
            "facts": [{"fact": "casualties", "incident": "acled:MLI1001", "killed": killed}]}


def best_and_basis(tracker) -> list[tuple[int, str, str, str]]:
    """(best, source, report, published) by the views and by the aggregate."""
    view = incident_view(tracker, "acled:MLI1001")["killed"]
    aggregate = incident_killed(tracker.get_entity("incident", "acled:MLI1001")["figures"])
    return [(k["best"], k["basis"]["source"], k["basis"]["report"], k["basis"]["published"])
            for k in (view, aggregate)]


def test_a_later_ngo_report_beats_an_older_acled_row_and_a_newer_row_beats_it(
        tracker, tmp_path):
    """HRW (published 2020-08-15) says 41 for an incident ACLED gave 30 in a row last
    revised in June 2020: HRW's figure is the latest published, though the import ran
    today. ACLED then revises the row in 2022 with 33: ACLED's is."""
    june = acled_row(tmp_path, "june.csv", JUNE_2020)
    Importer(tracker, "acled").run(june)
    tracker.record_report(hrw())
    positions = head(tracker)
    assert Importer(tracker, "acled").run(june).events == 0  # the same file: nothing
    assert head(tracker) == positions
    for best, source, report, published in best_and_basis(tracker):
        assert (best, source, report, published) == (
            41, "Human Rights Watch", "hrw-2020-08-15", "2020-08-15")
    with open_views(views_of(tracker)) as views:
        low_high = views.incident("acled:MLI1001")["killed"]
    assert (low_high["low"], low_high["high"]) == (30, 41)

    Importer(tracker, "acled").run(acled_row(tmp_path, "dec.csv", DEC_2022, fatalities="33"))
    for best, source, report, published in best_and_basis(tracker):
        assert (best, source, published) == (33, "ACLED", "2022-12-12")
        assert report.startswith("acled-import-")


def test_an_acled_row_revised_after_the_ngo_report_wins_in_either_order(tracker, tmp_path):
    Importer(tracker, "acled").run(acled_row(tmp_path, "dec.csv", DEC_2022))
    tracker.record_report(hrw())
    for best, source, _, published in best_and_basis(tracker):
        assert (best, source, published) == (30, "ACLED", "2022-12-12")


# -- UCDP: the release's date -------------------------------------------------------------------

@pytest.mark.parametrize(("name", "release"), [
    ("GEDEvent_v23_1.csv", "23.1"), ("ged231.csv", "23.1"), ("ged231-csv.zip", "23.1"),
    ("ged_23_1.json", "23.1"), ("GEDEvent_v24_0_3.csv", "24.0.3"), ("ucdp_small.csv", None),
    ("ged2301.csv", None)])
def test_the_release_is_read_from_the_files_name(name, release):
    assert ucdp.release_from_name(name) == release


@pytest.mark.parametrize(("release", "published"), [
    ("23.1", "2023-06-01"), ("19.1", "2019-06-01"), ("24.0.3", None), ("unknown", None),
    (None, None)])
def test_a_stable_release_is_published_in_june(release, published):
    assert ucdp.release_published(release) == published


def ucdp_basis(tracker, key="ucdp-ged:901") -> dict:
    return incident_view(tracker, key)["killed"]["basis"]


def test_ucdp_figures_are_published_with_the_release(make_tracker, tmp_path):
    def fresh(name):
        return make_tracker(f"sqlite:///{tmp_path / name}.sqlite")

    given = fresh("given")
    summary = Importer(given, "ucdp", release="23.1").run(DATA / "ucdp_explorer.csv")
    assert (summary.release, summary.published) == ("23.1", "2023-06-01")
    assert ucdp_basis(given)["published"] == "2023-06-01"

    told = fresh("told")
    Importer(told, "ucdp", release="23.1", published="2023-06-20").run(
        DATA / "ucdp_explorer.csv")
    assert ucdp_basis(told)["published"] == "2023-06-20"

    named = fresh("named")
    path = tmp_path / "GEDEvent_v22_1.csv"
    path.write_bytes((DATA / "ucdp_explorer.csv").read_bytes())
    summary = Importer(named, "ucdp").run(path)
    assert (summary.release, summary.published) == ("22.1", "2022-06-01")
    assert ucdp_basis(named)["published"] == "2022-06-01"
    figure = named.get_history("incident", "ucdp-ged:901")[1]
    assert figure["provenance"]["ref"]["release"] == "22.1"

    unknown = fresh("unknown")
    summary = Importer(unknown, "ucdp").run(DATA / "ucdp_explorer.csv")
    assert (summary.release, summary.published) == ("unknown", None)
    assert ucdp_basis(unknown)["published"] == datetime.now(UTC).date().isoformat()


def test_a_bad_published_date_is_refused_before_anything_is_read(sqlite_tracker):
    with pytest.raises(IngestionError, match="published '2023-13-01' is not a real date"):
        Importer(sqlite_tracker, "ucdp", published="2023-13-01")


def test_import_ucdp_published_on_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'c'}.sqlite")
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    bad = CliRunner().invoke(main, ["import", "ucdp", "--published", "June 2023",
                                    str(DATA / "ucdp_explorer.csv")])
    assert bad.exit_code == 2 and "published 'June 2023' must be a date as YYYY-MM-DD" \
        in bad.output
    result = CliRunner().invoke(main, ["import", "ucdp", "--release", "23.1", "--published",
                                       "2023-06-20", "--json", str(DATA / "ucdp_explorer.csv")])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["release"], summary["published"], summary["new"]) == (
        "23.1", "2023-06-20", 3)


# -- UCDP's web explorer download ---------------------------------------------------------------

def to_bulk(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Explorer rows written as the GED bulk CSV writes them (the inverse of the quirks)."""
    out = []
    for row in rows:
        bulk = {{"best_est": "best", "low_est": "low", "high_est": "high"}.get(k, k): v
                for k, v in row.items()}
        for column in ("date_start", "date_end"):
            month, day, rest = bulk[column].split("/")
            bulk[column] = f"{rest[:4]}-{month}-{day} 00:00:00.000"
        bulk["active_year"] = {"True": "1", "False": "0"}[bulk["active_year"]]
        bulk.update(gwnoa="999", gwnob="")
        out.append(bulk)
    return out


def test_the_explorer_download_imports_with_its_own_columns_totals(sqlite_tracker):
    rows = records(DATA / "ucdp_explorer.csv")
    assert not {"best", "low", "high", "gwnoa", "gwnob"} & set(rows[0])
    summary = Importer(sqlite_tracker, "ucdp").run(DATA / "ucdp_explorer.csv")
    assert (summary.new, summary.rejected, summary.flagged) == (3, 0, 1)
    with open_views(views_of(sqlite_tracker)) as views:
        [country] = views.casualties("country")["rows"]
        # Month first: 05/06/2019 is the 6th of May.
        may = views.incident("ucdp-ged:902")
    assert country["incidents"] == len(rows)
    assert country["killed"] == {
        name: sum(int(r[f"{name}_est"]) for r in rows) for name in ("best", "low", "high")}
    assert country["civilians"] == {"best": sum(int(r["deaths_civilians"]) for r in rows),
                                    "reported_by": len(rows)}
    assert (may["date"], may["date_end"], may["date_precision"]) == (
        "2019-05-06", "2019-05-08", "week")


def test_the_explorer_download_and_the_bulk_csv_make_the_same_facts(sqlite_tracker, tmp_path):
    rows = records(DATA / "ucdp_explorer.csv")
    bulk = write_csv(tmp_path / "bulk.csv", to_bulk(rows))
    assert Importer(sqlite_tracker, "ucdp", release="23.1").run(bulk).new == 3
    positions = head(sqlite_tracker)
    again = Importer(sqlite_tracker, "ucdp", release="23.1").run(DATA / "ucdp_explorer.csv")
    assert (again.unchanged, again.events) == (3, 0) and head(sqlite_tracker) == positions


def test_an_explorer_date_that_is_not_a_real_date_is_rejected(sqlite_tracker, tmp_path):
    rows = records(DATA / "ucdp_explorer.csv")
    rows[0]["date_start"] = "14/05/2019 00:00:00"  # day first: not the explorer's
    path = write_csv(tmp_path / "dayfirst.csv", rows)
    summary = Importer(sqlite_tracker, "ucdp").run(path)
    assert summary.errors == [f"{path}:2: date_start '14/05/2019 00:00:00' is not a real "
                              "date (the explorer writes MM/DD/YYYY)"]


def test_a_file_with_neither_layouts_figures_names_both(sqlite_tracker, tmp_path):
    rows = [{k: v for k, v in r.items() if k != "best_est"}
            for r in records(DATA / "ucdp_explorer.csv")]
    with pytest.raises(IngestionError, match=r"missing column best \(or best_est\)$"):
        Importer(sqlite_tracker, "ucdp").run(write_csv(tmp_path / "nobest.csv", rows))


def test_an_explorer_row_reads_as_the_bulk_csvs():
    row = records(DATA / "ucdp_explorer.csv")[1]
    bulk = ucdp.from_explorer(row)
    assert {k: bulk[k] for k in ("best", "low", "high", "date_start", "date_end",
                                 "active_year")} == {
        "best": row["best_est"], "low": row["low_est"], "high": row["high_est"],
        "date_start": "2019-05-06", "date_end": "2019-05-08", "active_year": "0"}
    assert ucdp.from_explorer({**row, "active_year": "True"})["active_year"] == "1"
    # Other text is left alone, even when it reads "True".
    assert ucdp.from_explorer({**row, "source_headline": "True"})["source_headline"] == "True"
    assert ucdp.explorer_day("5/6/2019 12:00:00 AM", "date_start") == "2019-05-06"


def test_the_summary_line_says_the_release_and_its_date(sqlite_tracker, tmp_path):
    dated = Importer(sqlite_tracker, "ucdp", release="23.1").run(DATA / "ucdp_explorer.csv")
    assert dated.line().endswith("; release 23.1, figures published 2023-06-01")
    # The same rows again, given another date: recorded already, they keep their first.
    undated = Importer(sqlite_tracker, "ucdp").run(DATA / "ucdp_explorer.csv")
    assert undated.unchanged == dated.new > 1
    assert undated.line().endswith(
        "; release unknown, figures published on the import day (no --published) "
        f"({undated.unchanged} unchanged rows keep their figures' first date)")
    one = write_csv(tmp_path / "one.csv", records(DATA / "ucdp_explorer.csv")[:1])
    first = Importer(sqlite_tracker, "ucdp", release="22.1").run(one)
    assert first.line().endswith(
        "; release 22.1, figures published 2022-06-01 (1 unchanged row keeps its figure's "
        "first date)")
    acled = Importer(sqlite_tracker, "acled").run(DATA / "acled_dyadic.csv")
    assert acled.line().endswith(" events recorded")
