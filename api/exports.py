"""Exports that stream every matching row: incidents and casualties as CSV (RFC 4180,
UTF-8, header row first; `fields=` selects and orders the columns) and incidents as GeoJSON.
The API and `tracker query … --csv` write the same bytes through these functions."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from projections.incident_state import basis
from projections.readmodel.queries import QueryError

INCIDENT_COLUMNS = (
    "id", "date", "date_precision", "type", "subtype", "country", "admin1", "admin2",
    "location", "latitude", "longitude", "operation", "actors", "killed_best", "killed_low",
    "killed_high", "civilians_best", "wounded_best", "sources", "basis_rule", "basis_report",
    "members")
CASUALTY_COLUMNS = ("key", "name", "killed_best", "killed_low", "killed_high",
                    "civilians_best", "wounded_best", "incidents", "country", "admin1", "admin2")


def columns(fields: str | None, known: tuple[str, ...]) -> list[str]:
    """The columns `fields=a,b,c` asks for, in that order (all of them by default)."""
    if not fields:
        return list(known)
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in known]
    if unknown or not wanted:
        raise QueryError(f"fields: unknown column(s) {', '.join(unknown) or '(none given)'}; "
                         f"known: {', '.join(known)}", "fields")
    return wanted


def incident_record(doc: dict[str, Any]) -> dict[str, Any]:
    """One CSV row from an incident's document (as `iter_incidents(summary=False)` gives
    it: figures folded into killed, civilians and wounded)."""
    d = doc["details"]
    loc = d.get("location") or {}
    return {
        "id": doc["id"], "date": d.get("date"), "date_precision": d.get("date_precision"),
        "type": d.get("type"), "subtype": d.get("subtype"), "country": loc.get("country"),
        "admin1": loc.get("admin1"), "admin2": loc.get("admin2"), "location": loc.get("name"),
        "latitude": loc.get("latitude"), "longitude": loc.get("longitude"),
        "operation": d.get("operation"),
        "actors": "; ".join(a["actor"] for a in d.get("actors") or []),
        "killed_best": doc["killed"]["best"], "killed_low": doc["killed"]["low"],
        "killed_high": doc["killed"]["high"], "civilians_best": doc["civilians"]["best"],
        "wounded_best": doc["wounded"]["best"], "sources": "; ".join(doc.get("sources") or []),
        **basis_columns(doc),
        "members": "; ".join(doc.get("members") or [doc["id"]]),
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


def geojson_chunks(incidents: Iterable[dict[str, Any]], chunk: int = 200) -> Iterator[bytes]:
    """A FeatureCollection of every incident, written a few hundred features at a time
    (geometry null where an incident has no coordinates)."""
    yield b'{"type":"FeatureCollection","features":['
    parts: list[bytes] = []
    first = True
    for i in incidents:
        loc = i.get("location") or {}
        point = None
        if loc.get("longitude") is not None and loc.get("latitude") is not None:
            point = {"type": "Point", "coordinates": [loc["longitude"], loc["latitude"]]}
        feature = orjson.dumps({"type": "Feature", "id": i["id"], "geometry": point,
                                "properties": i})
        parts.append(feature if first else b"," + feature)
        first = False
        if len(parts) >= chunk:
            yield b"".join(parts)
            parts = []
    parts.append(b"]}")
    yield b"".join(parts)
