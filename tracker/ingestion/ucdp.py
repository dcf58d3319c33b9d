"""UCDP GED bulk CSV. Pure: rows in, events out. best/low/high are kept as given, even where
high < best or low > best (the views flag those)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from tracker.ingestion import rows
from tracker.ingestion.rows import DatasetActor, DatasetEvent, RowError, to_int

DATASET = "ucdp"
SOURCE_NAME = "UCDP GED"
REQUIRED = ("id", "type_of_violence", "side_a", "side_b", "country", "date_start", "date_end",
            "best", "low", "high")
VIOLENCE = {"1": ("battle", "state-based conflict"), "2": ("battle", "non-state conflict"),
            "3": ("violence_against_civilians", "one-sided violence")}
# date_prec: 1 exact day; 2 within 2-6 days; 3 within a week; 4 within a month; 5 longer.
PRECISION = {"1": "day", "2": "week", "3": "week", "4": "month", "5": "year"}
ATTRIBUTE_COLUMNS = ("conflict_name", "dyad_name", "conflict_new_id", "dyad_new_id",
                     "where_description", "event_clarity", "number_of_sources", "code_status",
                     "priogrid_gid", "relid")


def check_columns(columns: Iterable[str]) -> list[str]:
    have = set(columns)
    return [c for c in REQUIRED if c not in have]


def _kind(name: str) -> str:
    if name.casefold() == "civilians":
        return "civilians"
    return "government" if name.startswith("Government of") else "armed_group"


def parse_row(row: dict[str, str], line: int, release: str) -> DatasetEvent:
    for column in REQUIRED:
        if not (row.get(column) or "").strip():
            raise ValueError(f"{column} is empty")
    violence = VIOLENCE.get(row["type_of_violence"].strip())
    if violence is None:
        raise ValueError(f"type_of_violence {row['type_of_violence']!r} is not 1, 2 or 3")
    best, low, high = (to_int(row[c], c) for c in ("best", "low", "high"))
    if min(best, low, high) < 0:
        raise ValueError(f"best/low/high {best}/{low}/{high} include a negative number")
    location: dict[str, Any] = {
        "name": (row.get("where_coordinates") or row.get("adm_2") or row.get("adm_1")
                 or row["country"]).strip(),
        "country": row["country"].strip(),
    }
    for column, key in (("adm_1", "admin1"), ("adm_2", "admin2"), ("region", "region")):
        if (row.get(column) or "").strip():
            location[key] = row[column].strip()
    location.update(rows.coordinates(row))
    if (row.get("where_prec") or "").strip().isdigit():
        location["geo_precision"] = int(row["where_prec"])
    start = rows.parse_day(row["date_start"], "date_start", row.get("year"))
    end = rows.parse_day(row["date_end"], "date_end")
    if end < start:
        raise ValueError(f"date_end {row['date_end'].strip()!r} is before date_start "
                         f"{row['date_start'].strip()!r}")
    details: dict[str, Any] = {
        "date": start,
        "date_precision": PRECISION.get((row.get("date_prec") or "1").strip(), "day"),
        "type": violence[0],
        "subtype": violence[1],
        "location": location,
    }
    if end != start:
        details["date_end"] = end
    attributes = {c: row[c].strip() for c in ATTRIBUTE_COLUMNS if (row.get(c) or "").strip()}
    if low > best or high < best:
        attributes["range_note"] = "low/high do not bracket best in the source; kept as given"
    if attributes:
        details["attributes"] = attributes
    breakdown = {}
    for column, key in (("deaths_a", "side_a"), ("deaths_b", "side_b"),
                        ("deaths_civilians", "civilians"), ("deaths_unknown", "unknown")):
        if (row.get(column) or "").strip():
            breakdown[key] = max(0, to_int(row[column], column))
    actors = [DatasetActor(row["side_a"].strip(), _kind(row["side_a"].strip()), "a"),
              DatasetActor(row["side_b"].strip(), _kind(row["side_b"].strip()), "b")]
    ref = {"dataset": SOURCE_NAME, "release": release, "row": row["id"].strip(), "line": line,
           "article": (row.get("source_article") or "").strip()[:2000] or None,
           "office": (row.get("source_office") or "").strip() or None,
           "source_date": (row.get("source_date") or "").strip() or None,
           "headline": (row.get("source_headline") or "").strip()[:500] or None}
    return DatasetEvent(line=line, incident_id=f"ucdp-ged:{row['id'].strip()}", details=details,
                        killed=best, low=low, high=high, breakdown=breakdown, actors=actors,
                        ref=ref, raw=[rows.raw_values(row)])


def parse_rows(records: Iterable[tuple[int, dict[str, str]] | RowError], release: str
               ) -> Iterator[DatasetEvent | RowError]:
    """Events from (line, row) pairs (a RowError passes through)."""
    for item in records:
        if isinstance(item, RowError):
            yield item
            continue
        line, row = item
        try:
            yield parse_row(row, line, release)
        except ValueError as e:
            yield RowError(line, str(e))
