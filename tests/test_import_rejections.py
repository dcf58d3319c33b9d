"""Rows the report format refuses (its limits) are rejected by line, fact and field, and
never take good rows with them: an actor a rejected row named first is recorded with the
next row naming it; the same file imported again records nothing and fails on nothing;
`--strict` refuses the whole file; the summary counts only what was recorded."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tracker import fields as tf
from tracker.exceptions import EntityNotFoundError
from tracker.ingestion.importer import Importer
from tracker.ingestion.rows import IngestionError

DATA = Path(__file__).parent / "fixtures" / "datasets"


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    return path


@pytest.fixture
def acled_rows() -> tuple[list[str], list[list[str]]]:
    """Two good rows of the fixture, then copies whose actor2 is new to the store: the first
    copy's notes past the format's limit, the second one good."""
    with open(DATA / "acled_dyadic.csv", newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    good = [rows[0], rows[1]]
    col = header.index

    def copy(row: list[str], event_id: str, **values: str) -> list[str]:
        out = list(row)
        out[col("event_id_cnty")] = event_id
        for name, value in values.items():
            out[col(name)] = value
        return out

    fresh = "Unidentified Armed Group (Mali) Brigade X"
    bad = copy(rows[0], "MLI2001", actor2=fresh, notes="n" * (tf.MAX_TEXT + 1))
    later = copy(rows[0], "MLI2002", actor2=fresh)
    return header, [*good, bad, later]


KEYS = ("acled:MLI1001", "acled:MLI1002", "acled:MLI2001", "acled:MLI2002", "acled:MLI2003")


def incident_ids(tracker) -> set[str]:
    """The fixture's incidents the store holds."""
    held = set()
    for key in KEYS:
        try:
            tracker.get_entity("incident", key)
        except EntityNotFoundError:
            continue
        held.add(key)
    return held


def test_a_rejected_row_keeps_no_good_row_out_and_the_file_imports_again(
        sqlite_tracker, tmp_path, acled_rows):
    header, rows = acled_rows
    path = write_rows(tmp_path / "limit.csv", header, rows)
    summary = Importer(sqlite_tracker, "acled").run(path)
    assert summary.rejected == 1
    assert len(summary.errors) == 1
    assert summary.errors[0].startswith(f"{path}:4: incident notes: must be at most")
    # The good row naming the same new actor is recorded, with the actor.
    assert {"acled:MLI1001", "acled:MLI1002", "acled:MLI2002"} <= incident_ids(sqlite_tracker)
    assert "acled:MLI2001" not in incident_ids(sqlite_tracker)
    assert (summary.new, summary.unchanged) == (3, 0)  # rejected rows are not counted new
    later = sqlite_tracker.get_entity("incident", "acled:MLI2002")
    assert len(later["details"]["actors"]) == 2

    # The identical file again: nothing new, the same row rejected, no conflict.
    again = Importer(sqlite_tracker, "acled").run(path)
    assert (again.new, again.corrected, again.unchanged, again.rejected, again.events) == (
        0, 0, 3, 1, 0)

    # A file with the row fixed records only that row.
    rows[2][header.index("notes")] = "fixed"
    fixed = Importer(sqlite_tracker, "acled").run(write_rows(tmp_path / "fixed.csv", header,
                                                             rows))
    assert (fixed.new, fixed.unchanged, fixed.rejected) == (1, 3, 0)
    assert "acled:MLI2001" in incident_ids(sqlite_tracker)


def test_a_batch_whose_id_an_earlier_import_took_with_other_rows_is_recorded(
        sqlite_tracker, tmp_path, acled_rows, monkeypatch):
    """A batch's id is the file's digest and the batch's number. When an earlier import of
    the same file recorded other rows under it (here: the rows are compared again by a new
    importer version, and one of them now corrects what an analyst changed meanwhile), the
    batch is recorded under an id its content names; once recorded, nothing again."""
    from tracker.ingestion import importer

    header, rows = acled_rows
    path = write_rows(tmp_path / "limit.csv", header, rows[:2])
    Importer(sqlite_tracker, "acled").run(path)
    sqlite_tracker.record_report({
        "report": "desk-1", "source": {"name": "Desk", "kind": "analyst"},
        "facts": [{"fact": "correction", "target": {"incident": "acled:MLI1001"},
                   "field": "location.admin1", "value": "Segou", "reason": "checked"}]})
    monkeypatch.setattr(importer, "MAPPING_VERSION", importer.MAPPING_VERSION + "-next")
    again = Importer(sqlite_tracker, "acled").run(path)
    assert (again.corrected, again.unchanged, again.rejected) == (1, 1, 0)
    assert again.events == 2  # the report and its correction
    detail = sqlite_tracker.get_entity("incident", "acled:MLI1001")["details"]
    assert detail["location"]["admin1"] == "Mopti"  # the dataset's value again
    third = Importer(sqlite_tracker, "acled").run(path)
    assert (third.corrected, third.events) == (0, 0)


def test_strict_refuses_a_file_with_a_row_past_a_limit_recording_nothing(
        sqlite_tracker, tmp_path, acled_rows):
    header, rows = acled_rows
    path = write_rows(tmp_path / "limit.csv", header, rows)
    before = sqlite_tracker.max_position()
    with pytest.raises(IngestionError) as e:
        Importer(sqlite_tracker, "acled", strict=True).run(path)
    message = str(e.value)
    assert "1 bad row, nothing imported (--strict)" in message
    assert f"{path}:4: incident notes: must be at most" in message
    assert sqlite_tracker.max_position() == before


def test_strict_names_every_bad_row_in_line_order(sqlite_tracker, tmp_path, acled_rows):
    header, rows = acled_rows
    rows[0][header.index("event_date")] = "not a date"
    rows[3][header.index("actor2")] = "a" * (tf.MAX_NAME + 1)
    path = write_rows(tmp_path / "limit.csv", header, rows)
    with pytest.raises(IngestionError) as e:
        Importer(sqlite_tracker, "acled", strict=True).run(path)
    message = str(e.value)
    assert "3 bad rows" in message
    at = [message.index(f"{path}:{line}:") for line in (2, 4, 5)]
    assert at == sorted(at)
    assert f"{path}:5: actor name: must be at most" in message
