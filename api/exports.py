"""Exports that stream every matching row: incidents and casualties as CSV (RFC 4180,
UTF-8, header row first; `fields=` selects and orders the columns) and incidents as GeoJSON
(the same columns as the incidents CSV, as flat properties: no value is a list or an
object). The API and `tracker query … --csv` write the same bytes through these functions."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from projections.incident_state import basis, cited_sources
from projections.readmodel.queries import QueryError
from tracker.wording import word_for

# The incident exports' columns, one definition for the CSV and the GeoJSON properties.
# Lists are "; "-joined: `actors` (names) and `actor_ids` pair up in order; `sources` are
# the reports' sources, `cited_sources` the ones a dataset row cites (ACLED's `source`,
# UCDP's `source_office`).
INCIDENT_COLUMNS = (
    "id", "date", "date_precision", "date_end", "type", "subtype", "country", "admin1",
    "admin2", "admin3", "location", "latitude", "longitude", "operation", "actors", "actor_ids",
    "killed_best", "killed_low", "killed_high", "civilians_best", "wounded_best", "sources",
    "cited_sources", "source_scale", "basis_rule", "basis_report", "members", "notes")
CASUALTY_COLUMNS = ("key", "name", "killed_best", "killed_low", "killed_high",
                    "civilians_best", "wounded_best", "incidents", "country", "admin1", "admin2")


def columns(fields: str | None, known: tuple[str, ...]) -> list[str]:
    """The columns `fields=a,b,c` asks for, in that order (all of them by default)."""
    if not fields:
        return list(known)
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in known]
    if unknown or not wanted:
        raise QueryError(f"fields: unknown {word_for(len(unknown), 'column')} "
                         f"{', '.join(unknown) or '(none given)'}; "
                         f"known: {', '.join(known)}", "fields")
    repeated = [f for f in dict.fromkeys(wanted) if wanted.count(f) > 1]
    if repeated:  # a CSV would have the column twice, a GeoJSON feature the property once
        raise QueryError(f"fields: {word_for(len(repeated), 'column')} asked for twice: "
                         f"{', '.join(repeated)}", "fields")
    return wanted


def incident_record(doc: dict[str, Any]) -> dict[str, Any]:
    """One export row from an incident's document (as `iter_incidents(summary=False)` gives
    it: figures folded into killed, civilians and wounded, actors named in `actor_names`)."""
    d = doc["details"]
    loc = d.get("location") or {}
    named = doc.get("actor_names")
    if named is None:  # not named by the query: the ids stand for the names
        named = [(a["actor"], a["actor"]) for a in d.get("actors") or []]
    return {
        "id": doc["id"], "date": d.get("date"), "date_precision": d.get("date_precision"),
        "date_end": d.get("date_end"), "type": d.get("type"), "subtype": d.get("subtype"),
        "country": loc.get("country"),
        "admin1": loc.get("admin1"), "admin2": loc.get("admin2"),
        "admin3": loc.get("admin3"), "location": loc.get("name"),
        "latitude": loc.get("latitude"), "longitude": loc.get("longitude"),
        "operation": d.get("operation"),
        "actors": "; ".join(name for _, name in named) or None,
        "actor_ids": "; ".join(key for key, _ in named) or None,
        "killed_best": doc["killed"]["best"], "killed_low": doc["killed"]["low"],
        "killed_high": doc["killed"]["high"], "civilians_best": doc["civilians"]["best"],
        "wounded_best": doc["wounded"]["best"],
        "sources": "; ".join(doc.get("sources") or []) or None,
        "cited_sources": "; ".join(cited_sources(doc)) or None,
        "source_scale": (d.get("attributes") or {}).get("source_scale"),
        **(basis_columns(doc) if "basis_rule" not in doc else
           {"basis_rule": doc["basis_rule"], "basis_report": doc["basis_report"]}),
        "members": "; ".join(doc.get("members") or [doc["id"]]),
        "notes": d.get("notes"),
    }


def basis_columns(doc: dict[str, Any]) -> dict[str, Any]:
    found = basis(doc) or {}
    return {"basis_rule": found.get("rule"), "basis_report": found.get("report")}


def casualty_record(r: dict[str, Any]) -> dict[str, Any]:
    return {"key": r["key"], "name": r.get("name", r["key"]),
            "killed_best": r["killed"]["best"], "killed_low": r["killed"]["low"],
            "killed_high": r["killed"]["high"], "civilians_best": r["civilians"]["best"],
            "wounded_best": r["wounded"]["best"], "incidents": r["incidents"],
            # The region's names (by=country, admin1, admin2; empty otherwise).
            "country": r.get("country"), "admin1": r.get("admin1"), "admin2": r.get("admin2")}


def csv_lines(records: Iterable[dict[str, Any]], cols: list[str], chunk: int = 500
              ) -> Iterator[str]:
    """CSV text a few hundred rows at a time: header first, CRLF line ends (RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(cols)
    for n, record in enumerate(records, start=1):
        writer.writerow(["" if record[c] is None else record[c] for c in cols])
        if n % chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def geojson_chunks(records: Iterable[dict[str, Any]], cols: list[str], chunk: int = 200
                   ) -> Iterator[bytes]:
    """A FeatureCollection of export rows (`incident_record`), written a few hundred
    features at a time: `cols` as flat properties, the point from the row's coordinates
    (geometry null without them)."""
    yield b'{"type":"FeatureCollection","features":['
    parts: list[bytes] = []
    first = True
    for r in records:
        point = None
        if r["longitude"] is not None and r["latitude"] is not None:
            point = {"type": "Point", "coordinates": [r["longitude"], r["latitude"]]}
        feature = orjson.dumps({"type": "Feature", "id": r["id"], "geometry": point,
                                "properties": {c: r[c] for c in cols}})
        parts.append(feature if first else b"," + feature)
        first = False
        if len(parts) >= chunk:
            yield b"".join(parts)
            parts = []
    parts.append(b"]}")
    yield b"".join(parts)
