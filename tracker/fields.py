"""The field types of the report format: marshmallow fields that declare, and fast checkers
that check.

A fact type is declared once, as a marshmallow schema built from these fields (see
tracker.facts). The schema is what the OpenAPI document shows — types, enums, patterns,
bounds and required fields come from the same validators marshmallow runs. Reports are then
checked by a checker compiled from the schema (`compile_schema`): the same field functions,
without marshmallow's per-field machinery, which costs about 7× more per fact and a large
import checks hundreds of thousands of facts. tests/unit/test_fact_schemas.py holds the two
to agreement on generated facts.

A checker takes a decoded JSON value and returns it normalized (dates as `date`, text
stripped), or raises `Invalid` with what is expected; a nested object raises
`NestedInvalid` listing every bad field by its dotted path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,199}$")

# The limits of the format (docs/report-format.md, "Limits"): every value the write side
# accepts, the read model holds exactly, on SQLite and PostgreSQL alike.
MAX_COUNT = 10_000_000      # one figure; sums are 64-bit columns, so they never overflow
MAX_NAME = 200              # a name, place, type or other one-line text
MAX_TEXT = 10_000           # notes, reasons and other free text (several lines allowed)
MAX_JSON_INT = 2**53 - 1    # an integer in a dataset's columns: exact in any JSON reader
FIRST_DAY = date(1900, 1, 1)
DAYS_AHEAD = 366            # a date may lie up to a year after today (a planned operation)
# C0 and C1 control characters (NUL included); free text may hold tabs and line breaks.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

Checker = Callable[[Any], Any]


class Invalid(ValueError):
    """Raised by a field checker; the message says what is expected."""


class NestedInvalid(Invalid):
    """Raised by an object's checker with every (dotted path, message) it found."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p} {m}" for p, m in problems))


# --- checkers: each returns the normalized value or raises Invalid ---------------------------


def text_of(max_length: int, lines: bool = False) -> Checker:
    """Text with something besides spaces, at most `max_length` characters, without NUL or
    other control characters (`lines`: tabs and line breaks allowed); stored stripped."""
    control = _CONTROL_BUT_LINES if lines else _CONTROL
    allowed = "" if lines else "; use the notes for text of several lines"

    def check(value: Any) -> str:
        stripped = value.strip() if isinstance(value, str) else ""
        if not stripped:
            raise Invalid("must be a non-empty string")
        if len(stripped) > max_length:
            raise Invalid(f"must be at most {max_length} characters (it has {len(stripped)})")
        found = control.search(stripped)
        if found is not None:
            hint = allowed if found.group() in "\t\n\r" else ""
            raise Invalid(f"must not contain control characters (found U+"
                          f"{ord(found.group()):04X} at character {found.start() + 1}){hint}")
        if not value.isascii():
            _utf8(value)
        return stripped

    return check


text = text_of(MAX_NAME)
long_text = text_of(MAX_TEXT, lines=True)


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


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def last_day() -> date:
    """The latest date the format accepts: a year after today (UTC)."""
    return datetime.now(UTC).date() + timedelta(days=DAYS_AHEAD)


def iso_date(value: Any) -> date:
    if isinstance(value, date):
        day = value
    elif not isinstance(value, str) or not _DAY.match(value):
        raise Invalid("must be a date as YYYY-MM-DD")
    else:
        try:
            day = date.fromisoformat(value)
        except ValueError as e:
            raise Invalid(f"is not a real date: {e}") from None
    if not FIRST_DAY <= day <= last_day():
        raise Invalid(f"must lie between {FIRST_DAY.isoformat()} and a year from today "
                      f"({last_day().isoformat()})")
    return day


def count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid("must be a whole number, 0 or more")
    if value > MAX_COUNT:
        raise Invalid(f"must be at most {MAX_COUNT:,} (a single figure)")
    return value


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid("must be a number")
    if not math.isfinite(value):
        raise Invalid("must be a finite number (not NaN or Infinity)")
    return float(value)


def between(low: float, high: float) -> Checker:
    def check(value: Any) -> float:
        n = number(value)
        if not low <= n <= high:
            raise Invalid(f"must be between {low:g} and {high:g}")
        return n

    return check


def one_of(*choices: str) -> Checker:
    def check(value: Any) -> str:
        if value not in choices:
            raise Invalid(f"must be one of: {', '.join(choices)}")
        return str(value)

    return check


def truthy(value: Any) -> bool:
    return bool(value)


def anything(value: Any) -> Any:
    return value


def scalar_map(value: Any) -> dict[str, Any]:
    """A flat object of strings, numbers, booleans or nulls (dataset columns, references):
    keys are names (at most MAX_NAME characters), strings free text (at most MAX_TEXT, no
    control characters but tabs and line breaks), integers exact in JSON (|n| < 2^53)."""
    if not isinstance(value, dict):
        raise Invalid("must be an object")
    for k, v in value.items():
        kind = type(v)  # exact types first: every imported fact carries one or two of these
        if kind is str:
            if len(v) > MAX_TEXT:
                raise Invalid(f"{k!r} must be at most {MAX_TEXT} characters")
            if not v.isascii():
                _utf8(v)
            if _CONTROL_BUT_LINES.search(v):
                raise Invalid(f"{k!r} must not contain control characters")
        elif kind is int:
            if not -MAX_JSON_INT <= v <= MAX_JSON_INT:
                raise Invalid(f"{k!r} must be an integer of at most 15 digits "
                              f"(|n| <= {MAX_JSON_INT})")
        elif kind is float:
            if not math.isfinite(v):
                raise Invalid(f"{k!r} must be a finite number (not NaN or Infinity)")
        elif not (v is None or kind is bool):
            raise Invalid(f"{k!r} must map to a string, number, boolean or null")
        if type(k) is not str:
            raise Invalid(f"{k!r} must be a name (a string)")
        if len(k) > MAX_NAME or _CONTROL.search(k) or not k.strip():
            raise Invalid(f"{k[:40]!r}: keys must be names of 1 to {MAX_NAME} characters "
                          "without control characters")
    return dict(value)


def counts(value: Any) -> dict[str, int]:
    out = scalar_map(value)
    for k, v in out.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise Invalid(f"{k!r} must be a whole number, 0 or more")
        if v > MAX_COUNT:
            raise Invalid(f"{k!r} must be at most {MAX_COUNT:,} (a single figure)")
    return out


def list_of(item: Checker, *, non_empty: bool = False) -> Checker:
    def check(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise Invalid("must be a list")
        if non_empty and not value:
            raise Invalid("must not be empty")
        out = []
        problems: list[tuple[str, str]] = []
        for i, v in enumerate(value):
            try:
                out.append(item(v))
            except NestedInvalid as e:
                problems.extend((f"{i}.{path}", message) for path, message in e.problems)
            except Invalid as e:
                problems.append((str(i), str(e)))
        if problems:
            # Each bad item by its dotted path (`actors.1.side`), as an object's fields are.
            raise NestedInvalid(problems)
        return out

    return check


Whole = Callable[[dict[str, Any]], list[tuple[str, str]]]


def record(required: Mapping[str, Checker], optional: Mapping[str, Checker],
           ignore: str | None = None, whole: Whole | None = None,
           nullable: frozenset[str] = frozenset()) -> Checker:
    """An object. A null counts as absent, except in a `nullable` field (required, and
    null is a value: a correction's new value, null to clear the field), where it is kept
    for `whole` to check. Raises NestedInvalid listing every bad field by its dotted path;
    `whole` then checks the fields together. The `ignore` key (a fact's "fact"
    discriminator) is left out of the result."""
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
                if key in nullable:
                    out[key] = None
                continue
            try:
                out[key] = checker(raw)
            except NestedInvalid as e:
                problems.extend((f"{key}.{path}", message) for path, message in e.problems)
            except Invalid as e:
                problems.append((key, str(e)))
        for key in required:
            if value.get(key) is None and key not in out:
                problems.append((key, "is required"))
        if not problems and whole is not None:
            problems = whole(out)
        if problems:
            raise NestedInvalid(problems)
        return out

    return check


# --- marshmallow fields: the declaration -----------------------------------------------------


class Checked(fields.Field):
    """A field whose value a checker function normalizes; marshmallow runs the same function,
    so a schema's `load` and its compiled checker accept the same values."""

    check: Checker

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> Any:
        try:
            return self.check(value)
        except NestedInvalid as e:
            raise ValidationError({path: [message] for path, message in e.problems}) from None
        except Invalid as e:
            raise ValidationError(str(e)) from None


def _options(kw: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    """marshmallow's options from ours: `doc` is the field's description in the document;
    an optional field may be null (read as absent, as in the checkers)."""
    if not kw.get("required"):
        kw.setdefault("allow_none", True)
    doc = kw.pop("doc", None)
    kw["metadata"] = {**metadata, **kw.get("metadata", {}),
                      **({"description": doc} if doc else {})}
    return kw


class Text(Checked, fields.String):
    """One line of text with something besides spaces (stored stripped), at most
    `max_length` characters (MAX_NAME by default), no control characters. `lines=True`
    (free text: notes, reasons) allows tabs and line breaks."""

    def __init__(self, max_length: int = MAX_NAME, lines: bool = False, **kw: Any) -> None:
        self.check = text_of(max_length, lines)
        self.max_length = max_length
        # The patterns (searches, in JSON Schema) document "not only spaces" and "no
        # control characters"; the checker enforces them.
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*\S" if lines \
            else r"^[^\x00-\x1f\x7f-\x9f]*\S[^\x00-\x1f\x7f-\x9f]*$"
        super().__init__(validate=validate.Length(min=1, max=max_length),
                         **_options(kw, pattern=pattern))


def LongText(**kw: Any) -> Text:  # noqa: N802 - a field, like the others
    """Free text (notes, reasons): up to MAX_TEXT characters, several lines allowed."""
    return Text(max_length=MAX_TEXT, lines=True, **kw)


class Ident(Checked, fields.String):
    """An id: letters, digits and . _ : / + - (starting with a letter or digit)."""

    def __init__(self, **kw: Any) -> None:
        self.check = ident
        super().__init__(validate=validate.Regexp(ID_PATTERN), **_options(kw))


class Day(Checked, fields.String):
    """A calendar date, YYYY-MM-DD, from 1900-01-01 to a year after today."""

    def __init__(self, **kw: Any) -> None:
        self.check = iso_date
        kw.setdefault("doc", None)
        doc = kw.pop("doc")
        bounds = f"{FIRST_DAY.isoformat()} to a year after today"
        kw["doc"] = f"{doc} ({bounds})" if doc else bounds
        super().__init__(**_options(kw, format="date"))


class Count(Checked, fields.Integer):
    """A whole number, 0 to MAX_COUNT (10,000,000: one figure)."""

    def __init__(self, **kw: Any) -> None:
        self.check = count
        super().__init__(strict=True, validate=validate.Range(min=0, max=MAX_COUNT),
                         **_options(kw))


class Between(Checked, fields.Float):
    """A finite number in [low, high]."""

    def __init__(self, low: float, high: float, **kw: Any) -> None:
        self.check = between(low, high)
        super().__init__(validate=validate.Range(min=low, max=high), **_options(kw))


class Choice(Checked, fields.String):
    """One of a fixed set of words (an enum in the document)."""

    def __init__(self, choices: tuple[str, ...], **kw: Any) -> None:
        self.check = one_of(*choices)
        super().__init__(validate=validate.OneOf(choices), **_options(kw))


class Flag(Checked, fields.Boolean):
    """A yes/no; any JSON value, read by its truth."""

    def __init__(self, **kw: Any) -> None:
        self.check = truthy
        super().__init__(**_options(kw))


class ScalarMap(Checked, fields.Dict):
    """A flat object of strings, numbers, booleans or nulls."""

    def __init__(self, **kw: Any) -> None:
        self.check = scalar_map
        super().__init__(keys=fields.String(), **_options(kw))


class Counts(Checked, fields.Dict):
    """A flat object of whole numbers, 0 or more (a breakdown of a figure)."""

    def __init__(self, **kw: Any) -> None:
        self.check = counts
        super().__init__(keys=fields.String(),
                         values=fields.Integer(strict=True,
                                               validate=validate.Range(min=0, max=MAX_COUNT)),
                         **_options(kw))


class AnyValue(Checked, fields.Raw):
    """Any JSON value; checked by the fact as a whole (a correction's new value)."""

    def __init__(self, **kw: Any) -> None:
        self.check = anything
        super().__init__(**_options(kw))


def ListOf(item: fields.Field, *, non_empty: bool = False, **kw: Any) -> fields.List:  # noqa: N802
    """A list; `non_empty` refuses []. Its items may not be null."""
    item.allow_none = False
    return fields.List(item, validate=validate.Length(min=1) if non_empty else None,
                       **_options(kw))


def Object(schema: type[Schema], **kw: Any) -> fields.Nested:  # noqa: N802
    """A nested object declared by its own schema."""
    return fields.Nested(schema, **_options(kw))


class FormatSchema(Schema):
    """An object of the report format: unknown fields refused, fields in declared order.

    `check_whole(data)` (optional) checks fields together once each is valid; it returns
    (field, message) problems. marshmallow runs it as a schema validator; the compiled
    checker runs it too.
    """

    class Meta:
        unknown = RAISE
        ordered = True

    @staticmethod
    def check_whole(data: dict[str, Any]) -> list[tuple[str, str]]:
        return []

    @pre_load
    def _null_is_absent(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None or k in nullable(self)}
        return data

    @validates_schema
    def _whole(self, data: dict[str, Any], **kwargs: Any) -> None:
        problems = self.check_whole(data)
        if problems:
            raise ValidationError({path: [m] for path, m in problems})


def nullable(schema: Schema | type[Schema]) -> frozenset[str]:
    """The fields of a schema where null is a value, not absence: required ones that allow
    it (a correction's `value`)."""
    return frozenset(f.data_key or n for n, f in schema._declared_fields.items()
                     if f.required and f.allow_none)


def compile_field(field: fields.Field) -> Checker:
    """The checker of one declared field."""
    if isinstance(field, Checked):
        return field.check
    if isinstance(field, fields.Nested):
        schema = field.schema
        return compile_schema(type(schema))
    if isinstance(field, fields.List):
        non_empty = any(isinstance(v, validate.Length) and (v.min or 0) > 0
                        for v in field.validators)
        return list_of(compile_field(field.inner), non_empty=non_empty)
    raise TypeError(f"{type(field).__name__} is not a field of the report format")


_COMPILED: dict[tuple[type[Schema], str | None], Checker] = {}


def compile_schema(schema: type[Schema], *, ignore: str | None = None) -> Checker:
    """The fast checker of a FormatSchema: the same fields, required ones, whole check and
    messages; built once per schema."""
    key = (schema, ignore)
    if key not in _COMPILED:
        declared = schema._declared_fields
        required: dict[str, Checker] = {}
        optional: dict[str, Checker] = {}
        for name, field in declared.items():
            if name == ignore:
                continue
            target = required if field.required else optional
            target[field.data_key or name] = compile_field(field)
        whole = getattr(schema, "check_whole", None)
        if whole is None or whole is FormatSchema.check_whole:
            whole = None
        _COMPILED[key] = record(required, optional, ignore=ignore, whole=whole,
                                nullable=nullable(schema))
    return _COMPILED[key]
