"""The actor family: actors (armed groups, state forces, people…), their aliases, their
affiliations and sanctions; what a correction may change about an actor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracker.domain.actor import Actor
from tracker.exceptions import FactError
from tracker.facts.base import DATASETS, FactSchema, FactType, Tag, correctable, register
from tracker.fields import Choice, Day, Ident, ListOf, LongText, Text

if TYPE_CHECKING:
    from tracker.facts.base import UnitOfWork
    from tracker.reports import Fact

ACTOR_KINDS = (
    "armed_group", "state_force", "coalition", "person", "government", "civilians", "other",
)
RELATIONS = ("branch_of", "allied_with", "part_of", "faction_of")


class ActorFact(FactSchema):
    """Registers an actor; the same details again record nothing, new aliases are added."""

    fact = Tag("actor")
    id = Ident(required=True, doc="the id other facts name it by")
    name = Text(required=True)
    kind = Choice(ACTOR_KINDS, required=True)
    aliases = ListOf(Text(), doc="other names: lookups and imports resolve them")
    country = Text()
    title = Text(doc="a person's title or rank")


class AliasFact(FactSchema):
    """Another name for an actor."""

    fact = Tag("alias")
    actor = Ident(required=True)
    alias = Text(required=True)


class AffiliationFact(FactSchema):
    """An actor's tie to another: branch, ally, part or faction."""

    fact = Tag("affiliation")
    actor = Ident(required=True)
    parent = Ident(required=True, doc="the actor it is tied to")
    relation = Choice(RELATIONS, required=True)
    since = Day()


class SanctionFact(FactSchema):
    """An authority's sanction of an actor."""

    fact = Tag("sanction")
    actor = Ident(required=True)
    authority = Text(required=True, doc="who lists it, e.g. UN")
    listed = Day()


def apply_actor(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    key = d["id"]
    details: dict[str, Any] = {
        k: d[k] for k in ("name", "kind", "aliases", "country", "title", "notes") if k in d}
    aliases = d.get("aliases", [])
    existing = uow.find("actor", key)
    if existing is not None and not existing.is_same_report_of(details):
        raise FactError(fact.index, "id", f"actor '{key}' is already registered as "
                        f"{existing.name!r} ({existing.details['kind']}) with other details; "
                        "use a correction fact to change it")
    if existing is None:
        uow.check_name(fact, "name", key, d["name"])
    check_new_aliases(uow, fact, "aliases", existing, key, aliases)
    if existing is None:
        details.setdefault("aliases", [])
        uow.add("actor", Actor(key=key, details=details,
                               provenance=uow.prov(fact, "actor", key)))
    else:
        for alias in aliases:
            existing.add_alias(alias, uow.prov(fact, "actor", key))
        uow.touch("actor", existing)
    uow.note_names(key, [key, d["name"], *aliases])
    link_namesakes(uow, fact, key, aliases)


def check_new_aliases(uow: UnitOfWork, fact: Fact, fieldname: str, actor: Actor | None,
                      key: str, aliases: list[str]) -> None:
    """Each alias new to the actor may find no other actor (UnitOfWork.check_alias);
    `fieldname` names the list (its items are `fieldname.i`)."""
    known = {actor.name, *actor.aliases} if actor is not None else set()
    for i, alias in enumerate(aliases):
        if alias not in known and alias not in aliases[:i]:
            uow.check_alias(fact, f"{fieldname}.{i}", key, alias)


def apply_alias(uow: UnitOfWork, fact: Fact) -> None:
    actor = uow.require(fact, "actor", "actor", fact.data["actor"])
    alias = fact.data["alias"]
    if alias != actor.name and alias not in actor.aliases:
        uow.check_alias(fact, "alias", actor.key, alias)
    actor.add_alias(alias, uow.prov(fact, "actor", actor.key))
    uow.touch("actor", actor)
    uow.note_names(actor.key, [alias])
    link_namesakes(uow, fact, actor.key, [alias])


def link_namesakes(uow: UnitOfWork, fact: Fact, key: str, names: list[str]) -> None:
    """An alias that is a dataset's name for an actor already imported under that name
    re-attributes its records: the two are linked (same_actor, method `alias`) in the same
    report, so retracting the report undoes both. Later imports resolve the name to `key`
    by the alias itself."""
    from tracker.domain.link import SAME
    from tracker.facts.identity import link_for
    from tracker.ingestion.rows import actor_key

    namesakes = [actor_key(dataset, name) for name in names for dataset in DATASETS]
    namesakes = [n for n in dict.fromkeys(namesakes) if n != key]
    # One existence query for all of them; none is read unless it exists.
    uow.check_existence([("actor", n) for n in namesakes])
    for name in names:
        for dataset in DATASETS:
            namesake = actor_key(dataset, name)
            if namesake == key or not uow.exists("actor", namesake):
                continue
            link = link_for(uow, fact, "actor", key, namesake)
            link.assert_identity(SAME, key, namesake, None, f"alias '{name}'",
                                 uow.prov(fact, "link", link.key))
            uow.touch("link", link)


def apply_affiliation(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    actor = uow.require(fact, "actor", "actor", d["actor"])
    uow.require_known(fact, "parent", "actor", d["parent"])
    actor.record_affiliation(d["parent"], d["relation"], d.get("since"),
                             uow.prov(fact, "actor", actor.key))
    uow.touch("actor", actor)


def apply_sanction(uow: UnitOfWork, fact: Fact) -> None:
    actor = uow.require(fact, "actor", "actor", fact.data["actor"])
    actor.record_sanction(fact.data["authority"], fact.data.get("listed"),
                          uow.prov(fact, "actor", actor.key))
    uow.touch("actor", actor)


register(
    FactType("actor", ActorFact, apply_actor, refers=(("id", "actor"),), order=0),
    FactType("alias", AliasFact, apply_alias, refers=(("actor", "actor"),)),
    FactType("affiliation", AffiliationFact, apply_affiliation,
             refers=(("actor", "actor"), ("parent", "actor"))),
    FactType("sanction", SanctionFact, apply_sanction, refers=(("actor", "actor"),)),
)

correctable("actor", {
    "name": Text(), "kind": Choice(ACTOR_KINDS), "aliases": ListOf(Text()),
    "country": Text(), "title": Text(), "notes": LongText(), "fate.date": Day(),
}, clearable=("country", "title", "notes"))
