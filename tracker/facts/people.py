"""The people family: roles people hold in groups, roles ending, and a person's fate
(death, capture, release)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from tracker.exceptions import FactError
from tracker.facts.base import FactSchema, FactType, Tag, as_left, register
from tracker.fields import Choice, Day, Ident

if TYPE_CHECKING:
    from tracker.domain.actor import Actor
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


def day_of(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def latest_day(value: date | str, precision: str | None) -> date:
    """The last day a date known to `precision` may stand for (a death dated 2021-08 with
    precision month may have been on the 31st)."""
    day = day_of(value)
    if precision == "week":
        return day + timedelta(days=6)
    if precision == "month":
        return day.replace(day=calendar.monthrange(day.year, day.month)[1])
    if precision == "year":
        return day.replace(month=12, day=31)
    return day


def apply_role(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    person = uow.require_person(fact, "person", d["person"])
    uow.require_known(fact, "group", "actor", d["group"])
    fate = person.fate
    if fate is not None:  # its date as the report leaves it (a fate.date correction)
        fate = {**fate, "date": as_left(uow, {"fate": fate}, "actor", person.key,
                                        ("fate.date",))["fate.date"]}
    # Only a death is final: a capture may have been followed by a release no report has
    # given yet, or one dated earlier may be recorded later.
    if d.get("since") is not None and fate is not None and fate["fate"] == "death" \
            and latest_day(fate["date"], fate.get("date_precision")) < day_of(d["since"]):
        raise FactError(fact.index, "since", f"{d['since']} is after {person.key}'s recorded "
                        f"death on {fate['date']} (correct this date, or the death's date "
                        "if it is wrong)")
    person.assume_role(d["group"], d["role"], d.get("since"), uow.prov(fact, "actor", person.key))
    uow.touch("actor", person)


def check_not_before_roles(fact: Fact, person: Actor, when: date | str,
                           precision: str | None, roles: list[dict[str, Any]],
                           what: str) -> None:
    """Refuses a date (a death, capture or role's end) before a held role began."""
    last = latest_day(when, precision)
    for held in sorted(roles, key=lambda r: (r["group"], r["role"])):
        if held.get("since") is not None and last < day_of(held["since"]):
            raise FactError(fact.index, "date", f"{when} is before {person.key}'s role "
                            f"{held['role']} in {held['group']} began ({held['since']}): "
                            f"{what} (correct this date, or the role's since)")


def apply_role_ended(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    person = uow.require_person(fact, "person", d["person"])
    uow.require_known(fact, "group", "actor", d["group"])
    uow.require_known(fact, "incident", "incident", d.get("incident"))
    held = person.roles.get(f"{d['group']}/{d['role']}")
    if d.get("date") is not None and held is not None:
        # (An earlier term's end cannot be told from this one's: it would end the role
        # held now.)
        check_not_before_roles(fact, person, d["date"], "day", [held],
                               "a role cannot end before it began")
    person.end_role(d["group"], d["role"], d["reason"], d.get("date"), d.get("incident"),
                    uow.prov(fact, "actor", person.key))
    uow.touch("actor", person)


def apply_fate(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    person = uow.require_person(fact, "person", d["person"])
    uow.require_known(fact, "incident", "incident", d.get("incident"))
    if fact.type == "death":  # a capture may be an earlier one, released since
        check_not_before_roles(fact, person, d["date"], d.get("date_precision"),
                               list(person.roles.values()),
                               "a death ends the roles held then")
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
