"""What every fact type is made of, and the unit of work facts are applied in.

A fact type is one `FactType`: its schema (the declaration: fields, types, what is
required; the OpenAPI document shows it), the entities it refers to, how it applies to the
aggregates, and its place in the apply order. The fact families (actors, people, incidents,
operations, amendments) each declare theirs in one module and `register` them here, with
the fields of their entity a correction may change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from tracker.domain.actor import Actor
from tracker.domain.base import entity_id, get_path
from tracker.domain.link import SAME, pair_key
from tracker.exceptions import FactError
from tracker.fields import (
    Checker,
    Choice,
    FormatSchema,
    LongText,
    ScalarMap,
    compile_field,
    compile_schema,
)
from tracker.ingestion.rows import actor_key, normalize_name

if TYPE_CHECKING:
    from marshmallow import fields

    from tracker.application import ConflictTracker
    from tracker.reports import Fact, Report

Apply = Callable[["UnitOfWork", "Fact"], None]

# The default place in the apply order (see FactType.order).
LATER = 6
# The datasets whose actor records an alias spelt as their name links to (see
# tracker.facts.actors.link_namesakes).
DATASETS = ("acled", "ucdp")


@dataclass(frozen=True)
class FactType:
    """One fact type, declared once.

    - `schema`: its fields (a FormatSchema whose `fact` field names the type).
    - `refers`: (field, entity kind) of each field that names one entity; `refers_more`
      lists the rest (ids inside lists or objects, or an entity the fact's fields make up,
      such as a pair's link). Together: one existence query per report.
    - `apply`: how it changes the aggregates, checking its references.
    - `order`: facts of one report are applied by (order, index): entities first, so that a
      report may define an actor after a fact that names it; roles before the deaths and
      captures that end them; corrections and retractions last.
    """

    name: str
    schema: type[FormatSchema]
    apply: Apply
    refers: tuple[tuple[str, str], ...] = ()
    refers_more: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None
    order: int = LATER

    @cached_property
    def check(self) -> Checker:
        """The compiled checker of the schema (built once: an import checks many facts)."""
        return compile_schema(self.schema, ignore="fact")

    def references(self, data: dict[str, Any]) -> list[tuple[str, str]]:
        refs = [(kind, data[name]) for name, kind in self.refers
                if isinstance(data.get(name), str)]
        if self.refers_more is not None:
            refs += self.refers_more(data)
        return refs

    @property
    def registers(self) -> str | None:
        """The kind of entity a fact of this type registers (its `id`), if any."""
        return next((kind for name, kind in self.refers if name == "id"), None)

    def required(self) -> list[str]:
        """The fields a fact of this type must give (besides `fact`)."""
        return [f.data_key or n for n, f in self.schema._declared_fields.items()
                if f.required and n != "fact"]


class FactSchema(FormatSchema):
    """Fields every fact may carry: notes, and a `ref` — where in a dataset it comes from
    (dataset, row id, row version, file line…), copied into the provenance of its events."""

    notes = LongText()
    ref = ScalarMap(doc="where in a dataset the fact comes from")


def Tag(name: str) -> Choice:  # noqa: N802 - a field, like the others
    """The `fact` field that names a fact's type."""
    return Choice((name,), required=True)


FACT_TYPES: dict[str, FactType] = {}

# entity kind -> field a correction may change -> the field declaring its new value
CORRECTABLE_FIELDS: dict[str, dict[str, fields.Field]] = {}
# ... and the checkers of those values.
CORRECTABLE: dict[str, dict[str, Checker]] = {}
# entity kind -> the optional fields a correction may clear (`"value": null`)
CLEARABLE: dict[str, tuple[str, ...]] = {}


def register(*types: FactType) -> None:
    for fact_type in types:
        if fact_type.name in FACT_TYPES:
            raise ValueError(f"fact type {fact_type.name!r} is declared twice")
        FACT_TYPES[fact_type.name] = fact_type


def correctable(kind: str, declared: dict[str, fields.Field],
                clearable: tuple[str, ...] = ()) -> None:
    """The fields of an entity kind a correction fact may change, and their values;
    `clearable`: those of them an entity may lack, which a correction to null clears
    (a list is emptied with [] instead)."""
    assert set(clearable) <= set(declared), kind
    CORRECTABLE_FIELDS[kind] = declared
    CORRECTABLE[kind] = {name: compile_field(f) for name, f in declared.items()}
    CLEARABLE[kind] = clearable


class UnitOfWork:
    """The aggregates one report touches, loaded once, saved together or not at all."""

    def __init__(self, app: ConflictTracker, report: Report, provenance: dict[str, Any]):
        self.app = app
        self.report = report
        self.provenance = provenance
        self.loaded: dict[UUID, Any] = {}
        self.touched: dict[UUID, tuple[str, str]] = {}
        self.present: set[UUID] = set()  # exist in the store, not loaded
        self.errors: list[FactError] = []
        # (kind, id) -> index of a fact of this report that would have registered the
        # entity but was refused (by the format or when applied).
        self.refused: dict[tuple[str, str], int] = dict(report.refused)
        # The names (normalized) actors of this report were given here, to the actors:
        # an alias is checked against them as against the recorded ones.
        self.report_names: dict[str, set[str]] = {}
        self._names_read = False
        # The report's ids, worked out once: a large report names more entities than
        # entity_id's cache holds, and asks for each one several times.
        self._ids: dict[tuple[str, str], UUID] = {}

    def id_of(self, kind: str, key: str) -> UUID:
        found = self._ids.get((kind, key))
        if found is None:
            found = self._ids[(kind, key)] = entity_id(kind, key)
        return found

    def check_existence(self, refs: list[tuple[str, str]]) -> None:
        """Asks the store once which of `refs` exist. Absent ones need no lookup later;
        present ones are only loaded if a fact changes them (`require` loads them),
        not when a fact merely refers to them (`require_known` does not)."""
        ids = [self.id_of(k, key) for k, key in refs]
        ids = [i for i in dict.fromkeys(ids) if i not in self.loaded]
        existing = self.app.existing(ids)
        if existing is None:
            return
        for i in ids:
            if i in existing:
                self.present.add(i)
            else:
                self.loaded[i] = None

    def find(self, kind: str, key: str) -> Any:
        agg_id = self.id_of(kind, key)
        if agg_id not in self.loaded:
            try:
                self.loaded[agg_id] = self.app.repository.get(agg_id)
            except AggregateNotFoundError:
                self.loaded[agg_id] = None
        return self.loaded[agg_id]

    def exists(self, kind: str, key: str) -> bool:
        """Whether the entity exists, without reading it when `check_existence` knows."""
        agg_id = self.id_of(kind, key)
        if agg_id in self.present:
            return True
        if agg_id in self.loaded:
            return self.loaded[agg_id] is not None
        return self.find(kind, key) is not None

    def require(self, fact: Fact, fieldname: str, kind: str, key: str | None) -> Any:
        """The entity a fact refers to; records an error naming the field when absent."""
        if key is None:
            return None
        agg = self.find(kind, key)
        if agg is None:
            raise self._unknown(fact, fieldname, kind, key)
        return agg

    def require_known(self, fact: Fact, fieldname: str, kind: str, key: str | None) -> None:
        """Like `require`, for a reference the fact does not change: existence is enough."""
        if key is None:
            return
        agg_id = self.id_of(kind, key)
        if agg_id in self.loaded:
            if self.loaded[agg_id] is None:
                raise self._unknown(fact, fieldname, kind, key)
        elif agg_id not in self.present:
            self.require(fact, fieldname, kind, key)

    def _unknown(self, fact: Fact, fieldname: str, kind: str, key: str) -> FactError:
        if kind == "report":
            return FactError(fact.index, fieldname, f"unknown report '{key}': no report "
                             "with this id has been recorded")
        refused = self.refused.get((kind, key))
        if refused is not None:
            return FactError(fact.index, fieldname, f"{kind} '{key}' is registered by fact "
                             f"{refused} of this report, which was refused",
                             follows=refused)
        known = self.carriers(key) if kind == "actor" else []
        if known:
            other, which = known[0]
            what = ("it is an alias of actor" if "alias" in which
                    else "it is the name of actor" if "name" in which
                    else "the id differs in case:")
            return FactError(fact.index, fieldname, f"unknown actor '{key}': {what} "
                             f"'{other}'; facts name actors by their exact id "
                             f"(write '{other}')")
        return FactError(fact.index, fieldname, f"unknown {kind} '{key}': no report has "
                         f"registered it (register it in this report or an earlier one)")

    def apply(self, fact: Fact) -> None:
        """Applies one fact; a refusal is kept (with the entity the fact would have
        registered), so that every fact of the report is checked."""
        fact_type = FACT_TYPES[fact.type]
        try:
            fact_type.apply(self, fact)
        except FactError as e:
            if e.follows is None:
                # One that follows from a refused fact says nothing new: left out.
                self.errors.append(e)
            kind = fact_type.registers
            if kind is not None and not self.exists(kind, fact.data["id"]):
                self.refused.setdefault((kind, fact.data["id"]), fact.index)

    # -- the names actors are found by ----------------------------------------------------

    def note_names(self, key: str, names: list[str]) -> None:
        """Actor `key` is found by these names from this report on."""
        for name in names:
            self.report_names.setdefault(normalize_name(name), set()).add(key)

    def carriers(self, name: str) -> list[tuple[str, str]]:
        """The live actors `name` finds — by id, name or an alias, case and spacing aside,
        as lookups and imports compare them — with which of the three ("id and alias"…),
        by id."""
        folded = normalize_name(name)
        # The store's names are read once per report (each fact's are in report_names).
        candidates = self.app.actor_names.carrying(self.app, name,
                                                   catch_up=not self._names_read)
        self._names_read = True
        candidates |= self.report_names.get(folded, set())
        found = []
        for other in sorted(candidates):
            actor = self.find("actor", other)
            if actor is None or actor.retracted is not None or getattr(
                    actor, "registration_withdrawn", None):
                continue  # retracted, or its registration (its names with it) withdrawn
            which = [w for w, names in (("id", [actor.key]), ("name", [actor.name]),
                                        ("alias", actor.aliases))
                     if any(normalize_name(n) == folded for n in names)]
            if which:
                found.append((other, " and ".join(which)))
        return found

    def name_owners(self, key: str, name: str) -> list[tuple[str, str]]:
        """The other actors `name` already finds (`carriers`): (id, which). Not counted:
        an actor linked to `key` as the same one (same_actor, recorded or in this report),
        and a dataset's record named exactly `name` (an alias spelt as a dataset's name
        links the two, see tracker.facts.actors.link_namesakes)."""
        namesakes = {actor_key(dataset, name) for dataset in DATASETS}
        return [(other, which) for other, which in self.carriers(name)
                if other != key and other not in namesakes
                and not self._same_actor(key, other)]

    def _same_actor(self, a: str, b: str) -> bool:
        pair = {a, b}
        if any(f.type == "same_actor" and {f.data["actor"], f.data["same_as"]} == pair
               for f in self.report.facts):
            return True
        link = self.find("link", pair_key("actor", a, b))
        return link is not None and link.status == SAME

    def check_alias(self, fact: Fact, fieldname: str, key: str, alias: str) -> None:
        """Refuses `alias` for actor `key` when it already finds another actor: lookups
        and imports by that name would then find one of the two, which one the user
        cannot tell."""
        for other, which in self.name_owners(key, alias)[:1]:
            raise FactError(fact.index, fieldname, f"'{alias}' already names actor "
                            f"'{other}' (its {which}): an alias may find only one actor "
                            f"(if '{key}' and '{other}' are the same actor, link them with "
                            "a same_actor fact)")

    def check_name(self, fact: Fact, fieldname: str, key: str, name: str) -> None:
        """Refuses `name` for actor `key` when it is another actor's alias (two actors
        may share a name; an alias is meant to find one)."""
        for other, which in self.name_owners(key, name):
            if "alias" in which:
                raise FactError(fact.index, fieldname, f"'{name}' is an alias of actor "
                                f"'{other}': name this actor otherwise (if '{key}' and "
                                f"'{other}' are the same actor, link them with a "
                                "same_actor fact)")

    def require_person(self, fact: Fact, fieldname: str, key: str) -> Actor:
        person = self.require(fact, fieldname, "actor", key)
        if person.details["kind"] != "person":
            raise FactError(fact.index, fieldname, f"actor '{key}' is of kind "
                            f"{person.details['kind']}, not a person")
        return person

    def add(self, kind: str, agg: Any) -> None:
        self.loaded[agg.id] = agg
        self.touched[agg.id] = (kind, agg.key)

    def touch(self, kind: str, agg: Any) -> None:
        """Saves `agg` with the report, if the fact gave it something to record."""
        if agg.pending_events:
            self.add(kind, agg)

    def register_entity(self, fact: Fact, kind: str, create: Callable[..., Any],
                        details: dict[str, Any], remedy: str) -> None:
        """Creates the entity a fact defines; the same details again record nothing, other
        details are refused (a change must be a correction, which keeps the old value)."""
        key = fact.data["id"]
        existing = self.find(kind, key)
        if existing is None:
            self.add(kind, create(key=key, details=details, provenance=self.prov(fact, kind, key)))
        elif not existing.is_same_report_of(details):
            raise FactError(fact.index, "id", f"{kind} '{key}' is already recorded with other "
                            f"details ({differences(existing.details, details)}): to add "
                            f"figures or other facts about it, leave this {kind} fact out and "
                            f"name the {kind} by its id; to change a detail, send {remedy}")

    def prov(self, fact: Fact, kind: str, key: str) -> dict[str, Any]:
        extra = {"ref": fact.data["ref"]} if "ref" in fact.data else {}
        return {**self.provenance, "fact": fact.index, "subject": f"{kind}/{key}", **extra}


def differences(recorded: dict[str, Any], given: dict[str, Any], shown: int = 4) -> str:
    """Where a fact's details differ from the recorded ones, in words: "date: recorded
    2020-11-14, this fact 2020-11-13; location.admin1: recorded 'Sahel', this fact none"."""
    found: list[str] = []
    for name, value in given.items():
        old = recorded.get(name)
        if old == value:
            continue
        if isinstance(old, dict) and isinstance(value, dict):
            for part in dict.fromkeys([*value, *old]):
                if old.get(part) != value.get(part):
                    found.append(f"{name}.{part}: recorded {_said(old.get(part))}, this fact "
                                 f"{_said(value.get(part))}")
        else:
            found.append(f"{name}: recorded {_said(old)}, this fact {_said(value)}")
    more = f"; and {len(found) - shown} more" if len(found) > shown else ""
    return "; ".join(found[:shown]) + more


def _said(value: Any) -> str:
    """A detail's value, short."""
    if value is None or value == [] or value == {}:
        return "none"
    if isinstance(value, list):
        text = ", ".join(str(v.get("actor", v)) if isinstance(v, dict) else str(v)
                         for v in value)
        text = f"[{text}]"
    elif isinstance(value, str):
        text = repr(value)
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_left(uow: UnitOfWork, details: dict[str, Any], kind: str, key: str,
            names: tuple[str, ...]) -> dict[str, Any]:
    """These fields of an entity as the report leaves them: the recorded values, changed
    by the report's corrections of them (the last one of each counts). The checks of
    dates and coordinates read them, so a report may correct what its other facts would
    contradict."""
    left = {name: get_path(details, name) for name in names}
    for other in uow.report.facts:
        if other.type == "correction" and other.data["target"] == {kind: key} \
                and other.data["field"] in left:
            left[other.data["field"]] = other.data["value"]
    return left

