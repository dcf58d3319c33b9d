"""The operation family: named military operations (lead, partners, status) and their
status changes; what a correction may change about an operation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracker.domain.operation import Operation
from tracker.facts.base import (
    FactSchema,
    FactType,
    Tag,
    correctable,
    register,
    register_entity,
    touch,
)
from tracker.fields import Choice, Day, Ident, ListOf, Text

if TYPE_CHECKING:
    from tracker.facts.base import UnitOfWork
    from tracker.reports import Fact

OPERATION_STATUSES = ("planned", "active", "suspended", "concluded")


class OperationFact(FactSchema):
    fact = Tag("operation")
    id = Ident(required=True)
    name = Text(required=True)
    lead = Ident(required=True)
    partners = ListOf(Ident())
    status = Choice(OPERATION_STATUSES, metadata={"description": "active when not given"})
    started = Day()


class OperationStatusFact(FactSchema):
    fact = Tag("operation_status")
    operation = Ident(required=True)
    status = Choice(OPERATION_STATUSES, required=True)
    date = Day()


def apply_operation(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    uow.require_known(fact, "lead", "actor", d["lead"])
    for i, p in enumerate(d.get("partners", [])):
        uow.require_known(fact, f"partners.{i}", "actor", p)
    details = {k: v for k, v in d.items() if k not in ("id", "ref")}
    details.setdefault("partners", [])
    details.setdefault("status", "active")
    register_entity(uow, fact, "operation", Operation, details,
                    "a correction or operation_status fact")


def apply_operation_status(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    op = uow.require(fact, "operation", "operation", d["operation"])
    op.change_status(d["status"], d.get("date"), uow.prov(fact, "operation", op.key))
    touch(uow, "operation", op)


register(
    FactType("operation", OperationFact, apply_operation,
             refers=(("id", "operation"), ("lead", "actor")),
             refers_more=lambda d: [("actor", p) for p in d.get("partners", [])], order=1),
    FactType("operation_status", OperationStatusFact, apply_operation_status,
             refers=(("operation", "operation"),)),
)

correctable("operation", {
    "name": Text(), "lead": Ident(), "partners": ListOf(Ident()), "started": Day(),
    "notes": Text(),
})
