"""Runs projections over the log: catch up, follow, rebuild blue/green, verify aside,
and replay into a throw-away store for time travel.

One loop serves all of them: read ~1,000 notifications, decode only those some projection
handles, fold them into per-projection batches, then commit every batch's documents and
positions in one atomic step of the view store. A replayed batch is refused by the
position check, so each event lands in each view exactly once.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from projections.base import Projection, remember_doc_id, topic_class_name
from projections.views.base import Batch, Doc, DocKey, ViewPositionConflict, ViewStore
from tracker.audit import recorded_at

if TYPE_CHECKING:
    from tracker.application import ConflictTracker

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (position reached, position to reach)


def default_projections() -> list[Projection]:
    from projections.casualty_tallies import CasualtyTallyProjection
    from projections.group_leadership import GroupLeadershipProjection
    from projections.incident_index import IncidentIndexProjection
    from projections.operation_status import OperationStatusProjection

    return [GroupLeadershipProjection(), CasualtyTallyProjection(),
            OperationStatusProjection(), IncidentIndexProjection()]


@dataclass
class _Lane:
    """One projection's place in the loop: its namespace, position and read cache."""

    projection: Projection
    ns: str
    position: int
    cache: OrderedDict[DocKey, Doc | None]


class ProjectionRunner:
    """Folds the tracker's log into a view store, for the given projections."""

    def __init__(self, tracker: ConflictTracker, store: ViewStore,
                 projections: list[Projection] | None = None, batch_size: int = 1000,
                 cache_size: int = 20_000) -> None:
        self.tracker = tracker
        self.store = store
        self.projections = projections if projections is not None else default_projections()
        self.by_name = {p.name: p for p in self.projections}
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._caches: dict[str, OrderedDict[DocKey, Doc | None]] = {}
        self._lock = threading.Lock()

    # -- namespaces ---------------------------------------------------------------------

    def ns_of(self, name: str) -> str | None:
        return self.store.active(name)

    def ensure_active(self) -> None:
        """Gives every projection a namespace readers can use (empty, position 0)."""
        for p in self.projections:
            if self.store.active(p.name) is None:
                self.store.activate(p.name, f"{p.name}:v1")

    def _lanes(self, namespaces: dict[str, str] | None) -> list[_Lane]:
        lanes = []
        for p in self.projections:
            ns = (namespaces or {}).get(p.name) or self.store.active(p.name)
            if ns is None:
                ns = f"{p.name}:v1"
                self.store.activate(p.name, ns)
            cache = self._caches.setdefault(ns, OrderedDict())
            lanes.append(_Lane(p, ns, self.store.position(ns), cache))
        return lanes

    # -- the loop -----------------------------------------------------------------------

    def catch_up(self, *, until_position: int | None = None, until_time: datetime | None = None,
                 namespaces: dict[str, str] | None = None, progress: Progress | None = None,
                 only: Iterable[str] | None = None) -> int:
        """Folds every event not yet in the views; returns how many positions advanced."""
        with self._lock:
            wanted = set(only) if only is not None else None
            lanes = [lane for lane in self._lanes(namespaces)
                     if wanted is None or lane.projection.name in wanted]
            if not lanes:
                return 0
            target = until_position if until_position is not None else self.tracker.max_position()
            done = 0
            while True:
                start = min(lane.position for lane in lanes)
                if start >= target:
                    return done
                try:
                    done += self._one_batch(lanes, start, target, until_time)
                except ViewPositionConflict:
                    # Somebody else folded these positions first: forget what we cached
                    # and carry on from where the store now is.
                    for lane in lanes:
                        lane.cache.clear()
                        lane.position = self.store.position(lane.ns)
                    continue
                if progress is not None:
                    progress(min(lane.position for lane in lanes), target)

    def _one_batch(self, lanes: list[_Lane], start: int, target: int,
                   until_time: datetime | None) -> int:
        notifications = self.tracker.recorder.select_notifications(
            start, self.batch_size, stop=target, inclusive_of_start=False)
        if not notifications:
            # Gaps in the sequence (rolled-back inserts): jump to what exists, or the end.
            for lane in lanes:
                lane.position = max(lane.position, target)
            return 0
        handled = set().union(*(lane.projection.handlers for lane in lanes))
        batches = {lane.ns: Batch(self.store, lane.ns, lane.cache, self.cache_size)
                   for lane in lanes}
        decoded = []
        for n in notifications:
            if topic_class_name(n.topic) not in handled:
                continue
            event = self.tracker.mapper.to_domain_event(n)
            remember_doc_id(event, n.originator_id)
            if until_time is not None and recorded_at(event) > until_time:
                continue
            decoded.append((n.id, event))
        for lane in lanes:
            mine = [e for pos, e in decoded if pos > lane.position]
            # An import's batch is mostly new incidents: their documents are not looked for.
            absent = {k for e in mine for k in lane.projection.absent_keys(e)}
            keys = [k for e in mine for k in lane.projection.prefetch_keys(e) if k not in absent]
            batches[lane.ns].prefetch(keys, absent)
        for pos, event in decoded:
            for lane in lanes:
                if pos > lane.position:
                    lane.projection.process(event, pos, batches[lane.ns])
        for lane in lanes:
            lane.projection.flush(batches[lane.ns])
        last = notifications[-1].id
        moved = {lane.ns: (lane.position, last) for lane in lanes if last > lane.position}
        self.store.commit({ns: batches[ns].writes for ns in moved}, moved)
        for lane in lanes:
            if lane.ns in moved:
                batches[lane.ns].committed()
                lane.position = last
        return len(notifications)

    # -- following the log --------------------------------------------------------------

    def follow(self, stop: threading.Event, poll_interval: float = 1.0,
               on_batch: Callable[[int], None] | None = None) -> None:
        """Catches up, then waits for new events (LISTEN/NOTIFY on PostgreSQL, polling on
        SQLite) and catches up again, until `stop` is set."""
        waiter = _notification_waiter(self.tracker)
        try:
            while not stop.is_set():
                done = self.catch_up()
                if done and on_batch is not None:
                    on_batch(done)
                if not done:
                    waiter(stop, poll_interval)
        finally:
            close = getattr(waiter, "close", None)
            if close:
                close()

    # -- rebuild, verify, time travel ---------------------------------------------------

    def rebuild(self, names: Iterable[str] | None = None,
                progress: Callable[[str, int, int], None] | None = None) -> dict[str, str]:
        """Blue/green: build each view into a new namespace while readers keep the old
        one, switch readers when it has caught up, then drop the old one."""
        switched = {}
        for name in self._names(names):
            old = self.store.active(name)
            new = f"{name}:v{self._next_version(name)}"
            self.store.drop(new)
            self._caches.pop(new, None)
            report = (lambda pos, target, n=name: progress(n, pos, target)) if progress else None
            # Catch up twice: the second pass picks up what landed during the first.
            self.catch_up(namespaces={name: new}, only=[name], progress=report)
            self.catch_up(namespaces={name: new}, only=[name])
            self.store.activate(name, new)
            if old is not None and old != new:
                self.store.drop(old)
                self._caches.pop(old, None)
            switched[name] = new
        return switched

    def verify(self, names: Iterable[str] | None = None) -> dict[str, list[str]]:
        """Rebuilds aside (a scratch namespace) and compares with the live views at the
        same position; returns the differences per view (empty when identical)."""
        from projections.queries import view_documents

        differences: dict[str, list[str]] = {}
        self.catch_up()
        for name in self._names(names):
            live = self.store.active(name)
            assert live is not None
            position = self.store.position(live)
            scratch = f"{name}:verify"
            self.store.drop(scratch)
            self._caches.pop(scratch, None)
            try:
                self.catch_up(namespaces={name: scratch}, only=[name], until_position=position)
                differences[name] = diff_documents(
                    view_documents(self.store, live, self.by_name[name]),
                    view_documents(self.store, scratch, self.by_name[name]))
            finally:
                self.store.drop(scratch)
                self._caches.pop(scratch, None)
        return differences

    def _names(self, names: Iterable[str] | None) -> list[str]:
        chosen = list(names) if names else [p.name for p in self.projections]
        unknown = [n for n in chosen if n not in self.by_name]
        if unknown:
            raise ValueError(f"unknown view(s): {', '.join(unknown)}; known: "
                             f"{', '.join(self.by_name)}")
        return chosen

    def _next_version(self, name: str) -> int:
        versions = [int(ns.rsplit(":v", 1)[1]) for ns in self.store.namespaces()
                    if ns.startswith(f"{name}:v") and ns.rsplit(":v", 1)[1].isdigit()]
        active = self.store.active(name)
        if active and active.rsplit(":v", 1)[-1].isdigit():
            versions.append(int(active.rsplit(":v", 1)[1]))
        return max(versions, default=0) + 1

    def lag(self) -> dict[str, int]:
        """How many positions each view is behind the log."""
        head = self.tracker.max_position()
        return {p.name: head - self.store.position(self.store.active(p.name) or "")
                for p in self.projections}


def diff_documents(live: dict[str, Any], rebuilt: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(live) | set(rebuilt)):
        if key not in rebuilt:
            out.append(f"{key}: in the live view only: {live[key]}")
        elif key not in live:
            out.append(f"{key}: missing from the live view; rebuilt: {rebuilt[key]}")
        elif live[key] != rebuilt[key]:
            out.append(f"{key}: live {live[key]} != rebuilt {rebuilt[key]}")
    return out


def replay_as_of(tracker: ConflictTracker, as_of: datetime,
                 projections: list[Projection] | None = None) -> Any:
    """The views as they stood when the log held only events recorded up to `as_of`,
    folded by the same projection code into a throw-away in-memory store."""
    from projections.views.memory import MemoryViewStore

    store = MemoryViewStore()
    runner = ProjectionRunner(tracker, store, projections)
    runner.catch_up(until_time=as_of)
    return runner


def _notification_waiter(tracker: ConflictTracker) -> Callable[[threading.Event, float], None]:
    """A function that blocks until the log may have grown (or the timeout passes)."""
    recorder = tracker.recorder
    channel = getattr(recorder, "channel_name", None)
    if channel is None:
        def poll(stop: threading.Event, timeout: float) -> None:
            stop.wait(timeout)

        return poll

    import psycopg
    from psycopg import sql

    params = dict(recorder.datastore.pool.kwargs)  # type: ignore[attr-defined]
    params.pop("row_factory", None)
    conn = psycopg.connect(**params, autocommit=True)
    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))

    def wait(stop: threading.Event, timeout: float) -> None:
        for _ in conn.notifies(timeout=timeout, stop_after=1):
            break

    wait.close = conn.close  # type: ignore[attr-defined]
    return wait
