"""The incident family: incidents (what happened, where, when, between whom), the
casualty figures sources give for them, materiel seized or destroyed; what a correction may
change about an incident."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracker.domain.incident import Incident
from tracker.exceptions import FactError
from tracker.facts.base import FactSchema, FactType, Tag, correctable, register
from tracker.facts.people import DATE_PRECISIONS
from tracker.fields import (
    Between,
    Choice,
    Count,
    Counts,
    Day,
    Flag,
    FormatSchema,
    Ident,
    ListOf,
    LongText,
    Object,
    ScalarMap,
    Text,
)

if TYPE_CHECKING:
    from tracker.facts.base import UnitOfWork
    from tracker.reports import Fact

INCIDENT_TYPES = (
    "battle", "explosion_remote_violence", "violence_against_civilians", "protest", "riot",
    "strategic_development",
)
MATERIEL_ACTIONS = ("seized", "destroyed")
SIDES = ("a", "b", "other")


def Latitude(**kw: Any) -> Between:  # noqa: N802
    return Between(-90, 90, **kw)


def Longitude(**kw: Any) -> Between:  # noqa: N802
    return Between(-180, 180, **kw)


class Location(FormatSchema):
    """Where: name and country required; coordinates in range, both or neither."""

    name = Text(required=True)
    country = Text(required=True)
    admin1 = Text()
    admin2 = Text()
    admin3 = Text()
    region = Text()
    latitude = Latitude()
    longitude = Longitude()
    geo_precision = Count()

    @staticmethod
    def check_whole(data: dict[str, Any]) -> list[tuple[str, str]]:
        if ("latitude" in data) != ("longitude" in data):
            missing = "longitude" if "latitude" in data else "latitude"
            return [(missing, "is required with the other coordinate (give both or neither)")]
        return []


class IncidentActor(FormatSchema):
    """An actor's part in an incident."""

    actor = Ident(required=True)
    side = Choice(SIDES)
    associated = Flag()
    inter = Count()


class IncidentFact(FactSchema):
    """Registers an incident: what happened, where, when, between whom."""

    fact = Tag("incident")
    id = Ident(required=True, doc="the id other facts name it by")
    date = Day(required=True, doc="when it happened (its first day)")
    type = Choice(INCIDENT_TYPES, required=True, doc="the ACLED event types")
    location = Object(Location, required=True)
    date_precision = Choice(DATE_PRECISIONS, doc="how exactly the date is known (day)")
    date_end = Day(doc="its last day, if it lasted longer")
    subtype = Text(doc="e.g. ACLED's sub_event_type")
    actors = ListOf(Object(IncidentActor), doc="who took part, on which side")
    operation = Ident(doc="the operation it belongs to")
    attributes = ScalarMap(doc="a dataset's other columns, kept as given")

    @staticmethod
    def check_whole(data: dict[str, Any]) -> list[tuple[str, str]]:
        # Dates are YYYY-MM-DD strings (marshmallow) or dates (the compiled checker).
        if "date_end" in data and "date" in data and str(data["date_end"]) < str(data["date"]):
            return [("date_end", f"{data['date_end']} is before date {data['date']} (the "
                                 "incident's first day)")]
        return []


class CasualtiesFact(FactSchema):
    """A source's figure for an incident; it supersedes the same source's earlier one."""

    fact = Tag("casualties")
    incident = Ident(required=True)
    killed = Count(required=True, doc="the source's best figure")
    actor = Ident(doc="whose dead, when the source says")
    low = Count(doc="the source's low estimate")
    high = Count(doc="the source's high estimate")
    wounded = Count()
    breakdown = Counts(doc="counts by the source's words, e.g. civilians")
    published = Day(doc="when this figure was published, if not the report's date (e.g. a "
                        "dataset row's last revision)")


class AssessmentFact(FactSchema):
    """The analysts' own estimate of an incident's dead: it sets best (and low/high where
    given) until retracted or replaced by a later assessment."""

    fact = Tag("assessment")
    incident = Ident(required=True)
    killed = Count(required=True, doc="the analysts' best estimate")
    low = Count()
    high = Count()
    reason = LongText(required=True, doc="why: which sources were weighed, and how")


class MaterielFact(FactSchema):
    """Materiel seized or destroyed in an incident."""

    fact = Tag("materiel")
    incident = Ident(required=True)
    action = Choice(MATERIEL_ACTIONS, required=True)
    items = ListOf(Text(max_length=1000), non_empty=True, required=True,
                   doc="what, in the source's words")


def apply_incident(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    details = {k: v for k, v in d.items() if k not in ("id", "ref")}
    details.setdefault("date_precision", "day")
    details.setdefault("actors", [])
    for i, a in enumerate(details["actors"]):
        uow.require_known(fact, f"actors.{i}.actor", "actor", a["actor"])
    uow.require_known(fact, "operation", "operation", d.get("operation"))
    uow.register_entity(fact, "incident", Incident, details, "a correction fact")


def check_range(fact: Fact, rule: str) -> None:
    """A figure written by hand holds low <= killed <= high (where low and high are
    given); `rule` says so, for the message."""
    d = fact.data
    killed, low, high = d["killed"], d.get("low"), d.get("high")
    if low is not None and high is not None and low > high:
        field, problem = "low", f"{low} is above high ({high})"
    elif low is not None and low > killed:
        field, problem = "low", f"{low} is above killed ({killed}), the best figure"
    elif high is not None and high < killed:
        field, problem = "high", f"{high} is below killed ({killed}), the best figure"
    else:
        return
    raise FactError(fact.index, field, f"{problem}: {rule}")


def apply_casualties(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    if uow.report.source["kind"] != "dataset":
        # A dataset's figures are kept as it publishes them, even a range that does not
        # hold best (UCDP has such rows): the views flag them.
        check_range(fact, "a figure must hold low <= killed <= high (only a dataset's, "
                          "source kind dataset, are kept as given, and flagged)")
    incident = uow.require(fact, "incident", "incident", d["incident"])
    uow.require_known(fact, "actor", "actor", d.get("actor"))
    extra: dict[str, Any] = {k: d[k] for k in ("wounded", "breakdown", "notes") if k in d}
    if d.get("published") is not None:
        # Inside `extra`, so the stored event keeps its shape; a date as YYYY-MM-DD.
        extra["published"] = str(d["published"])
    incident.report_casualties(
        source=uow.report.source["name"], actor=d.get("actor"), killed=d["killed"],
        low=d.get("low"), high=d.get("high"), extra=extra,
        provenance=uow.prov(fact, "incident", incident.key),
    )
    uow.touch("incident", incident)


def apply_assessment(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    check_range(fact, "an assessment must hold low <= killed <= high")
    incident = uow.require(fact, "incident", "incident", d["incident"])
    incident.record_assessment(d["killed"], d.get("low"), d.get("high"), d["reason"],
                               uow.prov(fact, "incident", incident.key))
    uow.touch("incident", incident)


def apply_materiel(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    incident = uow.require(fact, "incident", "incident", d["incident"])
    incident.report_materiel(d["action"], d["items"], uow.prov(fact, "incident", incident.key))
    uow.touch("incident", incident)


register(
    FactType("incident", IncidentFact, apply_incident,
             refers=(("id", "incident"), ("operation", "operation")),
             refers_more=lambda d: [("actor", a["actor"]) for a in d.get("actors", [])],
             order=2),
    # A dataset's figures are kept as given, even a low above high (real datasets have
    # them): the views flag a range that does not contain best instead of refusing it.
    # Any other source's must hold low <= killed <= high (check_range).
    FactType("casualties", CasualtiesFact, apply_casualties,
             refers=(("incident", "incident"), ("actor", "actor"))),
    FactType("assessment", AssessmentFact, apply_assessment,
             refers=(("incident", "incident"),)),
    FactType("materiel", MaterielFact, apply_materiel, refers=(("incident", "incident"),)),
)

correctable("incident", {
    "date": Day(), "date_end": Day(), "date_precision": Choice(DATE_PRECISIONS),
    "type": Choice(INCIDENT_TYPES), "subtype": Text(), "operation": Ident(),
    "location.name": Text(), "location.country": Text(), "location.admin1": Text(),
    "location.admin2": Text(), "location.admin3": Text(), "location.region": Text(),
    "location.latitude": Latitude(), "location.longitude": Longitude(),
    "actors": ListOf(Object(IncidentActor)), "notes": LongText(), "attributes": ScalarMap(),
    "location.geo_precision": Count(),
}, clearable=("date_end", "subtype", "operation", "notes", "attributes", "location.admin1",
              "location.admin2", "location.admin3", "location.region", "location.latitude",
              "location.longitude", "location.geo_precision"))
