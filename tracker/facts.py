"""How each fact type of a report applies to the aggregates, within one unit of work.

Each function checks the references a fact makes (naming the fact index and field when one
is unknown), then calls the aggregate's command; the application saves every aggregate a
report touched in one atomic save.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from tracker.domain.actor import Actor
from tracker.domain.base import entity_id
from tracker.domain.incident import Incident
from tracker.domain.operation import Operation
from tracker.exceptions import FactError
from tracker.reports import Fact, Report

if TYPE_CHECKING:
    from tracker.application import ConflictTracker


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

    def check_existence(self, refs: list[tuple[str, str]]) -> None:
        """Asks the store once which of `refs` exist. Absent ones need no lookup later;
        present ones are only loaded if a fact changes them (`require` loads them),
        not when a fact merely refers to them (`require_known` does not)."""
        ids = [entity_id(k, key) for k, key in refs]
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
        agg_id = entity_id(kind, key)
        if agg_id not in self.loaded:
            try:
                self.loaded[agg_id] = self.app.repository.get(agg_id)
            except AggregateNotFoundError:
                self.loaded[agg_id] = None
        return self.loaded[agg_id]

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
        agg_id = entity_id(kind, key)
        if agg_id in self.loaded:
            if self.loaded[agg_id] is None:
                raise self._unknown(fact, fieldname, kind, key)
        elif agg_id not in self.present:
            self.require(fact, fieldname, kind, key)

    @staticmethod
    def _unknown(fact: Fact, fieldname: str, kind: str, key: str) -> FactError:
        return FactError(fact.index, fieldname, f"unknown {kind} '{key}': no report has "
                         f"registered it (register it in this report or an earlier one)")

    def require_person(self, fact: Fact, fieldname: str, key: str) -> Actor:
        person = self.require(fact, fieldname, "actor", key)
        if person.details["kind"] != "person":
            raise FactError(fact.index, fieldname,
                            f"actor '{key}' is a {person.details['kind']}, not a person")
        return person

    def add(self, kind: str, agg: Any) -> None:
        self.loaded[agg.id] = agg
        self.touched[agg.id] = (kind, agg.key)

    def prov(self, fact: Fact, kind: str, key: str) -> dict[str, Any]:
        extra = {"ref": fact.data["ref"]} if "ref" in fact.data else {}
        return {**self.provenance, "fact": fact.index, "subject": f"{kind}/{key}", **extra}


def _actor(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    details: dict[str, Any] = {
        k: d[k] for k in ("name", "kind", "aliases", "country", "title", "notes") if k in d}
    existing = uow.find("actor", d["id"])
    if existing is None:
        details.setdefault("aliases", [])
        uow.add("actor", Actor(key=d["id"], details=details,
                               provenance=uow.prov(fact, "actor", d["id"])))
        return
    if not existing.is_same_report_of(details):
        raise FactError(fact.index, "id", f"actor '{d['id']}' is already registered as "
                        f"{existing.name!r} ({existing.details['kind']}) with other details; "
                        "use a correction fact to change it")
    for alias in d.get("aliases", []):
        existing.add_alias(alias, uow.prov(fact, "actor", d["id"]))
    _touch(uow, "actor", existing)


def _touch(uow: UnitOfWork, kind: str, agg: Any) -> None:
    """Saves `agg` with the report, if the fact gave it something to record."""
    if agg.pending_events:
        uow.add(kind, agg)


def _alias(uow: UnitOfWork, fact: Fact) -> None:
    actor = uow.require(fact, "actor", "actor", fact.data["actor"])
    actor.add_alias(fact.data["alias"], uow.prov(fact, "actor", actor.key))
    _touch(uow, "actor", actor)


def _affiliation(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    actor = uow.require(fact, "actor", "actor", d["actor"])
    uow.require_known(fact, "parent", "actor", d["parent"])
    actor.record_affiliation(d["parent"], d["relation"], d.get("since"),
                             uow.prov(fact, "actor", actor.key))
    _touch(uow, "actor", actor)


def _sanction(uow: UnitOfWork, fact: Fact) -> None:
    actor = uow.require(fact, "actor", "actor", fact.data["actor"])
    actor.record_sanction(fact.data["authority"], fact.data.get("listed"),
                          uow.prov(fact, "actor", actor.key))
    _touch(uow, "actor", actor)


def _role(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    person = uow.require_person(fact, "person", d["person"])
    uow.require_known(fact, "group", "actor", d["group"])
    person.assume_role(d["group"], d["role"], d.get("since"), uow.prov(fact, "actor", person.key))
    _touch(uow, "actor", person)


def _role_ended(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    person = uow.require_person(fact, "person", d["person"])
    uow.require_known(fact, "group", "actor", d["group"])
    uow.require_known(fact, "incident", "incident", d.get("incident"))
    person.end_role(d["group"], d["role"], d["reason"], d.get("date"), d.get("incident"),
                    uow.prov(fact, "actor", person.key))
    _touch(uow, "actor", person)


def _fate(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    person = uow.require_person(fact, "person", d["person"])
    uow.require_known(fact, "incident", "incident", d.get("incident"))
    person.report_fate(fact.type, d["date"], d.get("incident"),
                       uow.prov(fact, "actor", person.key),
                       date_precision=d.get("date_precision", "day"))
    _touch(uow, "actor", person)


def _incident(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    details = {k: v for k, v in d.items() if k not in ("id", "ref")}
    details.setdefault("date_precision", "day")
    details.setdefault("actors", [])
    for i, a in enumerate(details["actors"]):
        uow.require_known(fact, f"actors.{i}.actor", "actor", a["actor"])
    uow.require_known(fact, "operation", "operation", d.get("operation"))
    _register(uow, fact, "incident", Incident, details, "a correction fact")


def _register(uow: UnitOfWork, fact: Fact, kind: str, create: Callable[..., Any],
              details: dict[str, Any], remedy: str) -> None:
    """Creates the entity a fact defines; the same details again record nothing, other
    details are refused (a change must be a correction, which keeps the old value)."""
    key = fact.data["id"]
    existing = uow.find(kind, key)
    if existing is None:
        uow.add(kind, create(key=key, details=details, provenance=uow.prov(fact, kind, key)))
    elif not existing.is_same_report_of(details):
        raise FactError(fact.index, "id", f"{kind} '{key}' is already recorded with other "
                        f"details; use {remedy} to change it")


def _casualties(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    incident = uow.require(fact, "incident", "incident", d["incident"])
    uow.require_known(fact, "actor", "actor", d.get("actor"))
    extra = {k: d[k] for k in ("wounded", "breakdown", "notes") if k in d}
    incident.report_casualties(
        source=uow.report.source["name"], actor=d.get("actor"), killed=d["killed"],
        low=d.get("low"), high=d.get("high"), extra=extra,
        provenance=uow.prov(fact, "incident", incident.key),
    )
    _touch(uow, "incident", incident)


def _materiel(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    incident = uow.require(fact, "incident", "incident", d["incident"])
    incident.report_materiel(d["action"], d["items"], uow.prov(fact, "incident", incident.key))
    _touch(uow, "incident", incident)


def _operation(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    uow.require_known(fact, "lead", "actor", d["lead"])
    for i, p in enumerate(d.get("partners", [])):
        uow.require_known(fact, f"partners.{i}", "actor", p)
    details = {k: v for k, v in d.items() if k not in ("id", "ref")}
    details.setdefault("partners", [])
    details.setdefault("status", "active")
    _register(uow, fact, "operation", Operation, details,
              "a correction or operation_status fact")


def _operation_status(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    op = uow.require(fact, "operation", "operation", d["operation"])
    op.change_status(d["status"], d.get("date"), uow.prov(fact, "operation", op.key))
    _touch(uow, "operation", op)


def _correction(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    kind, key = next(iter(d["target"].items()))
    agg = uow.require(fact, f"target.{kind}", kind, key)
    value = d["value"]
    refs = {("incident", "operation"): "operation", ("operation", "lead"): "actor"}
    if (kind, d["field"]) in refs:
        uow.require_known(fact, "value", refs[(kind, d["field"])], value)
    if d["field"] in ("actors", "partners"):
        for i, ref in enumerate(value):
            uow.require_known(fact, f"value.{i}", "actor",
                              ref["actor"] if isinstance(ref, dict) else ref)
    if kind == "actor" and d["field"].startswith("fate.") and agg.fate is None:
        raise FactError(fact.index, "field", f"actor '{key}' has no recorded death, capture "
                        "or release to correct")
    agg.correct(d["field"], value, d["reason"], uow.prov(fact, kind, key))
    _touch(uow, kind, agg)


def _retraction(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    kind, key = next(iter(d["target"].items()))
    agg = uow.require(fact, f"target.{kind}", kind, key)
    if kind != "report":
        agg.retract(d["reason"], uow.prov(fact, kind, key))
        _touch(uow, kind, agg)
        return
    withdrawn = [k for kind_, k in agg.entities if kind_ == "report"]
    if withdrawn:
        # Undoing a retraction would bring back claims withdrawn for a reason; the facts
        # are sent again, in a new report, instead.
        raise FactError(fact.index, "target.report", f"report '{key}' retracted report(s) "
                        f"{', '.join(withdrawn)}; a retraction cannot be retracted: send "
                        "the withdrawn facts again in a new report")
    agg.retract(d["reason"], uow.prov(fact, "report", key))
    _touch(uow, "report", agg)
    for ref_kind, ref_key in agg.entities:
        entity = uow.find(ref_kind, ref_key)
        entity.retract_report(key, d["reason"], uow.prov(fact, ref_kind, ref_key))
        _touch(uow, ref_kind, entity)


APPLY: dict[str, Callable[[UnitOfWork, Fact], None]] = {
    "actor": _actor, "alias": _alias, "affiliation": _affiliation, "sanction": _sanction,
    "role": _role, "role_ended": _role_ended, "death": _fate, "capture": _fate,
    "release": _fate, "incident": _incident, "casualties": _casualties,
    "materiel": _materiel, "operation": _operation, "operation_status": _operation_status,
    "correction": _correction, "retraction": _retraction,
}


def references(fact: Fact) -> list[tuple[str, str]]:
    """The entities a fact defines or names (for one existence query per report)."""
    d = fact.data
    refs = [(kind, d[name]) for name, kind in REFERENCE_FIELDS.get(fact.type, ())
            if isinstance(d.get(name), str)]
    if fact.type == "incident":
        refs += [("actor", a["actor"]) for a in d.get("actors", [])]
    elif fact.type == "operation":
        refs += [("actor", p) for p in d.get("partners", [])]
    elif fact.type in ("correction", "retraction"):
        refs += [(k, v) for k, v in d["target"].items() if k != "report"]
    return refs


REFERENCE_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "actor": (("id", "actor"),), "incident": (("id", "incident"), ("operation", "operation")),
    "operation": (("id", "operation"), ("lead", "actor")),
    "alias": (("actor", "actor"),), "affiliation": (("actor", "actor"), ("parent", "actor")),
    "sanction": (("actor", "actor"),), "role": (("person", "actor"), ("group", "actor")),
    "role_ended": (("person", "actor"), ("group", "actor"), ("incident", "incident")),
    "death": (("person", "actor"), ("incident", "incident")),
    "capture": (("person", "actor"), ("incident", "incident")),
    "release": (("person", "actor"), ("incident", "incident")),
    "casualties": (("incident", "incident"), ("actor", "actor")),
    "materiel": (("incident", "incident"),), "operation_status": (("operation", "operation"),),
}
