"""The people family: roles people hold in groups, roles ending, and a person's fate
(death, capture, release)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracker.facts.base import FactSchema, FactType, Tag, register, touch
from tracker.fields import Choice, Day, Ident

if TYPE_CHECKING:
    from tracker.facts.base import UnitOfWork
    from tracker.reports import Fact

ROLE_END_REASONS = ("killed", "captured", "removed", "resigned", "defected", "unknown")
DATE_PRECISIONS = ("day", "week", "month", "year")


class RoleFact(FactSchema):
    fact = Tag("role")
    person = Ident(required=True)
    group = Ident(required=True)
    role = Ident(required=True)
    since = Day()


class RoleEndedFact(FactSchema):
    fact = Tag("role_ended")
    person = Ident(required=True)
    group = Ident(required=True)
    role = Ident(required=True)
    reason = Choice(ROLE_END_REASONS, required=True)
    date = Day()
    incident = Ident()


class FateFact(FactSchema):
    person = Ident(required=True)
    date = Day(required=True)
    incident = Ident()
    date_precision = Choice(DATE_PRECISIONS)


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
    touch(uow, "actor", person)


def apply_role_ended(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    person = uow.require_person(fact, "person", d["person"])
    uow.require_known(fact, "group", "actor", d["group"])
    uow.require_known(fact, "incident", "incident", d.get("incident"))
    person.end_role(d["group"], d["role"], d["reason"], d.get("date"), d.get("incident"),
                    uow.prov(fact, "actor", person.key))
    touch(uow, "actor", person)


def apply_fate(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    person = uow.require_person(fact, "person", d["person"])
    uow.require_known(fact, "incident", "incident", d.get("incident"))
    person.report_fate(fact.type, d["date"], d.get("incident"),
                       uow.prov(fact, "actor", person.key),
                       date_precision=d.get("date_precision", "day"))
    touch(uow, "actor", person)


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
