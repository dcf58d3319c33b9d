"""UCDP GED: the bulk CSV (and the API's JSON, GeoJSON), and the web explorer's download.
Pure: rows in, events out. best/low/high are kept as given, even where high < best or
low > best (the views flag those).

The UCDP web explorer's download (ucdp.uu.se, "Download" of the GED events shown) has the
bulk CSV's columns with three quirks: the figures are named `best_est`/`low_est`/`high_est`,
dates are written `MM/DD/YYYY hh:mm:ss` (month first: `05/14/2019 00:00:00`), `active_year`
is `True`/`False`; and there are no `gwnoa`/`gwnob` columns. `from_explorer` turns such a row
into the bulk CSV's form, so both map to the same incidents.

Publication: GED's figures are published with the release. `release_published` derives the
date of a stable yearly release: GED YY.1 is published in June of 20YY (23.1 -> 2023-06-01);
other versions (candidate releases YY.0.M…) have no derived date (give `--published`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date
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


# The explorer download's names for the bulk CSV's columns.
EXPLORER_NAMES = {"best_est": "best", "low_est": "low", "high_est": "high"}
_BULK_NAMES = {bulk: explorer for explorer, bulk in EXPLORER_NAMES.items()}


def check_columns(columns: Iterable[str]) -> list[str]:
    """Missing required columns (empty when the header is usable), in either layout."""
    have = {EXPLORER_NAMES.get(c, c) for c in columns}
    return [f"{c} (or {_BULK_NAMES[c]})" if c in _BULK_NAMES else c
            for c in REQUIRED if c not in have]


def is_explorer(columns: Iterable[str]) -> bool:
    """True for the web explorer's download (figures named best_est…, not best…)."""
    have = set(columns)
    return "best" not in have and "best_est" in have


# MM/DD/YYYY, then optionally a time (hh:mm[:ss], AM/PM), as the explorer writes dates.
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                      r"(?:\s*[AaPp][Mm])?)?$")
_BOOLEANS = {"true": "1", "false": "0"}
BOOLEAN_COLUMNS = ("active_year",)  # 1/0 in the bulk CSV, True/False in the explorer's


def explorer_day(value: str, column: str) -> str:
    """An explorer date (`05/14/2019 00:00:00`: month first) as YYYY-MM-DD; a date in
    another form is read as the bulk CSV's would be. Raises ValueError naming the column."""
    text = (value or "").strip()
    found = _US_DATE.match(text)
    if not found:
        return rows.parse_day(text, column)
    month, day, year = (int(g) for g in found.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        raise ValueError(f"{column} {text!r} is not a real date (the explorer writes "
                         "MM/DD/YYYY)") from None


def from_explorer(row: dict[str, str]) -> dict[str, str]:
    """An explorer row in the bulk CSV's form: columns renamed, dates as YYYY-MM-DD,
    True/False as 1/0."""
    out = {EXPLORER_NAMES.get(k, k): v for k, v in row.items()}
    for column in ("date_start", "date_end"):
        if (out.get(column) or "").strip():
            out[column] = explorer_day(out[column], column)
    for column in BOOLEAN_COLUMNS:
        flag = _BOOLEANS.get((out.get(column) or "").strip().casefold())
        if flag is not None:
            out[column] = flag
    return out


_RELEASE_IN_NAME = re.compile(r"ged(?:event)?[_-]?v?(\d{2})(?:[._](\d{1,2})((?:[._]\d{1,2})?)"
                              r"|(\d))(?!\d)")
_STABLE = re.compile(r"^(\d{2})\.1$")


def release_from_name(name: str) -> str | None:
    """The GED release a file's name gives: GEDEvent_v23_1.csv, ged231-csv.zip, ged23.1.csv
    -> 23.1; GEDEvent_v24_0_1.csv -> 24.0.1 (a candidate release). None when it gives none."""
    found = _RELEASE_IN_NAME.search(name.casefold())
    if not found:
        return None
    major, minor, more, compact = found.groups()
    if compact is not None:
        return f"{major}.{compact}"
    parts = [major, str(int(minor))] + ([str(int(more[1:]))] if more else [])
    return ".".join(parts)


def release_published(release: str | None) -> str | None:
    """When a GED release was published, by UCDP's calendar: the stable yearly release YY.1
    comes out in June of 20YY (23.1 -> 2023-06-01, the first of the month as the day is not
    part of the version). None for other versions."""
    found = _STABLE.match((release or "").strip())
    return f"20{found.group(1)}-06-01" if found else None


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


def parse_rows(records: Iterable[tuple[int, dict[str, str]] | RowError], release: str,
               explorer: bool = False) -> Iterator[DatasetEvent | RowError]:
    """Events from (line, row) pairs (a RowError passes through); `explorer`: rows of the
    web explorer's download."""
    for item in records:
        if isinstance(item, RowError):
            yield item
            continue
        line, row = item
        try:
            yield parse_row(from_explorer(row) if explorer else row, line, release)
        except ValueError as e:
            yield RowError(line, str(e))
