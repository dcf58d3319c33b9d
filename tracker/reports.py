"""The fact report format (contract 1): pure validation, no storage.

`parse_report(data)` turns a decoded JSON report into a `Report` of normalized facts,
or raises `ReportValidationError` listing every problem with its fact index and field.
Checks that need stored state (does the referenced actor exist?) happen in the
application service, which reports them the same way.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tracker.exceptions import FactError, ReportValidationError

SOURCE_KINDS = ("official", "media", "ngo", "dataset", "analyst", "local_partner", "other")
ACTOR_KINDS = (
    "armed_group", "state_force", "coalition", "person", "government", "civilians", "other",
)
RELATIONS = ("branch_of", "allied_with", "part_of", "faction_of")
ROLE_END_REASONS = ("killed", "captured", "removed", "resigned", "defected", "unknown")
INCIDENT_TYPES = (
    "battle", "explosion_remote_violence", "violence_against_civilians", "protest", "riot",
    "strategic_development",
)
DATE_PRECISIONS = ("day", "week", "month", "year")
MATERIEL_ACTIONS = ("seized", "destroyed")
OPERATION_STATUSES = ("planned", "active", "suspended", "concluded")
SIDES = ("a", "b", "other")
TARGET_KINDS = ("incident", "actor", "operation")

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,199}$")
MAX_TEXT = 10_000

Checker = Callable[[Any], Any]


class Invalid(ValueError):
    """Raised by a field checker; the message says what is expected."""


# --- field checkers: each returns the normalized value or raises Invalid ---------------


def text(value: Any) -> str:
    stripped = value.strip() if isinstance(value, str) else ""
    if not stripped:
        raise Invalid("must be a non-empty string")
    if not value.isascii():
        _utf8(value)
    if len(value) > MAX_TEXT:
        raise Invalid(f"must be at most {MAX_TEXT} characters")
    return stripped


def _utf8(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid("must be valid Unicode text (it holds an unpaired surrogate)") from None


def ident(value: Any) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise Invalid(
            "must be an id: letters, digits and . _ : / + - (starting with a letter or digit)"
        )
    return value


def iso_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        raise Invalid("must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise Invalid(f"is not a real date: {e}") from None


def count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid("must be a whole number, 0 or more")
    return value


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid("must be a number")
    if not math.isfinite(value):
        raise Invalid("must be a finite number (not NaN or Infinity)")
    return float(value)


def one_of(*choices: str) -> Checker:
    def check(value: Any) -> str:
        if value not in choices:
            raise Invalid(f"must be one of: {', '.join(choices)}")
        return str(value)

    return check


def list_of(item: Checker, *, non_empty: bool = False) -> Checker:
    def check(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise Invalid("must be a list")
        if non_empty and not value:
            raise Invalid("must not be empty")
        out = []
        for i, v in enumerate(value):
            try:
                out.append(item(v))
            except Invalid as e:
                raise Invalid(f"item {i} {e}") from None
        return out

    return check


def record(required: dict[str, Checker], optional: dict[str, Checker],
           ignore: str | None = None) -> Checker:
    """A nested object. Raises NestedInvalid listing every bad field by its dotted path.
    The `ignore` key (a fact's "fact" discriminator) is left out of the result."""
    checkers = {**required, **optional}

    def check(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Invalid("must be an object")
        out: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for key, raw in value.items():
            checker = checkers.get(key)
            if checker is None:
                if key != ignore:
                    problems.append((key, "is not a known field"))
                continue
            if raw is None:
                continue
            try:
                out[key] = checker(raw)
            except NestedInvalid as e:
                problems.extend((f"{key}.{path}", message) for path, message in e.problems)
            except Invalid as e:
                problems.append((key, str(e)))
        for key in required:
            if value.get(key) is None:
                problems.append((key, "is required"))
        if problems:
            raise NestedInvalid(problems)
        return out

    return check


class NestedInvalid(Invalid):
    """Raised by `record` with every (dotted path, message) it found."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p} {m}" for p, m in problems))


def between(low: float, high: float) -> Checker:
    def check(value: Any) -> float:
        n = number(value)
        if not low <= n <= high:
            raise Invalid(f"must be between {low:g} and {high:g}")
        return n

    return check


LATITUDE, LONGITUDE = between(-90, 90), between(-180, 180)
_LOCATION = record(
    {"name": text, "country": text},
    {
        "admin1": text, "admin2": text, "admin3": text, "region": text,
        "latitude": LATITUDE, "longitude": LONGITUDE,
        "geo_precision": count,
    },
)


def LOCATION(value: Any) -> dict[str, Any]:  # noqa: N802 - a checker, like the records
    """A location: name and country required; coordinates in range, both or neither."""
    out = _LOCATION(value)
    if ("latitude" in out) != ("longitude" in out):
        missing = "longitude" if "latitude" in out else "latitude"
        raise NestedInvalid([(missing, "is required with the other coordinate (give both "
                                       "or neither)")])
    return out
INCIDENT_ACTOR = record(
    {"actor": ident}, {"side": one_of(*SIDES), "associated": lambda v: bool(v), "inter": count}
)
TARGET = record({}, {"incident": ident, "actor": ident, "operation": ident, "report": ident})
SOURCE = record(
    {"name": text, "kind": one_of(*SOURCE_KINDS)},
    {"published": iso_date, "url": text, "reference": text},
)

def scalar_map(value: Any) -> dict[str, Any]:
    """A flat object of strings, numbers, booleans or nulls (dataset columns, references)."""
    if not isinstance(value, dict):
        raise Invalid("must be an object")
    for k, v in value.items():
        if not isinstance(k, str) or (v is not None and not isinstance(v, (str, int, float, bool))):
            raise Invalid(f"{k!r} must map to a string, number, boolean or null")
        if isinstance(v, str) and not v.isascii():
            _utf8(v)
        elif isinstance(v, float) and not math.isfinite(v):
            raise Invalid(f"{k!r} must be a finite number (not NaN or Infinity)")
    return dict(value)


def counts(value: Any) -> dict[str, int]:
    out = scalar_map(value)
    for k, v in out.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise Invalid(f"{k!r} must be a whole number, 0 or more")
    return out


# Every fact may carry notes, and a `ref`: where in a dataset it comes from (dataset, row id,
# row version, file line…); the ref is copied into the provenance of the events it causes.
NOTES: dict[str, Checker] = {"notes": text, "ref": scalar_map}
FATE_OPTIONAL: dict[str, Checker] = {
    "incident": ident, "date_precision": one_of(*DATE_PRECISIONS), **NOTES}

# fact type -> (required fields, optional fields)
FACTS: dict[str, tuple[dict[str, Checker], dict[str, Checker]]] = {
    "actor": (
        {"id": ident, "name": text, "kind": one_of(*ACTOR_KINDS)},
        {"aliases": list_of(text), "country": text, "title": text, **NOTES},
    ),
    "alias": ({"actor": ident, "alias": text}, NOTES),
    "affiliation": (
        {"actor": ident, "parent": ident, "relation": one_of(*RELATIONS)},
        {"since": iso_date, **NOTES},
    ),
    "sanction": ({"actor": ident, "authority": text}, {"listed": iso_date, **NOTES}),
    "role": ({"person": ident, "group": ident, "role": ident}, {"since": iso_date, **NOTES}),
    "role_ended": (
        {"person": ident, "group": ident, "role": ident, "reason": one_of(*ROLE_END_REASONS)},
        {"date": iso_date, "incident": ident, **NOTES},
    ),
    "death": ({"person": ident, "date": iso_date}, FATE_OPTIONAL),
    "capture": ({"person": ident, "date": iso_date}, FATE_OPTIONAL),
    "release": ({"person": ident, "date": iso_date}, FATE_OPTIONAL),
    "incident": (
        {"id": ident, "date": iso_date, "type": one_of(*INCIDENT_TYPES), "location": LOCATION},
        {
            "date_precision": one_of(*DATE_PRECISIONS), "date_end": iso_date, "subtype": text,
            "actors": list_of(INCIDENT_ACTOR), "operation": ident,
            "attributes": scalar_map, **NOTES,
        },
    ),
    "casualties": (
        {"incident": ident, "killed": count},
        {"actor": ident, "low": count, "high": count, "wounded": count, "breakdown": counts,
         **NOTES},
    ),
    "materiel": (
        {"incident": ident, "action": one_of(*MATERIEL_ACTIONS),
         "items": list_of(text, non_empty=True)},
        NOTES,
    ),
    "operation": (
        {"id": ident, "name": text, "lead": ident},
        {"partners": list_of(ident), "status": one_of(*OPERATION_STATUSES),
         "started": iso_date, **NOTES},
    ),
    "operation_status": (
        {"operation": ident, "status": one_of(*OPERATION_STATUSES)}, {"date": iso_date, **NOTES}
    ),
    "correction": (
        {"target": TARGET, "field": text, "value": lambda v: v, "reason": text}, NOTES
    ),
    "retraction": ({"target": TARGET, "reason": text}, NOTES),
}

# One checker per fact type, built once (a large import validates tens of thousands of facts).
FACT_CHECKERS: dict[str, Checker] = {
    kind: record(required, optional, ignore="fact") for kind, (required, optional) in FACTS.items()
}

# What a correction may change, per entity kind, and how the new value is checked.
CORRECTABLE: dict[str, dict[str, Checker]] = {
    "incident": {
        "date": iso_date, "date_end": iso_date, "date_precision": one_of(*DATE_PRECISIONS),
        "type": one_of(*INCIDENT_TYPES), "subtype": text, "operation": ident,
        "location.name": text, "location.country": text, "location.admin1": text,
        "location.admin2": text, "location.admin3": text, "location.region": text,
        "location.latitude": LATITUDE, "location.longitude": LONGITUDE,
        "actors": list_of(INCIDENT_ACTOR), "notes": text, "attributes": scalar_map,
        "location.geo_precision": count,
    },
    "actor": {
        "name": text, "kind": one_of(*ACTOR_KINDS), "aliases": list_of(text),
        "country": text, "title": text, "notes": text, "fate.date": iso_date,
    },
    "operation": {
        "name": text, "lead": ident, "partners": list_of(ident), "started": iso_date,
        "notes": text,
    },
}

# The order facts of one report are applied in: entities first, so that a report may define
# an actor after the fact that mentions it; roles before deaths and captures, which end
# them; corrections and retractions last. Other facts keep their order (the default 6).
APPLY_ORDER = {
    "actor": 0, "operation": 1, "incident": 2, "role": 3, "death": 4, "capture": 4,
    "release": 5, "correction": 7, "retraction": 7,
}


@dataclass(slots=True)
class Fact:
    """One checked fact of a report; not changed once made. (Not frozen: a frozen
    dataclass costs a microsecond more to make, and a large import makes one per fact.)"""

    index: int
    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Report:
    key: str
    source: dict[str, Any]
    facts: list[Fact]
    content_hash: str
    notes: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def facts_in_apply_order(self) -> list[Fact]:
        return sorted(self.facts, key=lambda f: (APPLY_ORDER.get(f.type, 6), f.index))


def content_hash(data: Any) -> str:
    """The sha256 of a report's canonical JSON: the same content, the same hash."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_report(data: Any, *, max_facts: int = 50_000) -> Report:
    """Validates a decoded report and returns it normalized; raises ReportValidationError."""
    errors: list[FactError] = []
    if not isinstance(data, dict):
        raise ReportValidationError([FactError(None, "report", "must be a JSON object")])
    for key in data:
        if key not in ("report", "source", "facts", "notes"):
            errors.append(FactError(None, key, "is not a known field of a report"))
    key = _top(data, "report", ident, errors)
    source = _top(data, "source", SOURCE, errors)
    notes = _top(data, "notes", text, errors, required=False)
    raw_facts = data.get("facts")
    facts: list[Fact] = []
    if not isinstance(raw_facts, list) or not raw_facts:
        errors.append(FactError(None, "facts", "must be a non-empty list of facts"))
    elif len(raw_facts) > max_facts:
        errors.append(FactError(None, "facts", f"at most {max_facts} facts per report"))
    else:
        for index, raw in enumerate(raw_facts):
            fact = parse_fact(index, raw, errors)
            if fact is not None:
                facts.append(fact)
    if errors:
        raise ReportValidationError(errors)
    return Report(key=key, source=source, facts=facts, content_hash=content_hash(data),
                  notes=notes)


def _top(data: dict[str, Any], name: str, checker: Checker, errors: list[FactError],
         *, required: bool = True) -> Any:
    if name not in data:
        if required:
            errors.append(FactError(None, name, "is required"))
        return None
    try:
        return checker(data[name])
    except NestedInvalid as e:
        errors.extend(FactError(None, f"{name}.{path}", m) for path, m in e.problems)
    except Invalid as e:
        errors.append(FactError(None, name, str(e)))
    return None


def parse_fact(index: int, raw: Any, errors: list[FactError]) -> Fact | None:
    """Checks one fact; appends its errors (index and field) and returns it normalized."""
    if not isinstance(raw, dict):
        errors.append(FactError(index, "fact", "each fact must be a JSON object"))
        return None
    kind = raw.get("fact")
    if not isinstance(kind, str) or kind not in FACTS:
        errors.append(FactError(index, "fact", f"unknown fact type {kind!r}; expected one of: "
                                + ", ".join(FACTS)))
        return None
    before = len(errors)
    data: dict[str, Any] = {}
    try:
        data = FACT_CHECKERS[kind](raw)
    except NestedInvalid as e:
        errors.extend(FactError(index, path, message) for path, message in e.problems)
        return None
    if kind in ("correction", "retraction"):
        _check_target(index, kind, data, errors)
    # Figures are kept as given, even a low above high (real datasets have them): the
    # views flag a range that does not contain best instead of refusing it.
    if len(errors) > before:
        return None
    return Fact(index=index, type=kind, data=data)


def _check_target(index: int, kind: str, data: dict[str, Any], errors: list[FactError]) -> None:
    target = data["target"]
    allowed = TARGET_KINDS + (("report",) if kind == "retraction" else ())
    if len(target) != 1 or next(iter(target)) not in allowed:
        errors.append(FactError(index, "target", "must name exactly one of: " + ", ".join(allowed)))
        return
    if kind == "correction":
        entity_kind = next(iter(target))
        fields = CORRECTABLE[entity_kind]
        name = data["field"]
        if name not in fields:
            errors.append(FactError(index, "field", f"{entity_kind} field {name!r} cannot be "
                                    "corrected; correctable: " + ", ".join(fields)))
            return
        try:
            data["value"] = fields[name](data["value"])
        except NestedInvalid as e:
            errors.extend(FactError(index, f"value.{p}", m) for p, m in e.problems)
        except Invalid as e:
            errors.append(FactError(index, "value", f"for {name!r} {e}"))
