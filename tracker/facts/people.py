"""The people family: roles people hold in groups, roles ending, and a person's fate
(death, capture, release)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracker.facts.base import FactSchema, FactType, Tag, register
from tracker.fields import Choice, Day, Ident

if TYPE_CHECKING:
    from tracker.facts.base import UnitOfWork
    from tracker.reports import Fact

ROLE_END_REASONS = ("killed", "captured", "removed", "resigned", "defected", "unknown")
DATE_PRECISIONS = ("day", "week", "month", "year")


PERSON = "an actor of kind person"


class PersonRole(FactSchema):
    person = Ident(required=True, doc=PERSON)
    group = Ident(required=True)
    role = Ident(required=True, doc="e.g. leader, deputy, spokesperson")


class RoleFact(PersonRole):
    """A person takes a role in a group (leader, deputy…)."""

    fact = Tag("role")
    since = Day()


class RoleEndedFact(PersonRole):
    """A person's role ends, and why."""

    fact = Tag("role_ended")
    reason = Choice(ROLE_END_REASONS, required=True)
    date = Day()
    incident = Ident(doc="the incident that ended it")


class FateFact(FactSchema):
    """What happened to a person; a death or capture ends the roles they hold."""

    person = Ident(required=True, doc=PERSON)
    date = Day(required=True)
    incident = Ident(doc="the incident it happened in")
    date_precision = Choice(DATE_PRECISIONS, doc="how exactly the date is known")


class DeathFact(FateFact):
    fact = Tag("death")


class CaptureFact(FateFact):
    fact = Tag("capture")


class ReleaseFact(FateFact):
    fact = Tag("release")


def apply_role(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    person = uow.require_person(fact, "person", d["person"])
    uow.require_known(fact, "group", "actor", d["group"])
    person.assume_role(d["group"], d["role"], d.get("since"), uow.prov(fact, "actor", person.key))
    uow.touch("actor", person)


def apply_role_ended(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    person = uow.require_person(fact, "person", d["person"])
    uow.require_known(fact, "group", "actor", d["group"])
    uow.require_known(fact, "incident", "incident", d.get("incident"))
    person.end_role(d["group"], d["role"], d["reason"], d.get("date"), d.get("incident"),
                    uow.prov(fact, "actor", person.key))
    uow.touch("actor", person)


def apply_fate(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    person = uow.require_person(fact, "person", d["person"])
    uow.require_known(fact, "incident", "incident", d.get("incident"))
    person.report_fate(fact.type, d["date"], d.get("incident"),
                       uow.prov(fact, "actor", person.key),
                       date_precision=d.get("date_precision", "day"))
    uow.touch("actor", person)


_PERSON_GROUP = (("person", "actor"), ("group", "actor"))
_FATE = (("person", "actor"), ("incident", "incident"))

register(
    FactType("role", RoleFact, apply_role, refers=_PERSON_GROUP, order=3),
    FactType("role_ended", RoleEndedFact, apply_role_ended,
             refers=(*_PERSON_GROUP, ("incident", "incident"))),
    FactType("death", DeathFact, apply_fate, refers=_FATE, order=4),
    FactType("capture", CaptureFact, apply_fate, refers=_FATE, order=4),
    FactType("release", ReleaseFact, apply_fate, refers=_FATE, order=5),
)
