"""The fact catalogue: every fact type of the report format, declared once.

Each family declares its fact types in one module — schema, references, how it applies,
its place in the apply order, and what a correction may change about its entity:

- tracker.facts.actors: actor, alias, affiliation, sanction
- tracker.facts.people: role, role_ended, death, capture, release
- tracker.facts.incidents: incident, casualties, assessment, materiel
- tracker.facts.operations: operation, operation_status
- tracker.facts.amendments: correction, retraction
- tracker.facts.identity: same_incident, distinct_incidents, same_actor

Adding a fact type is one `FactType` in its family's module (and its event on the
aggregate); the validator, the API's OpenAPI document and docs/report-format.md's
catalogue test follow from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# The families register in this order, which is the order the document and the messages
# list fact types in.
# isort: off
from tracker.facts import actors  # noqa: F401
from tracker.facts import people  # noqa: F401
from tracker.facts import incidents  # noqa: F401
from tracker.facts import operations  # noqa: F401
from tracker.facts import amendments  # noqa: F401
from tracker.facts import identity  # noqa: F401
# isort: on
from tracker.facts.base import (
    CLEARABLE,
    CORRECTABLE,
    CORRECTABLE_FIELDS,
    FACT_TYPES,
    FactSchema,
    FactType,
    UnitOfWork,
)

if TYPE_CHECKING:
    from tracker.reports import Fact


def references(fact: Fact) -> list[tuple[str, str]]:
    """The entities a fact defines or names (for one existence query per report)."""
    return FACT_TYPES[fact.type].references(fact.data)


__all__ = ["CLEARABLE", "CORRECTABLE", "CORRECTABLE_FIELDS", "FACT_TYPES", "FactSchema", "FactType",
           "UnitOfWork", "references"]
