"""The application service: reports in, events out, one atomic save per report."""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from tracker.config import Settings, ensure_postgres_schema
from tracker.domain.actor import Actor
from tracker.domain.base import entity_id
from tracker.domain.incident import Incident
from tracker.domain.operation import Operation
from tracker.domain.report import Report as ReportAggregate
from tracker.domain.token import ROLES, Token, token_hash
from tracker.exceptions import (
    ConcurrentWriteError,
    EntityNotFoundError,
    FactError,
    ReportConflictError,
    ReportValidationError,
    TokenError,
)
from tracker.integrity import VerifyResult, verify_log
from tracker.reports import Fact, Report, parse_report
from tracker.transcodings import DateAsISO

if TYPE_CHECKING:
    from eventsourcing.domain import Aggregate, DomainEventProtocol
    from eventsourcing.persistence import JSONTranscoder, Notification

AGGREGATES: dict[str, type[Aggregate]] = {
    "actor": Actor, "incident": Incident, "operation": Operation, "report": ReportAggregate,
}
# Tokens are event-sourced too, but not entities of the conflict: no history or lookup.
KIND_OF_TOPIC = {
    "tracker.domain.actor": "actor", "tracker.domain.incident": "incident",
    "tracker.domain.operation": "operation", "tracker.domain.report": "report",
    "tracker.domain.token": "token",
}
MAX_ATTEMPTS = 8
# Facts that create an entity, and its kind.
KIND_OF_FACT = {"actor": "actor", "incident": "incident", "operation": "operation"}


@dataclass(frozen=True)
class RecordResult:
    """What recording a report did: new events and their log positions, or nothing."""

    report: str
    recorded: bool
    positions: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"report": self.report, "recorded": self.recorded,
                "events": len(self.positions), "positions": self.positions}


class _UnitOfWork:
    """The aggregates one report touches, loaded once, saved together or not at all."""

    def __init__(self, app: ConflictTracker, report: Report, provenance: dict[str, Any]):
        self.app = app
        self.report = report
        self.provenance = provenance
        self.loaded: dict[UUID, Any] = {}
        self.touched: dict[UUID, tuple[str, str]] = {}
        self.errors: list[FactError] = []

    def known_absent(self, refs: list[tuple[str, str]]) -> None:
        """Marks the entities among `refs` that have no events yet, in one query, so
        that `find` does not ask the store for each of them."""
        ids = [entity_id(k, key) for k, key in refs]
        ids = [i for i in dict.fromkeys(ids) if i not in self.loaded]
        existing = self.app.existing(ids)
        for i in ids:
            if existing is not None and i not in existing:
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
            raise FactError(fact.index, fieldname, f"unknown {kind} '{key}': no report has "
                            f"registered it (register it in this report or an earlier one)")
        return agg

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


class ConflictTracker(Application[UUID]):
    """Records fact reports as events and answers audit questions about the log."""

    name = "ConflictTracker"

    @classmethod
    def from_settings(cls, settings: Settings) -> ConflictTracker:
        """The tracker on the event store the settings name (tables created if missing)."""
        if settings.is_postgres:
            ensure_postgres_schema(settings.database_url)
        return cls(env=settings.eventsourcing_env())

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # -- commands -------------------------------------------------------------------------

    def record_report(self, data: Any, recorded_by: str = "anonymous") -> RecordResult:
        """Validates a whole report, then records all its events in one save, or nothing.

        :raise ReportValidationError: a fact is invalid (index and field named).
        :raise ReportConflictError: the report id was recorded with other content.
        """
        report = parse_report(data)
        for attempt in range(MAX_ATTEMPTS):
            try:
                return self._record_once(report, recorded_by)
            except IntegrityError:
                # Another writer saved one of the same aggregates first: load again and
                # re-decide against what it recorded.
                time.sleep(random.uniform(0, 0.02 * 2 ** attempt))
        raise ConcurrentWriteError(
            f"report '{report.key}' collided with concurrent writers {MAX_ATTEMPTS} times; "
            "nothing was recorded, send it again"
        )

    def _record_once(self, report: Report, recorded_by: str) -> RecordResult:
        existing = self._find(ReportAggregate, "report", report.key)
        if existing is not None:
            if existing.content_hash == report.content_hash:
                return RecordResult(report.key, recorded=False)
            raise ReportConflictError(report.key)
        provenance = {
            "report": report.key,
            "source": report.source,
            "recorded_by": recorded_by,
            "recorded_at": datetime.now(UTC).isoformat(),
        }
        uow = _UnitOfWork(self, report, provenance)
        uow.known_absent([(KIND_OF_FACT[f.type], f.data["id"]) for f in report.facts
                          if f.type in KIND_OF_FACT])
        for fact in report.facts_in_apply_order():
            try:
                APPLY[fact.type](uow, fact)
            except FactError as e:
                uow.errors.append(e)
        if uow.errors:
            uow.errors.sort(key=lambda e: (e.index if e.index is not None else -1))
            raise ReportValidationError(uow.errors)
        record = ReportAggregate(
            key=report.key, source=report.source, content_hash=report.content_hash,
            fact_count=len(report.facts),
            entities=[list(ref) for ref in uow.touched.values()],
            provenance={**provenance, "subject": f"report/{report.key}"},
        )
        recordings = self.save(record, *(uow.loaded[i] for i in uow.touched))
        return RecordResult(report.key, recorded=True,
                            positions=[r.notification.id for r in recordings])

    # -- access tokens ------------------------------------------------------------------

    def issue_token(self, name: str, role: str, issued_by: str = "cli") -> str:
        """Creates a token and returns its secret (shown once; only a hash is stored)."""
        from tracker.reports import ID_PATTERN

        if role not in ROLES:
            raise TokenError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
        if not ID_PATTERN.match(name) or "." in name:
            raise TokenError(f"token name {name!r} must be an id without dots")
        if self._find(Token, "token", name) is not None:
            raise TokenError(f"a token named {name!r} already exists (revoke it, or pick "
                             "another name)")
        secret = f"{name}.{secrets.token_urlsafe(32)}"
        self.save(Token(key=name, role=role, secret_hash=token_hash(secret),
                        provenance=self._admin_provenance(issued_by, "token", name)))
        return secret

    def revoke_token(self, name: str, reason: str = "revoked", revoked_by: str = "cli") -> None:
        """Revokes a token by name; later requests with it are refused."""
        token = self._find(Token, "token", name)
        if token is None:
            raise EntityNotFoundError("token", name)
        token.revoke(reason, self._admin_provenance(revoked_by, "token", name))
        self.save(token)

    def list_tokens(self) -> list[dict[str, Any]]:
        """Every token ever issued (name, role, revoked), never the secrets."""
        out = []
        for _, event in self.iter_events():
            if type(event).__name__ == "TokenIssued":
                token = self._find(Token, "token", event.key)
                out.append({"name": token.key, "role": token.role, "revoked": token.revoked,
                            "issued": event.provenance.get("recorded_at")})
        return out

    def authenticate(self, secret: str) -> Token | None:
        """The live token a secret belongs to, or None."""
        name = secret.rpartition(".")[0]
        if not name:
            return None
        token = self._find(Token, "token", name)
        if token is None or token.revoked is not None or not token.matches(secret):
            return None
        return token

    @staticmethod
    def _admin_provenance(by: str, kind: str, key: str) -> dict[str, Any]:
        return {"report": None, "source": {"name": "tracker administration", "kind": "other"},
                "recorded_by": by, "recorded_at": datetime.now(UTC).isoformat(),
                "subject": f"{kind}/{key}"}

    def existing(self, ids: list[UUID]) -> set[UUID] | None:
        """Which aggregates exist, in one query when the recorder can (else None)."""
        check = getattr(self.recorder, "existing", None)
        return check(ids) if check is not None and ids else None

    def _find(self, cls: type, kind: str, key: str) -> Any:
        try:
            return self.repository.get(entity_id(kind, key))
        except AggregateNotFoundError:
            return None

    # -- queries --------------------------------------------------------------------------

    def get_entity(self, kind: str, key: str, as_of: datetime | None = None) -> Any:
        """The state of one entity, now or as it stood at knowledge time `as_of`."""
        if kind not in AGGREGATES:
            raise EntityNotFoundError(kind, key)
        agg = self._find(AGGREGATES[kind], kind, key)
        if agg is not None and as_of is not None:
            known = [e.originator_version for e in self.events.get(agg.id)
                     if _recorded_at(e) <= as_of]
            agg = self.repository.get(agg.id, version=known[-1]) if known else None
        if agg is None:
            raise EntityNotFoundError(kind, key)
        state = {k: v for k, v in vars(agg).items() if not k.startswith("_")}
        state.pop("retracted_reports", None)
        state.pop("secret_hash", None)
        return {"kind": kind, "id": key, "version": agg.version, **state}

    def get_history(self, kind: str, key: str) -> list[dict[str, Any]]:
        """Every event of one entity in order, with provenance (corrections: before/after)."""
        if kind not in AGGREGATES:
            raise EntityNotFoundError(kind, key)
        events = list(self.events.get(entity_id(kind, key)))
        if not events:
            raise EntityNotFoundError(kind, key)
        positions = self._positions_of(events)
        return [describe_event(e, positions.get(e.originator_version)) for e in events]

    def _positions_of(self, events: list[DomainEventProtocol[UUID]]) -> dict[int, int]:
        """Log positions of one aggregate's events (the event store does not return them)."""
        finder = getattr(self.recorder, "positions_of", None)
        return finder(events[0].originator_id) if finder else {}

    def list_events(self, after: int = 0, limit: int = 100) -> dict[str, Any]:
        """A page of the whole log in order: {"events": [...], "next": position or None}."""
        limit = max(1, min(limit, 10_000))
        after = max(0, min(after, 2**63 - 1))
        notifications = self.recorder.select_notifications(
            after, limit, inclusive_of_start=False
        )
        events = [describe_notification(self, n) for n in notifications]
        nxt = notifications[-1].id if len(notifications) == limit else None
        return {"events": events, "next": nxt}

    def iter_events(self, after: int = 0, page: int = 1000) -> Any:
        """Decoded events with their positions, from `after`, streaming."""
        while True:
            batch = self.recorder.select_notifications(after, page, inclusive_of_start=False)
            for n in batch:
                yield n.id, self.mapper.to_domain_event(n)
            if len(batch) < page:
                return
            after = batch[-1].id

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def verify(self) -> VerifyResult:
        """Checks the stored log against its hash chain."""
        return verify_log(self.recorder)


# -- how each fact type applies to the aggregates -------------------------------------------


def _actor(uow: _UnitOfWork, fact: Fact) -> None:
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


def _touch(uow: _UnitOfWork, kind: str, agg: Any) -> None:
    """Saves `agg` with the report, if the fact gave it something to record."""
    if agg.pending_events:
        uow.add(kind, agg)


def _alias(uow: _UnitOfWork, fact: Fact) -> None:
    actor = uow.require(fact, "actor", "actor", fact.data["actor"])
    actor.add_alias(fact.data["alias"], uow.prov(fact, "actor", actor.key))
    _touch(uow, "actor", actor)


def _affiliation(uow: _UnitOfWork, fact: Fact) -> None:
    d = fact.data
    actor = uow.require(fact, "actor", "actor", d["actor"])
    uow.require(fact, "parent", "actor", d["parent"])
    actor.record_affiliation(d["parent"], d["relation"], d.get("since"),
                             uow.prov(fact, "actor", actor.key))
    _touch(uow, "actor", actor)


def _sanction(uow: _UnitOfWork, fact: Fact) -> None:
    actor = uow.require(fact, "actor", "actor", fact.data["actor"])
    actor.record_sanction(fact.data["authority"], fact.data.get("listed"),
                          uow.prov(fact, "actor", actor.key))
    _touch(uow, "actor", actor)


def _role(uow: _UnitOfWork, fact: Fact) -> None:
    d = fact.data
    person = uow.require_person(fact, "person", d["person"])
    uow.require(fact, "group", "actor", d["group"])
    person.assume_role(d["group"], d["role"], d.get("since"), uow.prov(fact, "actor", person.key))
    _touch(uow, "actor", person)


def _role_ended(uow: _UnitOfWork, fact: Fact) -> None:
    d = fact.data
    person = uow.require_person(fact, "person", d["person"])
    uow.require(fact, "group", "actor", d["group"])
    uow.require(fact, "incident", "incident", d.get("incident"))
    person.end_role(d["group"], d["role"], d["reason"], d.get("date"), d.get("incident"),
                    uow.prov(fact, "actor", person.key))
    _touch(uow, "actor", person)


def _fate(uow: _UnitOfWork, fact: Fact) -> None:
    d = fact.data
    person = uow.require_person(fact, "person", d["person"])
    uow.require(fact, "incident", "incident", d.get("incident"))
    person.report_fate(fact.type, d["date"], d.get("incident"),
                       uow.prov(fact, "actor", person.key),
                       date_precision=d.get("date_precision", "day"))
    _touch(uow, "actor", person)


def _incident(uow: _UnitOfWork, fact: Fact) -> None:
    d = fact.data
    details = {k: v for k, v in d.items() if k not in ("id", "ref")}
    details.setdefault("date_precision", "day")
    details.setdefault("actors", [])
    for i, a in enumerate(details["actors"]):
        uow.require(fact, f"actors.{i}.actor", "actor", a["actor"])
    uow.require(fact, "operation", "operation", d.get("operation"))
    existing = uow.find("incident", d["id"])
    if existing is None:
        uow.add("incident", Incident(key=d["id"], details=details,
                                     provenance=uow.prov(fact, "incident", d["id"])))
    elif not existing.is_same_report_of(details):
        raise FactError(fact.index, "id", f"incident '{d['id']}' is already recorded with "
                        "other details; use a correction fact to change it")


def _casualties(uow: _UnitOfWork, fact: Fact) -> None:
    d = fact.data
    incident = uow.require(fact, "incident", "incident", d["incident"])
    uow.require(fact, "actor", "actor", d.get("actor"))
    extra = {k: d[k] for k in ("wounded", "breakdown", "notes") if k in d}
    incident.report_casualties(
        source=uow.report.source["name"], actor=d.get("actor"), killed=d["killed"],
        low=d.get("low"), high=d.get("high"), extra=extra,
        provenance=uow.prov(fact, "incident", incident.key),
    )
    _touch(uow, "incident", incident)


def _materiel(uow: _UnitOfWork, fact: Fact) -> None:
    d = fact.data
    incident = uow.require(fact, "incident", "incident", d["incident"])
    incident.report_materiel(d["action"], d["items"], uow.prov(fact, "incident", incident.key))
    _touch(uow, "incident", incident)


def _operation(uow: _UnitOfWork, fact: Fact) -> None:
    d = fact.data
    uow.require(fact, "lead", "actor", d["lead"])
    for i, p in enumerate(d.get("partners", [])):
        uow.require(fact, f"partners.{i}", "actor", p)
    details = {k: v for k, v in d.items() if k not in ("id", "ref")}
    details.setdefault("partners", [])
    details.setdefault("status", "active")
    existing = uow.find("operation", d["id"])
    if existing is None:
        uow.add("operation", Operation(key=d["id"], details=details,
                                       provenance=uow.prov(fact, "operation", d["id"])))
    elif not existing.is_same_report_of(details):
        raise FactError(fact.index, "id", f"operation '{d['id']}' is already recorded with "
                        "other details; use a correction or operation_status fact")


def _operation_status(uow: _UnitOfWork, fact: Fact) -> None:
    d = fact.data
    op = uow.require(fact, "operation", "operation", d["operation"])
    op.change_status(d["status"], d.get("date"), uow.prov(fact, "operation", op.key))
    _touch(uow, "operation", op)


def _correction(uow: _UnitOfWork, fact: Fact) -> None:
    d = fact.data
    kind, key = next(iter(d["target"].items()))
    agg = uow.require(fact, f"target.{kind}", kind, key)
    value = d["value"]
    refs = {("incident", "operation"): "operation", ("operation", "lead"): "actor"}
    if (kind, d["field"]) in refs:
        uow.require(fact, "value", refs[(kind, d["field"])], value)
    if d["field"] in ("actors", "partners"):
        for i, ref in enumerate(value):
            uow.require(fact, f"value.{i}", "actor", ref["actor"] if isinstance(ref, dict) else ref)
    if kind == "actor" and d["field"].startswith("fate.") and agg.fate is None:
        raise FactError(fact.index, "field", f"actor '{key}' has no recorded death, capture "
                        "or release to correct")
    agg.correct(d["field"], value, d["reason"], uow.prov(fact, kind, key))
    _touch(uow, kind, agg)


def _retraction(uow: _UnitOfWork, fact: Fact) -> None:
    d = fact.data
    kind, key = next(iter(d["target"].items()))
    agg = uow.require(fact, f"target.{kind}", kind, key)
    if kind != "report":
        agg.retract(d["reason"], uow.prov(fact, kind, key))
        _touch(uow, kind, agg)
        return
    agg.retract(d["reason"], uow.prov(fact, "report", key))
    _touch(uow, "report", agg)
    for ref_kind, ref_key in agg.entities:
        entity = uow.find(ref_kind, ref_key)
        entity.retract_report(key, d["reason"], uow.prov(fact, ref_kind, ref_key))
        _touch(uow, ref_kind, entity)


APPLY: dict[str, Callable[[_UnitOfWork, Fact], None]] = {
    "actor": _actor, "alias": _alias, "affiliation": _affiliation, "sanction": _sanction,
    "role": _role, "role_ended": _role_ended, "death": _fate, "capture": _fate,
    "release": _fate, "incident": _incident, "casualties": _casualties,
    "materiel": _materiel, "operation": _operation, "operation_status": _operation_status,
    "correction": _correction, "retraction": _retraction,
}


# -- describing events for the log, history and audits ---------------------------------------


def _recorded_at(event: Any) -> datetime:
    """Knowledge time of an event: when its report was recorded."""
    recorded = (getattr(event, "provenance", None) or {}).get("recorded_at")
    return datetime.fromisoformat(recorded) if recorded else event.timestamp  # type: ignore


def to_jsonable(value: Any) -> Any:
    """Dates, datetimes, UUIDs and sets as JSON-friendly values."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    return value


def describe_event(event: Any, position: int | None) -> dict[str, Any]:
    """One event as the log, history and API show it."""
    state = dict(vars(event))
    provenance = state.pop("provenance", {}) or {}
    topic_module = type(event).__module__
    kind = KIND_OF_TOPIC.get(topic_module, "unknown")
    subject = str(provenance.get("subject", ""))
    payload = {k: v for k, v in state.items()
               if k not in ("originator_id", "originator_version", "timestamp",
                            "originator_topic", "secret_hash")}
    return to_jsonable({
        "position": position,
        "type": type(event).__name__,
        "entity": {"kind": kind, "id": subject.partition("/")[2] or None,
                   "aggregate_id": event.originator_id, "version": event.originator_version},
        "recorded": provenance.get("recorded_at") or event.timestamp,
        "provenance": provenance,
        "payload": payload,
    })


def describe_notification(app: ConflictTracker, n: Notification) -> dict[str, Any]:
    return describe_event(app.mapper.to_domain_event(n), n.id)
