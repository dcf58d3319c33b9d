"""What a parser makes of one dataset event (pure data, no storage)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from tracker.exceptions import TrackerError


class IngestionError(TrackerError):
    """Raised when an import cannot go on (unreadable file, --strict with bad rows)."""

    code = "ingestion_error"


@dataclass(frozen=True)
class RowError:
    """A row that cannot be imported: where it is (a CSV line, or a JSON file's record
    number) and why."""

    line: int
    reason: str
    unit: str = "line"

    def describe(self, path: str, unit: str | None = None) -> str:
        return f"{where(path, self.line, unit or self.unit)}: {self.reason}"


def where(path: str, line: int, unit: str = "line") -> str:
    """`file:line` for a CSV row; `file: record N` for a JSON record."""
    return f"{path}:{line}" if unit == "line" else f"{path}: {unit} {line}"


class DatasetActor(NamedTuple):
    """An actor named by a row. (A tuple: a frozen dataclass costs a microsecond more to
    make, and an import makes two or more per row.)"""

    name: str
    kind: str
    side: str
    associated: bool = False
    inter: int | None = None


@dataclass
class DatasetEvent:
    """One incident as a dataset gives it: details, figure, actors and provenance."""

    line: int
    incident_id: str
    details: dict[str, Any]
    killed: int
    low: int | None = None
    high: int | None = None
    breakdown: dict[str, int] | None = None
    actors: list[DatasetActor] = field(default_factory=list)
    ref: dict[str, Any] = field(default_factory=dict)
    # The values of the row(s) it was read from, as read (for the import fingerprint).
    raw: list[str] = field(default_factory=list)
    # When the dataset published this figure (YYYY-MM-DD), where the row says: ACLED's
    # `timestamp`. None: the import's date for the whole file (a UCDP release's), if any.
    published: str | None = None


def raw_values(row: dict[str, str]) -> str:
    return "\x1f".join(row.values())


def normalize_name(name: str) -> str:
    return " ".join(name.casefold().split())


def actor_key(dataset: str, name: str) -> str:
    """A stable id for an actor first seen in a dataset: readable slug + hash of the name."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:80] or "actor"
    digest = hashlib.sha1(name.encode()).hexdigest()[:6]
    return f"{dataset}:{slug}-{digest}"


def split_multi(value: str | None) -> list[str]:
    """ACLED's multi-valued fields are separated by '; '."""
    return [v.strip() for v in (value or "").split(";") if v.strip()]


def to_int(value: str | None, name: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{name} {value!r} is not a whole number") from None
    return number


def to_float(value: str | None, name: str) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a number") from None


def coordinates(row: dict[str, str]) -> dict[str, float]:
    """latitude/longitude of a row when both are given; refused when out of range."""
    lat = to_float(row.get("latitude"), "latitude")
    lon = to_float(row.get("longitude"), "longitude")
    if lat is None or lon is None:
        return {}
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"latitude/longitude {lat}, {lon} are out of range")
    return {"latitude": lat, "longitude": lon}


def revision_day(value: str | None, column: str) -> str | None:
    """A row's revision time as a UTC day (YYYY-MM-DD): Unix seconds (ACLED's `timestamp`,
    e.g. 1605559070; a fraction allowed) or a date in any form `parse_day` reads ('2020-11-16',
    '2020-11-16T20:37:51Z'); None when empty. Raises ValueError naming the column."""
    text = (value or "").strip()
    if not text:
        return None
    if _SECONDS.match(text):
        try:
            return datetime.fromtimestamp(float(text), UTC).date().isoformat()
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{column} {text!r} is out of range as Unix seconds") from None
    try:
        return _parse_day(text, column)
    except ValueError:
        raise ValueError(f"{column} {text!r} is neither Unix seconds nor a date (e.g. "
                         "1605559070 or 2020-11-16)") from None


_SECONDS = re.compile(r"^\d{1,12}(?:\.\d*)?$")

MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"), start=1)}
MONTHS.update({name[:3]: number for name, number in list(MONTHS.items())})
MONTHS["sept"] = 9
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})[ -]([A-Za-z]{3,9})\.?[ -](\d{2}|\d{4})$")
_ISO_WITH_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                            r"(?:Z|[+-]\d{2}:?\d{2})?)?$")
_NUMERIC = re.compile(r"^(\d{1,4})[/.](\d{1,2})[/.](\d{1,4})$")


def parse_day(value: str, column: str, year: str | None = None) -> str:
    """A date in any form these exports take, as YYYY-MM-DD; raises ValueError naming the
    column. Forms: '13 November 2020', '5-Aug-24', '05-Aug-2024', '2020-11-13',
    '2024-08-05 00:00:00.000', '2009-02-20T00:00:00', '13/11/2020' (when day and month cannot
    be confused). With `year` (the file's year column) the two must agree."""
    text = value.strip()
    day = _parse_day(text, column)
    if year is not None and year.strip() and year.strip() != day[:4]:
        raise ValueError(f"{column} {value!r} is in {day[:4]} but the year column says "
                         f"{year.strip()}")
    return day


def _parse_day(text: str, column: str) -> str:
    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            return date.fromisoformat(text).isoformat()
        named = _DAY_MONTH_YEAR.match(text)
        if named:
            month = MONTHS.get(named.group(2).casefold())
            if month is None:
                raise ValueError
            year = named.group(3)
            # Two-digit years as the spreadsheets that write them read them: 69-99 are the
            # 1900s, 00-68 the 2000s (the year column, where there is one, cross-checks).
            full = int(year) if len(year) == 4 else datetime.strptime(year, "%y").year
            return date(full, month, int(named.group(1))).isoformat()
        iso = _ISO_WITH_TIME.match(text)
        if iso:
            return date.fromisoformat(iso.group(1)).isoformat()
        numeric = _NUMERIC.match(text)
        if numeric:
            return _numeric_day(text, column, *numeric.groups())
    except AmbiguousDate:
        raise
    except ValueError:
        raise ValueError(f"{column} {text!r} is not a real date") from None
    raise ValueError(f"{column} {text!r} is not a date in a form these exports use (e.g. "
                     "'13 November 2020', '2020-11-13', '13-Nov-20')")


class AmbiguousDate(ValueError):
    pass


def _numeric_day(text: str, column: str, a: str, b: str, c: str) -> str:
    if len(a) == 4:  # 2020/11/13
        return date(int(a), int(b), int(c)).isoformat()
    if len(c) != 4:
        raise AmbiguousDate(f"{column} {text!r}: the year is not written in full")
    first, second = int(a), int(b)
    if first > 12 >= second:
        return date(int(c), second, first).isoformat()
    if second > 12 >= first:
        return date(int(c), first, second).isoformat()
    if first == second:
        return date(int(c), first, first).isoformat()
    raise AmbiguousDate(f"{column} {text!r} is ambiguous: day/month or month/day cannot be "
                        "told apart; re-export the file with ISO dates (YYYY-MM-DD)")
