"""The fact report format (contract 1): validation, no storage.

`parse_report(data)` turns a decoded JSON report into a `Report` of normalized facts,
or raises `ReportValidationError` listing every problem with its fact index and field.
Each fact type is declared once, in the fact catalogue (tracker.facts); checks that need
stored state (does the referenced actor exist?) happen when the fact is applied, and are
reported the same way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from marshmallow import fields as mfields

from tracker.exceptions import FactError, ReportValidationError
from tracker.facts import FACT_TYPES
from tracker.fields import (
    Checker,
    Choice,
    Day,
    FormatSchema,
    Ident,
    Invalid,
    LongText,
    NestedInvalid,
    Text,
    compile_schema,
    ident,
    text,
)

SOURCE_KINDS = ("official", "media", "ngo", "dataset", "analyst", "local_partner", "other")
MAX_FACTS = 50_000


class Source(FormatSchema):
    """Who reported the facts."""

    name = Text(required=True)
    kind = Choice(SOURCE_KINDS, required=True)
    published = Day(doc="when the source published it")
    url = Text(max_length=2000)
    reference = Text(max_length=1000, doc="where in the source (page, file, row…)")


class FactField(mfields.Field):
    """One fact: an object whose `fact` field names its type, loaded by that type's schema.
    (The API documents it as a `oneOf` of the fact schemas, discriminated by `fact`.)"""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        kind = value.get("fact") if isinstance(value, dict) else None
        fact_type = FACT_TYPES.get(kind) if isinstance(kind, str) else None
        if fact_type is None:
            raise ValidationError({"fact": ["unknown fact type"]})
        return fact_type.schema().load(value)


class ReportSchema(FormatSchema):
    """A fact report: one source's facts, recorded together or not at all."""

    report = Ident(required=True,
                   doc="the report's id: sending the same report again records nothing")
    source = mfields.Nested(Source, required=True)
    facts = mfields.List(FactField(), required=True, validate=lambda v: 0 < len(v) <= MAX_FACTS)
    notes = LongText()


SOURCE: Checker = compile_schema(Source)


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
    # (kind, id) -> index of each fact the format refused that would have registered that
    # entity: later facts naming it are told so, not that nothing registered it.
    refused: dict[tuple[str, str], int] = field(default_factory=dict)

    def facts_in_apply_order(self) -> list[Fact]:
        return sorted(self.facts, key=lambda f: (FACT_TYPES[f.type].order, f.index))


def content_hash(data: Any) -> str:
    """The sha256 of a report's canonical JSON: the same content, the same hash."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_report(data: Any, *, max_facts: int = MAX_FACTS) -> Report:
    """Validates a decoded report and returns it normalized; raises ReportValidationError."""
    report, errors = check_report(data, max_facts=max_facts)
    if errors or report is None:
        raise ReportValidationError(errors)
    return report


def check_report(data: Any, *, max_facts: int = MAX_FACTS
                 ) -> tuple[Report | None, list[FactError]]:
    """Checks a decoded report's format: the report of the facts that passed (None when the
    report's own fields are wrong), and every problem found. The application then checks
    the facts that passed against what is recorded, so that one answer lists both."""
    errors: list[FactError] = []
    if not isinstance(data, dict):
        return None, [FactError(None, "report", "must be a JSON object")]
    for key in data:
        if key not in ("report", "source", "facts", "notes"):
            errors.append(FactError(None, key, "is not a known field of a report"))
    key = _top(data, "report", ident, errors)
    source = _top(data, "source", SOURCE, errors)
    notes = _top(data, "notes", text, errors, required=False)
    raw_facts = data.get("facts")
    facts: list[Fact] = []
    refused: dict[tuple[str, str], int] = {}
    if not isinstance(raw_facts, list) or not raw_facts:
        errors.append(FactError(None, "facts", "must be a non-empty list of facts"))
    elif len(raw_facts) > max_facts:
        errors.append(FactError(None, "facts", f"at most {max_facts} facts per report"))
    else:
        for index, raw in enumerate(raw_facts):
            fact = parse_fact(index, raw, errors)
            if fact is not None:
                facts.append(fact)
            else:
                _note_refused(index, raw, refused)
    if errors and (any(e.index is None for e in errors) or not facts):
        return None, errors
    # No hash for a refused report: it is never recorded (and its text may not encode).
    return Report(key=key, source=source, facts=facts,
                  content_hash="" if errors else content_hash(data),
                  notes=notes, refused=refused), errors


def _note_refused(index: int, raw: Any, refused: dict[tuple[str, str], int]) -> None:
    """Remembers the entity a refused fact would have registered (its `id`)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("fact"), str):
        return
    fact_type = FACT_TYPES.get(raw["fact"])
    kind = fact_type.registers if fact_type is not None else None
    if kind is not None and isinstance(raw.get("id"), str):
        refused.setdefault((kind, raw["id"]), index)


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
    if kind is None:
        errors.append(FactError(index, "fact", "is required: the fact's type, one of: "
                                + ", ".join(FACT_TYPES)))
        return None
    fact_type = FACT_TYPES.get(kind) if isinstance(kind, str) else None
    if fact_type is None:
        errors.append(FactError(index, "fact", f"unknown fact type {kind!r}; expected one of: "
                                + ", ".join(FACT_TYPES)))
        return None
    try:
        data = fact_type.check(raw)
    except NestedInvalid as e:
        errors.extend(FactError(index, path, hinted(fact_type.name, path, message))
                      for path, message in e.problems)
        return None
    return Fact(index=index, type=fact_type.name, data=data)


# Fields people write where the format has them elsewhere: the refusal says where.
WHERE_INSTEAD: dict[tuple[str, str], str] = {
    ("casualties", "civilians"): 'a count of civilians goes in breakdown: "breakdown": '
                                 '{"civilians": 9}',
}


def hinted(fact: str, path: str, message: str) -> str:
    """A field error's message, with where the field belongs when it is written elsewhere
    than the format has it (`civilians` on a casualties fact: `breakdown.civilians`)."""
    instead = WHERE_INSTEAD.get((fact, path))
    return f"{message}; {instead}" if instead and message == "is not a known field" \
        else message
