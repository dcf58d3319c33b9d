"""The incident family: incidents (what happened, where, when, between whom), the
casualty figures sources give for them, materiel seized or destroyed; what a correction may
change about an incident."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracker.domain.incident import Incident
from tracker.facts.base import (
    FactSchema,
    FactType,
    Tag,
    correctable,
    register,
    register_entity,
    touch,
)
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
    fact = Tag("incident")
    id = Ident(required=True)
    date = Day(required=True)
    type = Choice(INCIDENT_TYPES, required=True)
    location = Object(Location, required=True)
    date_precision = Choice(DATE_PRECISIONS)
    date_end = Day()
    subtype = Text()
    actors = ListOf(Object(IncidentActor))
    operation = Ident()
    attributes = ScalarMap()


class CasualtiesFact(FactSchema):
    fact = Tag("casualties")
    incident = Ident(required=True)
    killed = Count(required=True)
    actor = Ident(metadata={"description": "whose dead, when the source says"})
    low = Count()
    high = Count()
    wounded = Count()
    breakdown = Counts(metadata={"description": "e.g. civilians, by the source's words"})


class MaterielFact(FactSchema):
    fact = Tag("materiel")
    incident = Ident(required=True)
    action = Choice(MATERIEL_ACTIONS, required=True)
    items = ListOf(Text(), non_empty=True, required=True)


def apply_incident(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    details = {k: v for k, v in d.items() if k not in ("id", "ref")}
    details.setdefault("date_precision", "day")
    details.setdefault("actors", [])
    for i, a in enumerate(details["actors"]):
        uow.require_known(fact, f"actors.{i}.actor", "actor", a["actor"])
    uow.require_known(fact, "operation", "operation", d.get("operation"))
    register_entity(uow, fact, "incident", Incident, details, "a correction fact")


def apply_casualties(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    incident = uow.require(fact, "incident", "incident", d["incident"])
    uow.require_known(fact, "actor", "actor", d.get("actor"))
    extra = {k: d[k] for k in ("wounded", "breakdown", "notes") if k in d}
    incident.report_casualties(
        source=uow.report.source["name"], actor=d.get("actor"), killed=d["killed"],
        low=d.get("low"), high=d.get("high"), extra=extra,
        provenance=uow.prov(fact, "incident", incident.key),
    )
    touch(uow, "incident", incident)


def apply_materiel(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    incident = uow.require(fact, "incident", "incident", d["incident"])
    incident.report_materiel(d["action"], d["items"], uow.prov(fact, "incident", incident.key))
    touch(uow, "incident", incident)


register(
    FactType("incident", IncidentFact, apply_incident,
             refers=(("id", "incident"), ("operation", "operation")),
             refers_more=lambda d: [("actor", a["actor"]) for a in d.get("actors", [])],
             order=2),
    # Figures are kept as given, even a low above high (real datasets have them): the
    # views flag a range that does not contain best instead of refusing it.
    FactType("casualties", CasualtiesFact, apply_casualties,
             refers=(("incident", "incident"), ("actor", "actor"))),
    FactType("materiel", MaterielFact, apply_materiel, refers=(("incident", "incident"),)),
)

correctable("incident", {
    "date": Day(), "date_end": Day(), "date_precision": Choice(DATE_PRECISIONS),
    "type": Choice(INCIDENT_TYPES), "subtype": Text(), "operation": Ident(),
    "location.name": Text(), "location.country": Text(), "location.admin1": Text(),
    "location.admin2": Text(), "location.admin3": Text(), "location.region": Text(),
    "location.latitude": Latitude(), "location.longitude": Longitude(),
    "actors": ListOf(Object(IncidentActor)), "notes": Text(), "attributes": ScalarMap(),
    "location.geo_precision": Count(),
})
