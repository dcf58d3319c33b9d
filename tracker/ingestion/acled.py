"""ACLED CSV exports, dyadic (actor1/actor2 per row) and monadic (a row per actor, rows of one
event_id_cnty adjacent), pre- and post-March-2023 column sets. Pure: rows in, events out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from tracker.ingestion.rows import (
    DatasetActor,
    DatasetEvent,
    RowError,
    coordinates,
    parse_day,
    raw_values,
    revision_day,
    split_multi,
    to_int,
)

DATASET = "acled"
SOURCE_NAME = "ACLED"
REQUIRED = ("event_id_cnty", "event_date", "event_type", "actor1", "country", "location",
            "fatalities")
TYPES = {
    "battles": "battle",
    "explosions/remote violence": "explosion_remote_violence",
    "violence against civilians": "violence_against_civilians",
    "protests": "protest",
    "riots": "riot",
    "strategic developments": "strategic_development",
}
PRECISION = {"1": "day", "2": "week", "3": "month"}
# ACLED inter codes: 1 state forces, 2 rebels, 3 political militias, 4 identity militias,
# 5 rioters, 6 protesters, 7 civilians, 8 external/other forces.
KIND_OF_INTER = {1: "state_force", 2: "armed_group", 3: "armed_group", 4: "armed_group",
                 5: "other", 6: "other", 7: "civilians", 8: "state_force"}
EXTRA_COLUMNS = ("sub_event_type", "disorder_type", "civilian_targeting", "tags",
                 "source_scale", "interaction", "event_id_no_cnty", "data_id", "iso3")


def check_columns(columns: Iterable[str]) -> list[str]:
    """Missing required columns (empty when the header is usable)."""
    have = set(columns)
    return [c for c in REQUIRED if c not in have]


def is_monadic(columns: Iterable[str]) -> bool:
    return "actor2" not in set(columns)


# The codebook's actor types, as its API and export tool now write them (singular and plural
# forms seen in exports), by code.
INTER_LABELS = {
    "state forces": 1, "rebel group": 2, "rebel groups": 2, "political militia": 3,
    "political militias": 3, "identity militia": 4, "identity militias": 4, "rioters": 5,
    "protesters": 6, "civilians": 7, "external/other forces": 8, "external forces": 8,
    "other forces": 8,
}


def parse_date(value: str, year: str | None = None) -> str:
    return parse_day(value, "event_date", year)


def inter_code(value: str | None, column: str) -> int | None:
    """An actor type as a code (1-8; 0 for no actor) or as the codebook's label."""
    text = (value or "").strip()
    if not text:
        return None
    if text.isdigit():
        code = int(text)
        if code > 8:
            raise ValueError(f"{column} {text!r} is not an ACLED actor type code (0-8)")
        return code or None
    labelled = INTER_LABELS.get(" ".join(text.casefold().split()))
    if labelled is None:
        raise ValueError(f"{column} {text!r} is not an ACLED actor type (a code 1-8 or one "
                         "of: State forces, Rebel group, Political militia, Identity "
                         "militia, Rioters, Protesters, Civilians, External/Other forces)")
    return labelled


def interaction_code(value: str | None) -> str | None:
    """The interaction as ACLED's code ('28'), whether written as a code or as labels
    ('State forces-Rebel group'): the two actor types' codes, lower first."""
    text = (value or "").strip()
    if not text or text.isdigit():
        return text or None
    parts = [p for p in text.split("-") if p.strip()]
    if len(parts) == 1 and parts[0].strip().casefold().endswith("only"):
        parts = [parts[0].strip()[:-4]]
    codes = sorted(inter_code(p, "interaction") or 0 for p in parts)
    if len(codes) not in (1, 2):
        raise ValueError(f"interaction {text!r} is not an ACLED interaction")
    return "".join(str(c) for c in codes) if len(codes) == 2 else f"{codes[0]}0"


def _actors(row: dict[str, str], n: str, side: str) -> list[DatasetActor]:
    name = (row.get(f"actor{n}") or "").strip()
    if not name:
        return []
    inter = inter_code(row.get(f"inter{n}"), f"inter{n}")
    kind = KIND_OF_INTER.get(inter or 0, "other")
    actors = [DatasetActor(name, kind, side, False, inter)]
    actors += [DatasetActor(a, "other", side, True, None)
               for a in split_multi(row.get(f"assoc_actor_{n}"))]
    return actors


def parse_row(row: dict[str, str], line: int) -> DatasetEvent:
    """One ACLED row as an incident; raises ValueError naming the bad column."""
    for column in REQUIRED:
        if column != "fatalities" and not (row.get(column) or "").strip():
            raise ValueError(f"{column} is empty")
    event_type = TYPES.get(row["event_type"].strip().casefold())
    if event_type is None:
        raise ValueError(f"event_type {row['event_type']!r} is not an ACLED event type")
    killed = to_int(row.get("fatalities") or "0", "fatalities")
    if killed < 0:
        raise ValueError(f"fatalities {killed} is negative")
    location: dict[str, Any] = {"name": row["location"].strip(), "country": row["country"].strip()}
    for key in ("admin1", "admin2", "admin3", "region"):
        if (row.get(key) or "").strip():
            location[key] = row[key].strip()
    location.update(coordinates(row))
    if (row.get("geo_precision") or "").strip().isdigit():
        location["geo_precision"] = int(row["geo_precision"])
    details: dict[str, Any] = {
        "date": parse_date(row["event_date"], row.get("year")),
        "date_precision": PRECISION.get((row.get("time_precision") or "1").strip(), "day"),
        "type": event_type,
        "location": location,
    }
    if (row.get("sub_event_type") or "").strip():
        details["subtype"] = row["sub_event_type"].strip()
    if (row.get("notes") or "").strip():
        details["notes"] = row["notes"].strip()
    attributes = {c: row[c].strip() for c in EXTRA_COLUMNS
                  if c != "sub_event_type" and (row.get(c) or "").strip()}
    if "interaction" in attributes:
        attributes["interaction"] = interaction_code(attributes["interaction"]) or ""
    if attributes:
        details["attributes"] = attributes
    actors = _actors(row, "1", "a") + _actors(row, "2", "b")
    ref = {"dataset": SOURCE_NAME, "row": row["event_id_cnty"].strip(), "line": line,
           "version": (row.get("timestamp") or "").strip() or None,
           "sources": (row.get("source") or "").strip() or None}
    # The figure is published when ACLED last revised the row (its `timestamp`).
    published = revision_day(row.get("timestamp"), "timestamp")
    return DatasetEvent(line=line, incident_id=f"acled:{row['event_id_cnty'].strip()}",
                        details=details, killed=killed, actors=actors, ref=ref,
                        raw=[raw_values(row)], published=published)


def parse_rows(rows: Iterable[tuple[int, dict[str, str]] | RowError], monadic: bool
               ) -> Iterator[DatasetEvent | RowError]:
    """Events from (line, row) pairs (a RowError passes through). Monadic: adjacent rows of
    one event_id_cnty merge into one incident, their actors joined and the event's
    fatalities counted once."""
    pending: DatasetEvent | None = None
    for item in rows:
        if isinstance(item, RowError):
            yield item
            continue
        line, row = item
        try:
            event = parse_row(row, line)
        except ValueError as e:
            yield RowError(line, str(e))
            continue
        if not monadic:
            yield event
            continue
        if pending is not None and pending.incident_id == event.incident_id:
            pending.raw += event.raw
            if event.published and (pending.published or "") < event.published:
                pending.published = event.published
            seen = {(a.name, a.side) for a in pending.actors}
            side = "b" if pending.actors else "a"
            for a in event.actors:
                if (a.name, a.side) not in seen and (a.name, side) not in seen:
                    pending.actors.append(DatasetActor(a.name, a.kind, side, a.associated,
                                                       a.inter))
            continue
        if pending is not None:
            yield pending
        pending = event
    if pending is not None:
        yield pending


def parse_deletions(rows: Iterable[tuple[int, dict[str, str]]]
                    ) -> Iterator[tuple[int, str, str] | RowError]:
    """(line, incident id, deleted timestamp) from ACLED's deleted-events list."""
    for line, row in rows:
        event_id = (row.get("event_id_cnty") or "").strip()
        if not event_id:
            yield RowError(line, "event_id_cnty is empty")
            continue
        deleted = (row.get("deleted_timestamp") or "").strip()
        # A retraction is for good: a row must say, readably, when ACLED deleted the event.
        if not deleted:
            yield RowError(line, "deleted_timestamp is empty")
            continue
        try:
            revision_day(deleted, "deleted_timestamp")
        except ValueError as e:
            yield RowError(line, str(e))
            continue
        yield line, f"acled:{event_id}", deleted
