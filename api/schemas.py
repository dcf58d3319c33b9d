"""marshmallow schemas: the one shape of every JSON the API returns and `tracker … --json`
prints, and the source of the OpenAPI document."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from projections.casualty_tallies import DIMENSIONS
from tracker.audit import MAX_EVENTS_PAGE, MAX_POSITION


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


class BuiltList(fields.List):
    """A list whose items the query builds in the declared shape (the items' schema
    documents it, and a test holds the query to it): written as is, not field by field —
    30,000 link candidates took 1.6 s through the nested schema."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


def day(**kw: Any) -> fields.String:
    """A date field (YYYY-MM-DD as a string), nullable."""
    return fields.String(allow_none=True, metadata={"format": "date", **kw.pop("metadata", {})},
                         **kw)


class FieldErrorSchema(StrictSchema):
    field = fields.String(required=True)
    message = fields.String(required=True)
    fact = fields.Integer(allow_none=True, metadata={"description": "a report's fact index"})


class ErrorSchema(StrictSchema):
    code = fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = fields.String(required=True)
    message = fields.String(required=True)
    errors = fields.List(fields.Nested(FieldErrorSchema), required=True, metadata={
        "description": "What is wrong, field by field (for a refused report, with the fact "
                       "index)"})


class BasisSchema(StrictSchema):
    rule = fields.String(required=True, metadata={
        "description": "assessment, latest_published or single_source"})
    report = fields.String(allow_none=True)
    source = fields.String(allow_none=True, metadata={"description": "null for an assessment"})
    published = fields.String(allow_none=True, metadata={"format": "date"})


class KilledSchema(StrictSchema):
    best = fields.Integer(required=True, allow_none=True, metadata={
        "description": "null only for an incident read with figures_from whose source gave "
                       "no figure"})
    low = fields.Integer(required=True, allow_none=True)
    high = fields.Integer(required=True, allow_none=True)
    flagged = fields.String(metadata={"description": "set when the range does not contain best"})
    basis = fields.Nested(BasisSchema, allow_none=True, metadata={
        "description": "where best comes from (incidents; not on tally rows)"})


# -- reports ---------------------------------------------------------------------------------


class RetractedBySchema(StrictSchema):
    by = fields.String(required=True, allow_none=True,
                       metadata={"description": "the report that retracted it"})
    reason = fields.String(required=True)


class ReportResultSchema(StrictSchema):
    report = fields.String(required=True)
    recorded = fields.Boolean(required=True, metadata={
        "description": "false when the same report had already been recorded"})
    events = fields.Integer(required=True)
    positions = fields.List(fields.Integer(), required=True)
    warning = fields.String(metadata={
        "description": "present when the report was recorded but the views could not be "
                       "brought up to date (e.g. the disk is full); they catch up by "
                       "themselves once the cause is fixed: do not send the report again"})
    retracted = fields.Nested(RetractedBySchema, metadata={
        "description": "present when the report sent again had been recorded and was "
                       "since retracted: its facts do not count, and sending it again "
                       "does not bring them back (send them in a report with a new id)"})


# -- leadership ------------------------------------------------------------------------------


class LeaderSchema(StrictSchema):
    person = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    since = day()
    report = fields.String(allow_none=True)


class FormerLeaderSchema(LeaderSchema):
    until = day()
    reason = fields.String(required=True)
    incident = fields.String(allow_none=True)


class LeadershipSchema(StrictSchema):
    group = fields.String(required=True)
    name = fields.String(required=True)
    as_of = fields.String(allow_none=True)
    leaders = fields.List(fields.Nested(LeaderSchema), required=True)
    former = fields.List(fields.Nested(FormerLeaderSchema), required=True)


# -- casualties ------------------------------------------------------------------------------


class BestSchema(StrictSchema):
    best = fields.Integer(allow_none=True)


class GivenSchema(BestSchema):
    reported_by = fields.Integer(metadata={
        "description": "how many of the row's incidents a source gives this count for; "
                       "best is null where none does (unknown, not zero)"})


REGION_DOC = {
    "country": "by=country, admin1, admin2: the row's country",
    "admin1": "by=admin1, admin2: the row's admin1 (null: unknown)",
    "admin2": "by=admin2: the row's admin2 (null: unknown)",
}


class TallyRowSchema(StrictSchema):
    key = fields.String(required=True, metadata={
        "description": "the row's key; regions are country-qualified: \"Mali / Mopti\" "
                       "(admin1), \"Mali / Mopti / Djenné\" (admin2), a missing name "
                       "\"(unknown)\" within its country"})
    name = fields.String(metadata={"description": "the actor's name (by=actor); the region's "
                                                  "own name (by=admin1, admin2); else the key"})
    country = fields.String(allow_none=True, metadata={"description": REGION_DOC["country"]})
    admin1 = fields.String(allow_none=True, metadata={"description": REGION_DOC["admin1"]})
    admin2 = fields.String(allow_none=True, metadata={"description": REGION_DOC["admin2"]})
    killed = fields.Nested(KilledSchema, required=True)
    civilians = fields.Nested(GivenSchema)
    wounded = fields.Nested(GivenSchema)
    incidents = fields.Integer(required=True)


class CasualtyFiltersSchema(StrictSchema):
    country = fields.String(allow_none=True)
    admin1 = fields.String(allow_none=True)
    type = fields.String(allow_none=True)
    subtype = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)
    operation = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    from_ = fields.String(allow_none=True, data_key="from", attribute="from")
    to = fields.String(allow_none=True)
    min_killed = fields.Integer(allow_none=True)
    bbox = fields.List(fields.Float(), allow_none=True)
    admin2 = fields.String(allow_none=True)
    interaction = fields.String(allow_none=True)
    disorder_type = fields.String(allow_none=True)
    civilian_targeting = fields.String(allow_none=True)
    type_of_violence = fields.String(allow_none=True)
    dyad = fields.String(allow_none=True)
    conflict_name = fields.String(allow_none=True)
    figures_from = fields.String(allow_none=True)


class CasualtiesSchema(StrictSchema):
    by = fields.String(required=True)
    as_of = fields.String(allow_none=True)
    filters = fields.Nested(CasualtyFiltersSchema)
    rows = fields.List(fields.Nested(TallyRowSchema), required=True)
    total = fields.Nested(KilledSchema, required=True)
    total_of = fields.String(metadata={"description": "what total adds up"})


class BBox(fields.Field):
    """bbox=minlon,minlat,maxlon,maxlat (WGS84 degrees)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        try:
            parts = tuple(float(v) for v in str(value).split(","))
        except ValueError:
            raise ValidationError("bbox must be minlon,minlat,maxlon,maxlat numbers") from None
        if len(parts) != 4:
            raise ValidationError("bbox must be four numbers: minlon,minlat,maxlon,maxlat")
        minlon, minlat, maxlon, maxlat = parts
        if not (-180 <= minlon <= maxlon <= 180 and -90 <= minlat <= maxlat <= 90):
            raise ValidationError("bbox out of range or min above max")
        return parts


# Any number of fractional digits (`date +%N` prints nanoseconds, .NET seven digits):
# parse_as_of keeps the first six, microseconds, which is all a knowledge time holds.
KNOWLEDGE_TIME = (r"^\d{4}-\d{2}-\d{2}"
                  r"([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")
_KNOWLEDGE_TIME = re.compile(KNOWLEDGE_TIME)
# A time, then a space where an offset's '+' was: what an unencoded '+' arrives as.
_PLUS_AS_SPACE = re.compile(r"(\d:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:\d{2})$")


def _knowledge_time(name: str) -> Any:
    """One message for a refused knowledge time (`name`: as_of, from, to), whether its form
    or its date is wrong (the pattern is still in the OpenAPI document, through the field's
    metadata)."""
    from api.services import parse_as_of
    from projections.readmodel.queries import QueryError

    def check(value: str) -> None:
        refused = f"{name} {value!r} is not a date (YYYY-MM-DD) or an ISO datetime"
        if not _KNOWLEDGE_TIME.match(value):
            if _KNOWLEDGE_TIME.match(_PLUS_AS_SPACE.sub(r"\1+\2", value)):
                # `…T12:46:20 00:00`: a '+' sent unencoded, which a query string reads as
                # a space. Not read as '+' (the form is not ISO, and the OpenAPI pattern
                # says what is taken): the answer says how to send it.
                refused += (f"; a '+' in a URL's query reads as a space: send the offset "
                            f"as %2B{value[-5:]} (or a UTC time ending in Z)")
            raise ValidationError(refused)
        try:
            parse_as_of(value)
        except QueryError:
            raise ValidationError(refused) from None

    return check


def knowledge_time(name: str, **kw: Any) -> fields.String:
    """A knowledge time: YYYY-MM-DD (the end of that day, UTC) or an ISO datetime."""
    return fields.String(validate=_knowledge_time(name),
                         metadata={"description": "knowledge time: YYYY-MM-DD (end of day, "
                                                  "UTC) or ISO datetime (naive means UTC)",
                                   "pattern": KNOWLEDGE_TIME}, **kw)


class ViewArgsSchema(StrictSchema):
    as_of = knowledge_time("as_of")
    min_position = fields.Integer(validate=validate.Range(min=0, max=MAX_POSITION), metadata={
        "description": "wait until the views include this log position"})


def type_vocabulary() -> dict[str, str]:
    """Every word the `type` filter takes, folded, and the incident type it means: ours, and
    the datasets' own labels (ACLED's event types, UCDP's types of violence)."""
    from tracker.facts.incidents import INCIDENT_TYPES
    from tracker.ingestion.acled import TYPES as ACLED_TYPES
    from tracker.ingestion.ucdp import VIOLENCE

    words = {t: t for t in INCIDENT_TYPES}
    words.update({t.replace("_", " "): t for t in INCIDENT_TYPES})
    words.update(ACLED_TYPES)
    words.update({label: ours for ours, label in VIOLENCE.values()})
    return words


class IncidentType(fields.String):
    """An incident type: ours (battle, …) or a dataset's own label for one (ACLED's
    "Battles", UCDP's "one-sided violence"), any case; anything else is refused, listing
    the words it takes."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        words = type_vocabulary()
        found = words.get(" ".join(text.casefold().split()))
        if found is None:
            from tracker.facts.incidents import INCIDENT_TYPES

            labels = sorted(w for w in words if w not in INCIDENT_TYPES and "_" not in w)
            raise ValidationError(
                f"unknown incident type {text!r}; use one of: {', '.join(INCIDENT_TYPES)} "
                f"(or a dataset's label: {', '.join(labels)})")
        return found


def interaction_codes() -> list[str]:
    """ACLED's interaction codes: the two actor types' codes (1-8), lower first; a second
    0 where there is one actor."""
    return [f"{a}{b}" for a in range(1, 9) for b in (0, *range(a, 9))]


class Interaction(fields.String):
    """An ACLED interaction: its code (28) or its labels ("State forces-Rebel group"), as
    the importer reads them; anything else is refused, listing the codes."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        from tracker.ingestion.acled import interaction_code

        text = super()._deserialize(value, attr, data, **kwargs).strip()
        codes = interaction_codes()
        try:
            code = interaction_code(text)
        except ValueError:
            code = None
        if code is not None and code not in codes and len(code) == 2:
            code = code[::-1]  # 82: the same pair as 28
        if code not in codes:
            raise ValidationError(
                f"unknown interaction {text!r}; use an ACLED interaction code ({', '.join(codes)}) "
                "or its actor types' labels (e.g. 'State forces-Rebel group')")
        return code


class TypeOfViolence(fields.String):
    """UCDP's type_of_violence: 1, 2 or 3, or its label, any case."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        from tracker.ingestion.ucdp import VIOLENCE

        text = " ".join(super()._deserialize(value, attr, data, **kwargs).casefold().split())
        for code, (_, label) in VIOLENCE.items():
            if text in (code, label):
                return code
        raise ValidationError(
            f"unknown type_of_violence {text!r}; use one of: "
            + ", ".join(f"{code} ({label})" for code, (_, label) in VIOLENCE.items()))


class Vocabulary(fields.String):
    """A dataset attribute with a closed list of values (any case, spaces as written): an
    unknown one is refused, listing them, rather than matching nothing."""

    def __init__(self, name: str, values: tuple[str, ...], **kw: Any) -> None:
        self.name, self.values = name, values
        super().__init__(metadata={"description": f"{name}: one of " + "; ".join(
            repr(v) for v in values) + " (any case)"}, **kw)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = " ".join(super()._deserialize(value, attr, data, **kwargs).split())
        for known in self.values:
            if text.casefold() == known.casefold():
                return known
        raise ValidationError(f"unknown {self.name} {text!r}; use one of: "
                              + ", ".join(repr(v) for v in self.values))


# ACLED's codebook: the disorder types (an event may be both kinds of political disorder)
# and the one value of civilian_targeting (blank otherwise).
DISORDER_TYPES = ("Political violence", "Demonstrations", "Political violence; Demonstrations",
                  "Strategic developments")
CIVILIAN_TARGETING = ("Civilian targeting",)


def _attribute(description: str) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=200),
                         metadata={"description": description})


class FilterArgsSchema(ViewArgsSchema):
    """The filters of incidents and casualties (the same on the CLI)."""

    country = fields.String()
    admin1 = fields.String(metadata={
        "description": "an admin1 name (every country's), or country-qualified: 'Mali / Mopti'"})
    admin2 = fields.String(metadata={
        "description": "an admin2 name (every region's), or qualified: 'Mali / Mopti / "
                       "Djenné' (or 'Mopti / Djenné')"})
    type = IncidentType(metadata={"description": "an incident type, or a dataset's label for "
                                                 "one (ACLED's event_type, UCDP's type of "
                                                 "violence), any case"})
    subtype = fields.String()
    actor = fields.String(metadata={"description": "an actor's id, name or alias"})
    operation = fields.String()
    source = fields.String(metadata={"description": "a source's name"})
    from_ = fields.Date(data_key="from", metadata={"description": "event date, from"})
    to = fields.Date(metadata={"description": "event date, to (inclusive)"})
    min_killed = fields.Integer(validate=validate.Range(min=0, max=MAX_POSITION))
    bbox = BBox(metadata={"description": "minlon,minlat,maxlon,maxlat", "type": "string"})
    # The datasets' attributes, kept at import.
    interaction = Interaction(metadata={
        "description": "ACLED interaction: its code (e.g. 28) or its actor types' labels"})
    disorder_type = Vocabulary("ACLED disorder_type", DISORDER_TYPES)
    civilian_targeting = Vocabulary("ACLED civilian_targeting", CIVILIAN_TARGETING)
    type_of_violence = TypeOfViolence(metadata={
        "description": "UCDP type_of_violence: 1, 2, 3 or its label (state-based conflict, "
                       "non-state conflict, one-sided violence)"})
    dyad = _attribute("UCDP dyad: dyad_new_id, or dyad_name (any case)")
    conflict_name = _attribute("UCDP conflict: conflict_new_id, or conflict_name (any case)")
    figures_from = fields.String(metadata={
        "description": "a source's name: the incidents it reported on, with its own figures "
                       "(null where it gave none); casualties tally its figures"})

    @validates_schema
    def _dates_in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError("from must not be after to", "from")


class CasualtiesArgsSchema(FilterArgsSchema):
    by = fields.String(required=True, validate=validate.OneOf(DIMENSIONS))


# -- operations ------------------------------------------------------------------------------


class OperationsArgsSchema(ViewArgsSchema):
    actor = fields.String(metadata={"description": "only the operations this actor (an id, "
                                                   "name or alias) leads or is a partner of"})


class OperationSchema(StrictSchema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True)
    lead = fields.String(required=True)
    partners = fields.List(fields.String(), required=True)
    started = day()
    incidents = fields.List(fields.String(), required=True)
    killed = fields.Nested(KilledSchema, required=True)


class StatusChangeSchema(StrictSchema):
    status = fields.String(required=True)
    previous = fields.String(allow_none=True)
    date = day()
    report = fields.String(allow_none=True)
    position = fields.Integer()


class OperationDetailSchema(OperationSchema):
    history = fields.List(fields.Nested(StatusChangeSchema), required=True)
    as_of = fields.String(allow_none=True)


class OperationsSchema(StrictSchema):
    as_of = fields.String(allow_none=True)
    operations = fields.List(fields.Nested(OperationSchema), required=True)


# -- incidents -------------------------------------------------------------------------------


class IncidentSchema(StrictSchema):
    id = fields.String(required=True)
    date = day()
    date_precision = fields.String(allow_none=True)
    date_end = day()
    type = fields.String(allow_none=True)
    subtype = fields.String(allow_none=True)
    location = fields.Dict(allow_none=True)
    actors = fields.List(fields.Dict())
    operation = fields.String(allow_none=True)
    killed = fields.Nested(KilledSchema, required=True)
    civilians = fields.Nested(BestSchema)
    wounded = fields.Nested(BestSchema)
    sources = fields.List(fields.String())
    notes = fields.String(allow_none=True)
    details_withdrawn = fields.String(allow_none=True, metadata={
        "description": "the retracted report the details come from, until corrected"})
    members = fields.List(fields.String(), metadata={
        "description": "the records counted in this incident: its own id, and the records "
                       "linked to it by same_incident (a cluster)"})


class IncidentDetailSchema(IncidentSchema):
    figures = fields.List(fields.Dict())
    materiel = fields.List(fields.Dict())
    corrections = fields.List(fields.Dict())
    reports = fields.List(fields.String())
    retracted = fields.String(allow_none=True)
    as_of = fields.String(allow_none=True)


class IncidentsPageSchema(StrictSchema):
    as_of = fields.String(allow_none=True)
    incidents = fields.List(fields.Nested(IncidentSchema), required=True)
    next = fields.String(allow_none=True, metadata={"description": "cursor of the next page"})


class IncidentsArgsSchema(FilterArgsSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))
    cursor = fields.String()


class GeoJSONSchema(StrictSchema):
    type = fields.String(required=True)
    features = fields.List(fields.Dict(), required=True)


FIELDS_DOC = {"description": "columns to include, in order, comma-separated"}


class IncidentsCsvArgsSchema(FilterArgsSchema):
    fields_ = fields.String(data_key="fields", metadata=FIELDS_DOC)


class CasualtiesCsvArgsSchema(CasualtiesArgsSchema):
    fields_ = fields.String(data_key="fields", metadata=FIELDS_DOC)


# -- what changed ---------------------------------------------------------------------------


class ChangesArgsSchema(ViewArgsSchema):
    from_ = knowledge_time("from", required=True, data_key="from")
    to = knowledge_time("to")
    by = fields.String(required=True, validate=validate.OneOf(DIMENSIONS))


class ChangeFiguresSchema(StrictSchema):
    best = fields.Integer(required=True)
    low = fields.Integer(required=True)
    high = fields.Integer(required=True)
    incidents = fields.Integer(required=True)


class CauseSchema(StrictSchema):
    report = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    position = fields.Integer(required=True)


class ChangeRowSchema(StrictSchema):
    key = fields.String(required=True)
    country = fields.String(allow_none=True, metadata={"description": REGION_DOC["country"]})
    admin1 = fields.String(allow_none=True, metadata={"description": REGION_DOC["admin1"]})
    admin2 = fields.String(allow_none=True, metadata={"description": REGION_DOC["admin2"]})
    before = fields.Nested(ChangeFiguresSchema, required=True)
    after = fields.Nested(ChangeFiguresSchema, required=True)
    causes = fields.List(fields.Nested(CauseSchema), required=True)


class ChangesSchema(StrictSchema):
    from_ = fields.String(required=True, data_key="from", attribute="from")
    to = fields.String(allow_none=True)
    by = fields.String(required=True)
    positions = fields.Dict(keys=fields.String(), values=fields.Integer())
    rows = fields.List(fields.Nested(ChangeRowSchema), required=True)


# -- actors and audit ------------------------------------------------------------------------


class ActorsArgsSchema(ViewArgsSchema):
    q = fields.String(validate=validate.Length(max=200), metadata={
        "description": "part of an id, a name or an alias (case-insensitive)"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))
    cursor = fields.String()


class ActorRowSchema(StrictSchema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    aliases = fields.List(fields.String(), required=True)
    country = fields.String(allow_none=True)
    incidents = fields.Integer(required=True)
    linked = fields.List(fields.String(), metadata={
        "description": "the other actor records counted as this one (same_actor)"})


class ActorsPageSchema(StrictSchema):
    as_of = fields.String(allow_none=True)
    actors = fields.List(fields.Nested(ActorRowSchema), required=True)
    next = fields.String(allow_none=True, metadata={"description": "cursor of the next page"})


class SourceRowSchema(StrictSchema):
    name = fields.String(required=True, metadata={"description": "the source, as reports name it"})
    incidents = fields.Integer(required=True, metadata={
        "description": "live incident records it reported"})


class SourcesSchema(StrictSchema):
    as_of = fields.String(allow_none=True)
    sources = fields.List(fields.Nested(SourceRowSchema), required=True)


class FormerRoleSchema(StrictSchema):
    group = fields.String(required=True)
    role = fields.String(required=True)
    since = day()
    until = day()
    reason = fields.String(allow_none=True)
    incident = fields.String(allow_none=True)
    report = fields.String(allow_none=True)


class ActorSchema(ActorRowSchema):
    """One actor: a row of /actors (the same keys), plus what the register records of it."""

    title = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    affiliations = fields.List(fields.Dict(), metadata={
        "description": "[{parent, relation, since}]"})
    sanctions = fields.List(fields.Dict(), metadata={"description": "[{authority, listed}]"})
    roles = fields.Dict(metadata={"description": "roles held, by 'group/role'"})
    former_roles = fields.List(fields.Nested(FormerRoleSchema), metadata={
        "description": "roles held and ended (a death, a capture, a report saying so), "
                       "oldest end first"})
    fate = fields.Dict(allow_none=True, metadata={
        "description": "the latest death, capture or release reported"})
    version = fields.Integer(required=True, metadata={
        "description": "how many events the actor's record has"})
    report = fields.String(allow_none=True, metadata={"description": "the report that "
                                                      "registered it"})
    retracted = fields.String(allow_none=True)
    as_of = fields.String(allow_none=True)


class EntityRefSchema(StrictSchema):
    kind = fields.String(required=True)
    id = fields.String(allow_none=True)
    aggregate_id = fields.String(required=True)
    version = fields.Integer(required=True)


class EventSchema(StrictSchema):
    position = fields.Integer(allow_none=True)
    type = fields.String(required=True)
    entity = fields.Nested(EntityRefSchema, required=True)
    recorded = fields.String(required=True)
    provenance = fields.Dict(required=True)
    payload = fields.Dict(required=True)


class EventsPageSchema(StrictSchema):
    events = fields.List(fields.Nested(EventSchema), required=True)
    next = fields.Integer(allow_none=True)


class EventsArgsSchema(StrictSchema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_POSITION))
    limit = fields.Integer(load_default=100,
                           validate=validate.Range(min=1, max=MAX_EVENTS_PAGE))


class NoArgsSchema(StrictSchema):
    """The query of a route that takes no parameter (/stream, /healthz, /verify,
    /checkpoint): any is refused (422, naming it), as every route refuses one it does not
    take. /stream's reconnecting client sends Last-Event-ID, a header, not a parameter."""


class HistoryArgsSchema(ViewArgsSchema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_POSITION),
                           metadata={"description": "the events after this log position "
                                                    "(a page's `next`)"})
    limit = fields.Integer(load_default=MAX_EVENTS_PAGE,
                           validate=validate.Range(min=1, max=MAX_EVENTS_PAGE),
                           metadata={"description": "at most this many events"})


class HistorySchema(StrictSchema):
    kind = fields.String(required=True)
    id = fields.String(required=True)
    events = fields.List(fields.Nested(EventSchema), required=True)
    next = fields.Integer(allow_none=True, metadata={
        "description": "pass it as `after` for the next page; null on the last"})


class VerifySchema(StrictSchema):
    ok = fields.Boolean(required=True)
    checked = fields.Integer(required=True)
    head = fields.String(required=True)
    position = fields.Integer(allow_none=True)
    problem = fields.String(allow_none=True)
    views = fields.Dict(metadata={"description": "the views' fold: ok, or `stuck` at an event "
                                  "it cannot fold (position, report, reason); the positions "
                                  "`quarantined` (set aside by an administrator)"})


class HealthSchema(StrictSchema):
    status = fields.String(required=True, validate=validate.OneOf(
        ("ok", "degraded", "unavailable")))
    event_store = fields.Dict(required=True)
    view_store = fields.Dict(required=True)
    redis = fields.Dict(metadata={"description": "with Redis configured: ok; while it is away "
                                  "also error and retry_in (seconds until the cache tries it "
                                  "again)"})
    behind = fields.Dict(keys=fields.String(), values=fields.Integer())
    stuck = fields.Dict(metadata={"description": "present when the views cannot fold an event "
                                  "of the log: its position, report and the reason"})


# -- link candidates (docs/linking.md) -------------------------------------------------------


class LinkCandidatesArgsSchema(FilterArgsSchema):
    days = fields.Integer(load_default=None, validate=validate.Range(min=0, max=31), metadata={
        "description": "date window in days, besides what each record's date precision "
                       "allows (default 1)"})
    km = fields.Float(load_default=None, validate=validate.Range(min=0, max=500,
                                                                min_inclusive=False),
                      metadata={"description": "distance window in km, besides what each "
                                               "record's geo precision allows (default 25)"})
    min_score = fields.Float(load_default=None, validate=validate.Range(min=0, max=1),
                             metadata={"description": "the lowest score listed (default "
                                                      "0.7)"})


class LinkReasonsSchema(StrictSchema):
    days = fields.Integer(allow_none=True, metadata={
        "description": "days between the two date ranges (0: they overlap)"})
    km = fields.Float(allow_none=True, metadata={
        "description": "distance in km (null: compared by admin1 / place name)"})
    type = fields.String(required=True, metadata={
        "description": "the two types and how their families compare: same, compatible, "
                       "incompatible, unknown"})
    actors = fields.Float(allow_none=True, metadata={
        "description": "actor agreement 0..1 (null: a side names no actors)"})
    killed = fields.String(required=True, metadata={"description": "the two best figures"})


class LinkCandidateSchema(StrictSchema):
    incident = fields.String(required=True)
    other = fields.String(required=True)
    score = fields.Float(required=True, metadata={"description": "0..1"})
    reasons = fields.Nested(LinkReasonsSchema, required=True)
    scores = fields.Dict(keys=fields.String(), values=fields.Float(), metadata={
        "description": "each measure's agreement, 0..1 (the score is their weighted mean)"})
    sources = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    margin = fields.Float(allow_none=True, metadata={
        "description": "score minus the best rival pair of either record (null: none)"})


class LinkCandidatesSchema(StrictSchema):
    as_of = fields.String(allow_none=True)
    method = fields.String(required=True, metadata={
        "description": "the method, its version and parameters (kept in accepted links)"})
    parameters = fields.Dict(required=True)
    filters = fields.Dict(required=True)
    records = fields.Integer(required=True, metadata={"description": "records searched"})
    candidates = BuiltList(fields.Nested(LinkCandidateSchema), required=True)
