"""Identity: two records (usually from different sources or datasets) of one real event,
or two actors that are one group — and an analyst's "these are not the same". Identity is a
fact like any other: it holds from the report that says it until that report is retracted.
The views count linked records once (a cluster, transitively), under the `incident` or
`actor` the fact names (see docs/linking.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tracker.domain.link import DISTINCT, SAME, Link, pair_key
from tracker.exceptions import FactError
from tracker.facts.base import FactSchema, FactType, Tag, register
from tracker.fields import Between, Ident, Text

if TYPE_CHECKING:
    from tracker.facts.base import UnitOfWork
    from tracker.reports import Fact


class SameIncidentFact(FactSchema):
    """`same_as` is a record of the same real event as `incident`: the views count the
    two (and every record linked to either) once, under `incident`."""

    fact = Tag("same_incident")
    incident = Ident(required=True, doc="the record the cluster is counted under")
    same_as = Ident(required=True, doc="another record of the same event")
    score = Between(0, 1, doc="how sure the matching was (0..1), e.g. tracker link suggest's")
    method = Text(doc="how the pair was found, e.g. 'tracker-link-suggest/1 days=1 km=25'")

    @staticmethod
    def check_whole(data: dict[str, Any]) -> list[tuple[str, str]]:
        return _two(data, "incident", "same_as")


class DistinctIncidentsFact(FactSchema):
    """An analyst's "these are not the same event": the pair is never suggested again, and a
    `same_incident` for it is refused while this stands."""

    fact = Tag("distinct_incidents")
    incident = Ident(required=True)
    other = Ident(required=True)

    @staticmethod
    def check_whole(data: dict[str, Any]) -> list[tuple[str, str]]:
        return _two(data, "incident", "other")


class SameActorFact(FactSchema):
    """`same_as` is the same real-world actor as `actor` (e.g. a dataset's "JNIM: Group for
    Support of Islam and Muslims" and `jnim`): every view counts and finds them as one,
    under `actor`."""

    fact = Tag("same_actor")
    actor = Ident(required=True, doc="the actor they are counted under")
    same_as = Ident(required=True, doc="another record of the same actor")
    method = Text()

    @staticmethod
    def check_whole(data: dict[str, Any]) -> list[tuple[str, str]]:
        return _two(data, "actor", "same_as")


def _two(data: dict[str, Any], a: str, b: str) -> list[tuple[str, str]]:
    if data[a] == data[b]:
        return [(b, f"names the same record as '{a}'")]
    return []


def link_for(uow: UnitOfWork, fact: Fact, kind: str, a: str, b: str) -> Link:
    """The Link aggregate of a pair, made (in this report) if no report linked it yet."""
    key = pair_key(kind, a, b)
    link = uow.find("link", key)
    if link is None:
        first, second = sorted((a, b))
        link = Link(key=key, kind=kind, a=first, b=second,
                    provenance=uow.prov(fact, "link", key))
        uow.add("link", link)
    return link


def _linked(uow: UnitOfWork, fact: Fact, kind: str, first: str, second: str) -> Link:
    """The Link of the two records a fact names (fields `first`, `second`), both known."""
    d = fact.data
    uow.require_known(fact, first, kind, d[first])
    uow.require_known(fact, second, kind, d[second])
    return link_for(uow, fact, kind, d[first], d[second])


def _assert(uow: UnitOfWork, fact: Fact, link: Link, status: str, first: str, second: str,
            score: Any = None, method: Any = None) -> None:
    d = fact.data
    link.assert_identity(status, d[first], d[second], score, method,
                         uow.prov(fact, "link", link.key))
    uow.touch("link", link)


def apply_same_incident(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    link = _linked(uow, fact, "incident", "incident", "same_as")
    if link.status == DISTINCT:
        raise FactError(fact.index, "same_as", f"incidents '{d['incident']}' and "
                        f"'{d['same_as']}' were recorded as distinct (distinct_incidents); "
                        "retract that report first if they are the same after all")
    _assert(uow, fact, link, SAME, "incident", "same_as", d.get("score"), d.get("method"))


def apply_distinct_incidents(uow: UnitOfWork, fact: Fact) -> None:
    _assert(uow, fact, _linked(uow, fact, "incident", "incident", "other"), DISTINCT,
            "incident", "other")


def apply_same_actor(uow: UnitOfWork, fact: Fact) -> None:
    _assert(uow, fact, _linked(uow, fact, "actor", "actor", "same_as"), SAME, "actor",
            "same_as", method=fact.data.get("method"))


def _pair(kind: str, a: str, b: str) -> Callable[[dict[str, Any]], list[tuple[str, str]]]:
    """The pair's Link aggregate, asked for in the report's one existence query: a new pair
    (most of an accepted file) then costs no lookup of its own."""
    return lambda d: [("link", pair_key(kind, d[a], d[b]))]


register(
    FactType("same_incident", SameIncidentFact, apply_same_incident,
             refers=(("incident", "incident"), ("same_as", "incident")),
             refers_more=_pair("incident", "incident", "same_as")),
    FactType("distinct_incidents", DistinctIncidentsFact, apply_distinct_incidents,
             refers=(("incident", "incident"), ("other", "incident")),
             refers_more=_pair("incident", "incident", "other")),
    FactType("same_actor", SameActorFact, apply_same_actor,
             refers=(("actor", "actor"), ("same_as", "actor")),
             refers_more=_pair("actor", "actor", "same_as")),
)
