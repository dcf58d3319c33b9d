"""What a parser makes of one dataset event (pure data, no storage)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tracker.exceptions import TrackerError


class IngestionError(TrackerError):
    """Raised when an import cannot go on (unreadable file, --strict with bad rows)."""

    code = "ingestion_error"


@dataclass(frozen=True)
class RowError:
    """A row that cannot be imported: where it is and why."""

    line: int
    reason: str

    def describe(self, path: str) -> str:
        return f"{path}:{self.line}: {self.reason}"


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
