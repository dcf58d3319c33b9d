"""The application service: reports in, events out, one atomic save per report."""

from __future__ import annotations

import gc
import heapq
import random
import secrets
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, MapperDeserialisationError
from eventsourcing.utils import get_topic

from tracker.adapters import save_aggregates
from tracker.audit import (
    MAX_EVENTS_PAGE,
    MAX_POSITION,
    describe_event,
    describe_notification,
    recorded_at,
)
from tracker.config import Settings, postgres_setup_lock
from tracker.domain.actor import Actor
from tracker.domain.base import entity_id
from tracker.domain.incident import Incident
from tracker.domain.link import Link, pair_key
from tracker.domain.operation import Operation
from tracker.domain.quarantine import LOG_KEY, Quarantine
from tracker.domain.report import Report as ReportAggregate
from tracker.domain.token import ROLES, Token, token_hash
from tracker.exceptions import (
    ConcurrentWriteError,
    EntityNotFoundError,
    EventUnreadableError,
    FactError,
    QuarantineError,
    ReportConflictError,
    ReportValidationError,
    TokenError,
)
from tracker.facts import UnitOfWork, references
from tracker.integrity import VerifyResult, verify_log
from tracker.names import ActorNames
from tracker.reports import Report, check_report
from tracker.transcodings import DateAsISO
from tracker.wording import word_for

if TYPE_CHECKING:
    from eventsourcing.domain import Aggregate, DomainEventProtocol
    from eventsourcing.persistence import JSONTranscoder, Recording

AGGREGATES: dict[str, type[Aggregate]] = {
    "actor": Actor, "incident": Incident, "operation": Operation, "report": ReportAggregate,
    "link": Link,
}
# Tokens are event-sourced too, but not entities of the conflict: no history or lookup.
# How many times a report is re-decided after colliding with concurrent writers.
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class RecordResult:
    """What recording a report did: new events and their log positions, or nothing."""

    report: str
    recorded: bool
    positions: list[int] = field(default_factory=list)
    # Set when the report was recorded but something after it failed (the views' fold).
    warning: str | None = None
    # Set when the report, sent again, had been recorded and since retracted: its facts
    # do not count, and sending it again does not bring them back.
    retracted: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"report": self.report, "recorded": self.recorded,
                                "events": len(self.positions), "positions": self.positions}
        if self.warning:
            body["warning"] = self.warning
        if self.retracted:
            body["retracted"] = self.retracted
        return body


@contextmanager
def collector_paused() -> Iterator[None]:
    """Deciding and saving a report allocates many short-lived objects (an accepted file of
    30,000 links: millions) and makes no reference cycles worth collecting meanwhile; the
    collector's passes over them cost about a tenth of it. It runs again afterwards (as
    around a batch of the views' fold, projections.runner)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class ConflictTracker(Application[UUID]):
    """Records fact reports as events and answers audit questions about the log."""

    name = "ConflictTracker"

    @classmethod
    def from_settings(cls, settings: Settings, transcoder: str | None = None) -> ConflictTracker:
        """The tracker on the event store the settings name (tables created if missing).
        `transcoder`: the topic of a JSONTranscoder subclass writing the same format
        (the composition root passes a faster one); the library's by default."""
        env = settings.eventsourcing_env()
        if transcoder:
            env["TRANSCODER_TOPIC"] = transcoder
        if settings.is_postgres:
            with postgres_setup_lock(settings.database_url):
                return cls(env=env)
        return cls(env=env)

    def save(self, *aggregates: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """Application.save for aggregates only (tracker.adapters.save_aggregates says
        why and what it gains)."""
        return save_aggregates(self, aggregates, kwargs)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # -- commands -------------------------------------------------------------------------

    def record_report(self, data: Any, recorded_by: str = "anonymous") -> RecordResult:
        """Validates a whole report, then records all its events in one save, or nothing.

        :raise ReportValidationError: a fact is invalid (index and field named).
        :raise ReportConflictError: the report id was recorded with other content.
        """
        report, errors = check_report(data)
        if report is None:
            raise ReportValidationError(errors)
        for attempt in range(MAX_ATTEMPTS):
            try:
                with collector_paused():
                    return self._record_once(report, recorded_by, errors)
            except ReportValidationError:
                # Another writer may have recorded this very report (and the next ones)
                # since it was looked for: its facts then contradict what they became
                # (an incident it registers, corrected since). That is "nothing new".
                same = None if errors else self._find(ReportAggregate, "report", report.key)
                if same is not None and same.content_hash == report.content_hash:
                    return RecordResult(report.key, recorded=False,
                                        retracted=self._retraction_of(same))
                raise
            except IntegrityError:
                # Another writer saved one of the same aggregates first: load again and
                # re-decide against what it recorded.
                time.sleep(random.uniform(0, 0.02 * 2 ** attempt))
        raise ConcurrentWriteError(
            f"report '{report.key}' collided with concurrent writers {MAX_ATTEMPTS} times; "
            "nothing was recorded, send it again"
        )

    def _record_once(self, report: Report, recorded_by: str,
                     format_errors: Sequence[FactError] = ()) -> RecordResult:
        """Decides the report against what is recorded and saves it. With `format_errors`
        (facts the format refused) the facts that passed are still checked, so that the
        refusal lists every problem at once; nothing is saved."""
        existing = None if format_errors else self._find(ReportAggregate, "report",
                                                         report.key)
        if existing is not None:
            if existing.content_hash == report.content_hash:
                return RecordResult(report.key, recorded=False,
                                    retracted=self._retraction_of(existing))
            raise ReportConflictError(report.key)
        provenance = {
            "report": report.key,
            "source": report.source,
            "recorded_by": recorded_by,
            "recorded_at": datetime.now(UTC).isoformat(),
        }
        uow = UnitOfWork(self, report, provenance)
        uow.errors.extend(format_errors)
        uow.check_existence([ref for f in report.facts for ref in references(f)])
        for fact in report.facts_in_apply_order():
            uow.apply(fact)
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

    @cached_property
    def actor_names(self) -> ActorNames:
        """Every id, name and alias actors have carried (tracker.names), for the checks
        of aliases and the refusals that name an actor by one."""
        return ActorNames()

    def _retraction_of(self, report: ReportAggregate) -> dict[str, Any] | None:
        """{by, reason} of the report that retracted this one, or None while it is live."""
        if report.retracted is None:
            return None
        by = None
        for e in self.events.get(report.id):
            if type(e).__name__ == "ReportRetracted":
                by = e.provenance.get("report")  # type: ignore[attr-defined]
        return {"by": by, "reason": report.retracted}

    # -- access tokens ------------------------------------------------------------------

    def issue_token(self, name: str, role: str, issued_by: str = "cli") -> str:
        """Creates a token and returns its secret (shown once; only a hash is stored)."""
        from tracker.fields import ID_PATTERN

        if role not in ROLES:
            raise TokenError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
        if not ID_PATTERN.match(name) or "." in name:
            raise TokenError(f"token name {name!r} must be an id without dots")
        existing = self._find(Token, "token", name)
        if existing is not None and existing.revoked is None:
            raise TokenError(f"a token named {name!r} already exists and is active (revoke "
                             "it first, or pick another name)")
        secret = f"{name}.{secrets.token_urlsafe(32)}"
        provenance = self._admin_provenance(issued_by, "token", name)
        if existing is None:
            self.save(Token(key=name, role=role, secret_hash=token_hash(secret),
                            provenance=provenance))
        else:  # a revoked name, reused: one more event on it, the old secret stays refused
            existing.reissue(role, token_hash(secret), provenance)
            self.save(existing)
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
        out: dict[str, dict[str, Any]] = {}
        names: dict[Any, str] = {}  # aggregate id -> name (a reissue carries no name)
        topics = [get_topic(Token.TokenIssued),  # type: ignore[attr-defined]
                  get_topic(Token.TokenReissued)]  # type: ignore[attr-defined]
        for _, event in self.iter_events(topics=topics):
            name = names.setdefault(event.originator_id, getattr(event, "key", ""))
            token = self._find(Token, "token", name)
            out[name] = {"name": token.key, "role": token.role, "revoked": token.revoked,
                         "issued": event.provenance.get("recorded_at")}
        return list(out.values())

    def authenticate(self, secret: str) -> Token | None:
        """The live token a secret belongs to, or None."""
        name = secret.rpartition(".")[0]
        if not name:
            return None
        token = self._find(Token, "token", name)
        if token is None or token.revoked is not None or not token.matches(secret):
            return None
        return token

    # -- quarantine -------------------------------------------------------------------------

    def quarantine(self, positions: list[int], reason: str, by: str = "cli") -> list[int]:
        """Sets the events at these log positions aside: the views stop folding them (an
        administrator's way out of an event that cannot be folded; see docs). Returns the
        positions newly set aside. The events stay in the log."""
        head = self.max_position()
        bad = [p for p in positions if not 1 <= p <= head]
        if bad:
            raise QuarantineError(f"{word_for(len(bad), 'position')} "
                                  f"{', '.join(map(str, bad))} "
                                  f"{word_for(len(bad), 'is', 'are')} not in the log "
                                  f"(1..{head})")
        if not reason.strip():
            raise QuarantineError("say why the events are set aside (--reason)")
        q = self._find(Quarantine, "quarantine", LOG_KEY) or Quarantine(key=LOG_KEY)
        before = set(q.positions)
        q.set_aside(positions, reason.strip(),
                    self._admin_provenance(by, "quarantine", LOG_KEY))
        self.save(q)
        return sorted(set(q.positions) - before)

    def quarantined(self) -> dict[int, str]:
        """{log position: reason} of every event set aside."""
        q = self._find(Quarantine, "quarantine", LOG_KEY)
        return dict(q.positions) if q is not None else {}

    @staticmethod
    def _admin_provenance(by: str, kind: str, key: str) -> dict[str, Any]:
        return {"report": None, "source": {"name": "tracker administration", "kind": "other"},
                "recorded_by": by, "recorded_at": datetime.now(UTC).isoformat(),
                "subject": f"{kind}/{key}"}

    def existing(self, ids: list[UUID]) -> set[UUID] | None:
        """Which aggregates exist, in one query when the recorder can (else None)."""
        check = getattr(self.recorder, "existing", None)
        return check(ids) if check is not None and ids else None

    def select_stored(self, after: int, limit: int, stop: int | None = None) -> Sequence[Any]:
        """The stored events after position `after` (up to `stop`), at most `limit`, for
        the views: the chained recorders' plain rows (tracker.integrity), else the library's
        notifications."""
        read = getattr(self.recorder, "select_stored", None)
        if read is not None:
            return read(after, limit, stop)  # type: ignore[no-any-return]
        return self.recorder.select_notifications(after, limit, stop=stop,
                                                  inclusive_of_start=False)

    def actor_events(self, after: int, limit: int) -> Sequence[Any]:
        """The actors' stored events after position `after`, at most `limit`, in log order
        (the library's notifications), read through the chained recorders' own index of
        them (tracker.integrity), not the whole log."""
        return self.recorder.select_actor_events(after, limit)  # type: ignore[attr-defined,no-any-return]

    def import_fingerprints(self, keys: list[str]) -> dict[str, str]:
        """The fingerprint each of these dataset incidents was last imported with (a cache
        beside the events, see tracker.integrity; empty where the recorder keeps none)."""
        read = getattr(self.recorder, "fingerprints", None)
        return read(keys) if read is not None and keys else {}

    def remember_import_fingerprints(self, pairs: list[tuple[str, str]]) -> None:
        write = getattr(self.recorder, "save_fingerprints", None)
        if write is not None and pairs:
            write(pairs)

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
                     if recorded_at(e) <= as_of]
            agg = self.repository.get(agg.id, version=known[-1]) if known else None
        if agg is None:
            raise EntityNotFoundError(kind, key)
        state = {k: v for k, v in vars(agg).items() if not k.startswith("_")}
        state.pop("retracted_reports", None)
        state.pop("secret_hash", None)
        return {"kind": kind, "id": key, "version": agg.version, **state}

    def get_history(self, kind: str, key: str, as_of: datetime | None = None
                    ) -> list[dict[str, Any]]:
        """Every event of one entity in order, with provenance (corrections: before/after);
        with `as_of`, only the events recorded by then."""
        return self.history_page(kind, key, as_of)[0]

    def history_page(self, kind: str, key: str, as_of: datetime | None = None,
                     after: int = 0, limit: int | None = None
                     ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of an entity's history (`get_history`): its events after log position
        `after`, at most `limit` (None: all), and the position to pass as `after` for the
        next page (None: there is no more). A report's history is read lazily from its
        place in the log, so a page costs the page, not the report (a link report of
        30,000 pairs has over 60,000 events)."""
        if kind not in AGGREGATES:
            raise EntityNotFoundError(kind, key)
        if kind == "link" and "|" in key:  # a pair, its two records in either order
            of, _, pair = key.partition(":")
            key = pair_key(of, *pair.split("|", 1))
        events = self._events_of(entity_id(kind, key))
        if as_of is not None:
            events = [e for e in events if recorded_at(e) <= as_of]
        if not events:
            raise EntityNotFoundError(kind, key)
        positions = self._positions_of(events)
        described = [describe_event(e, positions.get(e.originator_version)) for e in events]
        stream = (self._with_what_it_did(key, described, after) if kind == "report"
                  else iter(described))
        page: list[dict[str, Any]] = []
        for event in stream:
            if event["position"] is not None and event["position"] <= after:
                continue
            if limit is not None and len(page) == limit:
                return page, page[-1]["position"]
            page.append(event)
        return page, None

    def _with_what_it_did(self, key: str, own: list[dict[str, Any]], after: int = 0
                          ) -> Iterator[dict[str, Any]]:
        """A report's history: its own events (recorded, retracted), every event it
        recorded on other records (incidents, actors, operations, links), and, once
        retracted, the events that withdrew its facts from them; in log order, from
        position `after` on.

        A report's events are saved at once, its ReportRecorded first, so they are the
        positions just after that one (the event store gives one save consecutive
        positions); they end at the first event another report or the administration
        recorded. So is the retraction's report's. Each is read from there (or from
        `after`, when that is further), as the reader takes them: the cost is what is
        read, never the log."""
        placed = sorted((e for e in own if e["position"] is not None),
                        key=lambda e: e["position"])
        streams: list[Iterable[dict[str, Any]]] = [placed]
        for event in placed:
            if event["type"] == "ReportRecorded":
                streams.append(self._saved_with(key, max(event["position"], after)))
            elif event["type"] == "ReportRetracted":
                by = event["provenance"].get("report")
                started = self._positions_of_report(by) if by else None
                if started is None:
                    continue
                streams.append(e for e in self._saved_with(by, max(started, after))
                               if e["payload"].get("report") == key
                               and e["entity"]["kind"] != "report")
        seen: set[int] = set()
        for e in heapq.merge(*streams, key=lambda e: e["position"]):
            if e["position"] not in seen:
                seen.add(e["position"])
                yield e
        yield from (e for e in own if e["position"] is None)

    def _positions_of_report(self, key: str) -> int | None:
        """The log position of a report's ReportRecorded (None: not found)."""
        finder = getattr(self.recorder, "positions_of", None)
        return finder(entity_id("report", key)).get(1) if finder else None

    def _saved_with(self, report: str, start: int) -> Iterator[dict[str, Any]]:
        """The events saved with the ReportRecorded of `report` at position `start`: those
        after it whose provenance names that report, up to the first that does not."""
        after, page = start, 64
        while True:
            batch = self.recorder.select_notifications(after, page, inclusive_of_start=False)
            for n in batch:
                try:
                    event = describe_notification(self, n)
                except MapperDeserialisationError as e:
                    raise EventUnreadableError(n.id, n.topic, str(e.__cause__ or e)) from e
                if event["provenance"].get("report") != report:
                    return
                yield event
            if len(batch) < page:
                return
            after, page = batch[-1].id, min(page * 4, MAX_EVENTS_PAGE)

    def _events_of(self, originator_id: UUID) -> list[Any]:
        """One aggregate's events; a damaged one is named by its log position."""
        try:
            return list(self.events.get(originator_id))
        except MapperDeserialisationError:
            finder = getattr(self.recorder, "positions_of", None)
            positions = finder(originator_id) if finder else {}
            for stored in self.recorder.select_events(originator_id):
                try:
                    self.mapper.to_domain_event(stored)
                except MapperDeserialisationError as e:
                    raise EventUnreadableError(positions.get(stored.originator_version),
                                               stored.topic, str(e.__cause__ or e)) from e
            raise

    def _positions_of(self, events: list[DomainEventProtocol[UUID]]) -> dict[int, int]:
        """Log positions of one aggregate's events (the event store does not return them)."""
        finder = getattr(self.recorder, "positions_of", None)
        return finder(events[0].originator_id) if finder else {}

    def list_events(self, after: int = 0, limit: int = 100) -> dict[str, Any]:
        """A page of the whole log in order: {"events": [...], "next": position or None}."""
        limit = max(1, min(limit, MAX_EVENTS_PAGE))
        after = max(0, min(after, MAX_POSITION))
        notifications = self.recorder.select_notifications(
            after, limit, inclusive_of_start=False
        )
        events = []
        for n in notifications:
            try:
                events.append(describe_notification(self, n))
            except MapperDeserialisationError as e:
                raise EventUnreadableError(n.id, n.topic, str(e.__cause__ or e)) from e
        nxt = notifications[-1].id if len(notifications) == limit else None
        return {"events": events, "next": nxt}

    def iter_events(self, after: int = 0, page: int = 1000,
                    topics: list[str] | None = None) -> Any:
        """Decoded events with their positions, from `after`, streaming (only events of
        `topics`, when given: the store filters them)."""
        while True:
            batch = self.recorder.select_notifications(after, page, topics=topics or (),
                                                       inclusive_of_start=False)
            for n in batch:
                yield n.id, self.mapper.to_domain_event(n)
            if len(batch) < page:
                return
            after = batch[-1].id

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def verify(self, set_aside: Collection[int] = ()) -> VerifyResult:
        """Checks the stored log against its hash chain (`set_aside`: positions whose
        failure is passed over, see verify_log)."""
        return verify_log(self.recorder, set_aside=set_aside)
