"""The operation family: named military operations (lead, partners, status) and their
status changes; what a correction may change about an operation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracker.domain.operation import Operation
from tracker.exceptions import FactError
from tracker.facts.base import FactSchema, FactType, Tag, as_left, correctable, register
from tracker.fields import Choice, Day, Ident, ListOf, LongText, Text

if TYPE_CHECKING:
    from tracker.facts.base import UnitOfWork
    from tracker.reports import Fact

OPERATION_STATUSES = ("planned", "active", "suspended", "concluded")


class OperationFact(FactSchema):
    """Registers a named military operation."""

    fact = Tag("operation")
    id = Ident(required=True, doc="the id other facts name it by")
    name = Text(required=True)
    lead = Ident(required=True, doc="the actor that leads it")
    partners = ListOf(Ident(), doc="the actors taking part beside the lead")
    status = Choice(OPERATION_STATUSES, doc="active when not given")
    started = Day()


class OperationStatusFact(FactSchema):
    """An operation's new status (planned, active, suspended, concluded)."""

    fact = Tag("operation_status")
    operation = Ident(required=True)
    status = Choice(OPERATION_STATUSES, required=True)
    date = Day(doc="since when")


def apply_operation(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    uow.require_known(fact, "lead", "actor", d["lead"])
    for i, p in enumerate(d.get("partners", [])):
        uow.require_known(fact, f"partners.{i}", "actor", p)
    details = {k: v for k, v in d.items() if k not in ("id", "ref")}
    details.setdefault("partners", [])
    details.setdefault("status", "active")
    uow.register_entity(fact, "operation", Operation, details,
                    "a correction or operation_status fact")


def apply_operation_status(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    op = uow.require(fact, "operation", "operation", d["operation"])
    # As the report leaves it: a correction of `started` in the same report counts.
    started = as_left(uow, op.details, "operation", op.key, ("started",))["started"]
    # `planned` may be announced before the start; any other status is of a started one.
    if d["status"] != "planned" and d.get("date") is not None and started is not None \
            and str(d["date"]) < str(started):
        raise FactError(fact.index, "date", f"{d['date']} is before operation "
                        f"'{op.key}' started ({started}): a status cannot change before "
                        "it (correct this date, or the operation's started)")
    op.change_status(d["status"], d.get("date"), uow.prov(fact, "operation", op.key))
    uow.touch("operation", op)


register(
    FactType("operation", OperationFact, apply_operation,
             refers=(("id", "operation"), ("lead", "actor")),
             refers_more=lambda d: [("actor", p) for p in d.get("partners", [])], order=1),
    FactType("operation_status", OperationStatusFact, apply_operation_status,
             refers=(("operation", "operation"),)),
)

correctable("operation", {
    "name": Text(), "lead": Ident(), "partners": ListOf(Ident()), "started": Day(),
    "notes": LongText(),
}, clearable=("started", "notes"))
