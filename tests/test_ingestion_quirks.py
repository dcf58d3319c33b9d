"""Exports as analysts really have them: text labels, spreadsheet re-saves, HDX files with an
HXL row, cut and badly encoded files, JSON API responses, unchanged re-imports. Each case is
made from the small fixtures in tests/fixtures/datasets (written for the tests)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_ingestion import DATA, views_of
from tracker.exceptions import EntityNotFoundError
from tracker.ingestion.importer import Importer
from tracker.ingestion.rows import IngestionError, actor_key

ROOT = Path(__file__).resolve().parents[1]


def head(tracker) -> int:
    return tracker.recorder.max_notification_id() or 0


def records(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, rows: list[dict[str, str]], *, line_ending: str = "\n") -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator=line_ending)
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(out.getvalue().encode())
    return path


def kinds(tracker, *names: str) -> list[str]:
    return [tracker.get_history("actor", actor_key("acled", name))[0]["payload"]["details"]
            ["kind"] for name in names]


def cli(env_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRACKER_DATABASE_URL": env_url}
    env.pop("TRACKER_REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


# -- ACLED actor types as text labels ---------------------------------------------------------


def test_acled_actor_types_written_as_labels_give_the_actor_kinds(sqlite_tracker):
    summary = Importer(sqlite_tracker, "acled").run(DATA / "acled_labels.csv", )
    assert (summary.rows, summary.new, summary.rejected) == (3, 3, 0)
    assert kinds(sqlite_tracker, "Al Shabaab", "Military Forces of Somalia (2022-)",
                 "Civilians (Somalia)") == ["armed_group", "state_force", "civilians"]
    clash = sqlite_tracker.get_history("incident", "acled:SOM9001")[0]["payload"]["details"]
    assert clash["attributes"]["interaction"] == "12"
    assert [a["inter"] for a in clash["actors"]] == [1, 2]
    protest = sqlite_tracker.get_history("incident", "acled:SOM9003")[0]["payload"]["details"]
    assert protest["attributes"]["interaction"] == "60"


def test_labels_and_codes_give_the_same_incidents(sqlite_tracker, tmp_path):
    rows = records(DATA / "acled_labels.csv")
    codes = {"State forces": "1", "Rebel group": "2", "Civilians": "7", "Protesters": "6",
             "": ""}
    interactions = {"State forces-Rebel group": "12", "Rebel group-Civilians": "27",
                    "Protesters only": "60"}
    for row in rows:
        row["inter1"], row["inter2"] = codes[row["inter1"]], codes[row["inter2"]]
        row["interaction"] = interactions[row["interaction"]]
    Importer(sqlite_tracker, "acled").run(DATA / "acled_labels.csv")
    again = Importer(sqlite_tracker, "acled").run(write_csv(tmp_path / "codes.csv", rows))
    assert (again.new, again.corrected, again.unchanged, again.events) == (0, 0, 3, 0)


def test_an_unknown_actor_type_label_is_a_rejected_row_naming_it(sqlite_tracker, tmp_path):
    rows = records(DATA / "acled_labels.csv")
    rows[1]["inter1"] = "Freedom fighters"
    summary = Importer(sqlite_tracker, "acled").run(write_csv(tmp_path / "bad.csv", rows))
    assert summary.rejected == 1 and summary.new == 2
    assert summary.errors[0].startswith(f"{tmp_path / 'bad.csv'}:3: inter1 'Freedom fighters'")


# -- a spreadsheet re-save: 5-Aug-24, CRLF, trimmed coordinates, duplicate monadic rows -------


def spreadsheet_copy(tmp_path: Path) -> Path:
    out = []
    for row in records(DATA / "acled_monadic.csv"):
        day = row["event_date"]  # 2023-05-02
        row["event_date"] = f"{int(day[8:])}-May-{day[2:4]}"
        row["latitude"] = str(float(row["latitude"]))  # trailing zeros dropped
        out += [row, dict(row)]  # each row twice, as a bad merge leaves them
    return write_csv(tmp_path / "resaved.csv", out, line_ending="\r\n")


def test_a_spreadsheet_resave_imports_like_the_original(sqlite_tracker, tmp_path, make_tracker):
    resaved = spreadsheet_copy(tmp_path)
    assert b"\r\n" in resaved.read_bytes() and b"2-May-23" in resaved.read_bytes()
    summary = Importer(sqlite_tracker, "acled", strict=True).run(resaved)
    assert (summary.rows, summary.duplicates, summary.incidents, summary.rejected) == (8, 4, 2, 0)
    assert "8 rows read (2 dataset events; 4 exact duplicate rows counted once)" in summary.line()
    resaved_totals = views_of(sqlite_tracker).casualties("country")["rows"]

    original = make_tracker(f"sqlite:///{tmp_path / 'original.sqlite'}")
    Importer(original, "acled").run(DATA / "acled_monadic.csv")
    assert resaved_totals == views_of(original).casualties("country")["rows"]
    assert resaved_totals[0]["killed"]["best"] == 17


def test_a_date_that_disagrees_with_the_year_column_is_rejected(sqlite_tracker, tmp_path):
    rows = records(DATA / "acled_labels.csv")
    rows[0]["event_date"] = "5-Aug-24"
    rows[0]["year"] = "2023"
    summary = Importer(sqlite_tracker, "acled").run(write_csv(tmp_path / "y.csv", rows))
    assert summary.errors == [f"{tmp_path / 'y.csv'}:2: event_date '5-Aug-24' is in 2024 but "
                              "the year column says 2023"]


def test_an_ambiguous_date_is_refused_with_file_and_line(sqlite_tracker, tmp_path):
    rows = records(DATA / "acled_labels.csv")
    rows[2]["event_date"] = "07/08/2024"
    path = write_csv(tmp_path / "amb.csv", rows)
    with pytest.raises(IngestionError) as info:
        Importer(sqlite_tracker, "acled", strict=True).run(path)
    assert f"{path}:4: event_date '07/08/2024' is ambiguous" in str(info.value)
    assert head(sqlite_tracker) == 0


# -- HDX files: an HXL hashtag row on line 2 ---------------------------------------------------


def test_an_hxl_row_is_skipped_and_said_once(sqlite_tracker, tmp_path):
    rows = [r for r in records(DATA / "ucdp_small.csv") if r["type_of_violence"] != "9"]
    hashtags = {c: f"#{c.replace('_', '+')}" if i % 3 else "" for i, c in enumerate(rows[0])}
    for row in rows:  # HDX's UCDP files: dates without time, no relid column
        row["date_start"], row["date_end"] = row["date_start"][:10], row["date_end"][:10]
        del row["relid"]
    del hashtags["relid"]
    path = write_csv(tmp_path / "hdx.csv", [hashtags, *rows])
    summary = Importer(sqlite_tracker, "ucdp", strict=True).run(path)
    assert summary.hxl and summary.rejected == 0
    assert summary.rows == summary.new == len(rows)
    assert "HXL hashtag row skipped" in summary.line()


# -- cut rows, wrong column counts, bad bytes ---------------------------------------------------


def cut_file(tmp_path: Path) -> Path:
    text = (DATA / "acled_labels.csv").read_text()
    path = tmp_path / "cut.csv"
    path.write_text(text[:text.rindex("Test row: a protest") - 40])  # mid-row, no newline
    return path


def test_a_row_cut_short_is_rejected_never_recorded_as_zero(sqlite_tracker, tmp_path):
    path = cut_file(tmp_path)
    summary = Importer(sqlite_tracker, "acled").run(path)
    assert (summary.new, summary.rejected) == (2, 1)
    assert summary.errors[0].startswith(f"{path}:4: only ")
    assert "cut short" in summary.errors[0]
    with pytest.raises(EntityNotFoundError):
        sqlite_tracker.get_history("incident", "acled:SOM9003")


def test_strict_refuses_a_cut_file_and_records_nothing(sqlite_tracker, tmp_path):
    with pytest.raises(IngestionError, match=r"cut\.csv:4: only"):
        Importer(sqlite_tracker, "acled", strict=True).run(cut_file(tmp_path))
    assert head(sqlite_tracker) == 0


def test_a_stray_value_is_a_rejected_row(sqlite_tracker, tmp_path):
    lines = (DATA / "acled_labels.csv").read_text().splitlines()
    lines[2] += ",extra"
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(lines) + "\n")
    summary = Importer(sqlite_tracker, "acled").run(path)
    assert summary.errors == [f"{path}:3: 32 values where the header has 31 columns (a stray "
                              "delimiter or quote?)"]


def test_a_row_cut_inside_a_quote_mid_file_does_not_swallow_the_rows_after_it(
        sqlite_tracker, tmp_path):
    """A row cut short inside a quoted value, with the file going on: the csv reader would
    read the next lines as part of that value (one "row" rejected, two lost). The cut
    line is rejected alone, by its line, and the good rows after it are imported."""
    lines = (DATA / "acled_labels.csv").read_text().splitlines()
    cut = lines[1][:lines[1].index("Test row")] + '"Test row: a cla'
    path = tmp_path / "cut-inside.csv"
    path.write_text("\n".join([lines[0], cut, lines[2], lines[3]]) + "\n")
    summary = Importer(sqlite_tracker, "acled").run(path)
    assert (summary.rows, summary.new, summary.rejected) == (3, 2, 1)
    assert len(summary.errors) == 1 and summary.errors[0].startswith(f"{path}:2: a quoted")
    assert "1 row rejected" in summary.line()
    sqlite_tracker.get_history("incident", "acled:SOM9002")
    sqlite_tracker.get_history("incident", "acled:SOM9003")
    with pytest.raises(EntityNotFoundError):
        sqlite_tracker.get_history("incident", "acled:SOM9001")


def test_two_cut_rows_are_two_rejected_rows_named_by_line(sqlite_tracker, tmp_path):
    lines = (DATA / "acled_labels.csv").read_text().splitlines()
    first = lines[1][:lines[1].index("Test row")] + '"Test row: a cla'
    second = lines[2][:40]
    path = tmp_path / "two-cut.csv"
    path.write_text("\n".join([lines[0], first, second, lines[3]]) + "\n")
    summary = Importer(sqlite_tracker, "acled").run(path)
    assert (summary.rows, summary.new, summary.rejected) == (3, 1, 2)
    assert [e.split(": ")[0] for e in summary.errors] == [f"{path}:2", f"{path}:3"]
    assert "2 rows rejected" in summary.line()
    with pytest.raises(IngestionError, match=r"two-cut\.csv:2: a quoted"):
        Importer(sqlite_tracker, "acled", strict=True).run(path)


@pytest.mark.parametrize("dataset, fixture, column", [
    ("acled", "acled_labels.csv", "fatalities"), ("ucdp", "ucdp_small.csv", "best")])
def test_a_column_given_twice_refuses_the_file_naming_it(sqlite_tracker, tmp_path, dataset,
                                                         fixture, column):
    """Two `fatalities` columns: which one is meant? Refused, not the last one silently."""
    rows = list(csv.reader(io.StringIO((DATA / fixture).read_text())))
    at = rows[0].index(column)
    doubled = [row[:at + 1] + ["999" if n else column] + row[at + 1:]
               for n, row in enumerate(rows)]
    path = tmp_path / "twice.csv"
    path.write_text("".join(",".join(f'"{v}"' if "," in v else v for v in row) + "\n"
                            for row in doubled))
    with pytest.raises(IngestionError) as info:
        Importer(sqlite_tracker, dataset).run(path)
    assert str(info.value) == (f"{path}:1: column {column} appears more than once in the "
                               "header (which one is meant?); nothing was imported")
    assert head(sqlite_tracker) == 0
    refused = cli(f"sqlite:///{tmp_path / 'cli.sqlite'}", "import", dataset, str(path))
    assert refused.returncode == 1 and f"column {column} appears" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_json_record_naming_a_key_twice_refuses_the_file(sqlite_tracker, tmp_path):
    rows = records(DATA / "acled_labels.csv")
    text = json.dumps(acled_api_pages(rows, 3)[0])
    marker = '"fatalities": "3"'
    assert marker in text
    path = tmp_path / "twice.json"
    path.write_text(text.replace(marker, marker + ', "fatalities": "300"'))
    with pytest.raises(IngestionError) as info:
        Importer(sqlite_tracker, "acled").run(path)
    assert "duplicate key 'fatalities' in data.1" in str(info.value)
    assert head(sqlite_tracker) == 0


@pytest.mark.parametrize("strict", [False, True])
def test_a_bad_byte_refuses_the_file_naming_its_line_and_records_nothing(
        sqlite_tracker, tmp_path, strict):
    data = (DATA / "acled_labels.csv").read_bytes().splitlines(keepends=True)
    data[1] = data[1].replace(b"Beledweyne", b"Beledw\xe9yne", 1)  # Latin-1 in a UTF-8 file
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"".join(data))
    with pytest.raises(IngestionError) as info:
        Importer(sqlite_tracker, "acled", strict=strict).run(path)
    assert str(info.value).startswith(f"{path}:2: not valid UTF-8 (byte 0xe9)")
    assert head(sqlite_tracker) == 0


def test_the_command_exits_by_what_was_imported(tmp_path):
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    good = cli(url, "import", "acled", str(DATA / "acled_labels.csv"))
    assert good.returncode == 0, good.stderr
    partial = cli(url, "import", "acled", str(cut_file(tmp_path)))
    assert partial.returncode == 3 and "rejected:" in partial.stderr
    bad = tmp_path / "bad.csv"
    bad.write_bytes((DATA / "acled_labels.csv").read_bytes().replace(b"Test wire", b"\xff", 1))
    refused = cli(url, "import", "acled", str(bad))
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"error: {bad}:2: not valid UTF-8")
    assert "Traceback" not in refused.stderr
    rows = records(DATA / "acled_labels.csv")
    for row in rows:
        row["event_date"] = "someday"
    nothing = cli(url, "import", "acled", str(write_csv(tmp_path / "none.csv", rows)))
    assert nothing.returncode == 1 and "0 incidents new" in nothing.stdout


# -- JSON: API responses and GeoJSON ------------------------------------------------------------


def acled_api_pages(rows: list[dict[str, str]], size: int) -> list[dict]:
    return [{"status": 200, "success": True, "count": len(rows[i:i + size]),
             "data": rows[i:i + size]} for i in range(0, len(rows), size)]


@pytest.mark.parametrize("pages", [1, 2])
def test_acled_api_responses_give_the_same_incidents_as_the_csv(sqlite_tracker, tmp_path, pages):
    rows = records(DATA / "acled_labels.csv")
    document = acled_api_pages(rows, 3 if pages == 1 else 2)
    path = tmp_path / "acled.json"
    path.write_text(json.dumps(document[0] if pages == 1 else document))
    summary = Importer(sqlite_tracker, "acled").run(path)
    assert (summary.format, summary.rows, summary.new, summary.rejected) == ("json", 3, 3, 0)
    csv_again = Importer(sqlite_tracker, "acled").run(DATA / "acled_labels.csv")
    assert (csv_again.new, csv_again.corrected, csv_again.unchanged) == (0, 0, 3)


def ucdp_records() -> list[dict]:
    out = []
    for row in records(DATA / "ucdp_small.csv"):
        record: dict = {}
        for key, value in row.items():
            try:
                record[key] = int(value)
            except ValueError:
                try:
                    record[key] = float(value)
                except ValueError:
                    record[key] = value or None
        record["date_start"] = row["date_start"][:10] + "T00:00:00"
        record["date_end"] = row["date_end"][:10] + "T00:00:00"
        out.append(record)
    return out


def test_a_ucdp_api_page_and_geojson_give_the_same_incidents_as_the_csv(sqlite_tracker,
                                                                        tmp_path):
    page = {"TotalCount": 3, "TotalPages": 1, "PreviousPageUrl": "", "NextPageUrl": "",
            "Result": ucdp_records()}
    (tmp_path / "page.json").write_text(json.dumps(page))
    first = Importer(sqlite_tracker, "ucdp").run(tmp_path / "page.json")
    # the fixture's third row has type_of_violence 9, refused whichever form it comes in
    assert (first.rows, first.new, first.rejected) == (3, 2, 1)
    assert first.errors == [f"{tmp_path / 'page.json'}: record 3: type_of_violence '9' is not "
                            "1, 2 or 3"]
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [
        r.pop("longitude"), r.pop("latitude")]}, "properties": r} for r in ucdp_records()]
    (tmp_path / "ged.geojson").write_text(json.dumps({"type": "FeatureCollection",
                                                      "features": features}))
    geojson = Importer(sqlite_tracker, "ucdp").run(tmp_path / "ged.geojson")
    from_csv = Importer(sqlite_tracker, "ucdp").run(DATA / "ucdp_small.csv")
    for again in (geojson, from_csv):
        assert (again.new, again.corrected, again.unchanged, again.events) == (0, 0, 2, 0)


def test_json_of_the_other_dataset_is_refused_clearly(sqlite_tracker, tmp_path):
    (tmp_path / "page.json").write_text(json.dumps({"TotalCount": 0, "Result": []}))
    with pytest.raises(IngestionError, match="JSON, but not an ACLED export"):
        Importer(sqlite_tracker, "acled").run(tmp_path / "page.json")
    (tmp_path / "broken.json").write_text('{"data": [')
    with pytest.raises(IngestionError, match=r"broken\.json:1: not valid JSON"):
        Importer(sqlite_tracker, "acled").run(tmp_path / "broken.json")
    assert head(sqlite_tracker) == 0


# -- unchanged re-imports -----------------------------------------------------------------------


def test_an_unchanged_reimport_reads_no_incident(tracker, monkeypatch):
    first = Importer(tracker, "acled").run(DATA / "acled_labels.csv")
    assert first.new == 3
    positions = head(tracker)

    def no_loading(*args, **kwargs):
        raise AssertionError("an unchanged row loaded its incident")

    monkeypatch.setattr(tracker.repository, "get", no_loading)
    again = Importer(tracker, "acled").run(DATA / "acled_labels.csv")
    assert (again.unchanged, again.events) == (3, 0) and head(tracker) == positions


def test_a_changed_row_is_still_corrected_after_a_fingerprinted_import(sqlite_tracker,
                                                                      tmp_path):
    Importer(sqlite_tracker, "acled").run(DATA / "acled_labels.csv")
    rows = records(DATA / "acled_labels.csv")
    rows[1]["fatalities"] = "5"
    summary = Importer(sqlite_tracker, "acled").run(write_csv(tmp_path / "newer.csv", rows))
    assert (summary.corrected, summary.unchanged) == (1, 2)
    country = views_of(sqlite_tracker).casualties("country")["rows"][0]
    assert country["killed"]["best"] == 7 + 5 + 0


def test_a_ucdp_row_ending_before_it_starts_is_rejected_naming_both(sqlite_tracker, tmp_path):
    rows = records(DATA / "ucdp_small.csv")
    rows[0]["date_end"] = "1991-08-01 00:00:00.000"
    summary = Importer(sqlite_tracker, "ucdp").run(write_csv(tmp_path / "ends.csv", rows))
    assert summary.errors[0] == (f"{tmp_path / 'ends.csv'}:2: date_end '1991-08-01 "
                                 "00:00:00.000' is before date_start '1991-08-08 00:00:00.000'")
