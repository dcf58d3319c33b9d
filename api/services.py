"""Builds the tracker, the read model and the projector from settings: the one place the CLI,
the API factory and the follower process get them from."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from datetime import time as day_time
from typing import Any

from projections.notify import RedisBus
from projections.readmodel.queries import QueryError, ReadViews, open_views
from projections.readmodel.store import ReadModelStore
from projections.runner import VIEW_NAMES, Projector
from tracker.application import ConflictTracker, RecordResult
from tracker.config import Settings
from tracker.exceptions import StoreUnavailableError, describe_failure
from tracker.outages import is_outage


def tune_gc_for_batch_work() -> None:
    """For processes that fold or import many events: imports, rebuilds, followers.

    They allocate millions of short-lived objects while holding large caches (view
    documents, loaded aggregates), and CPython's default thresholds make the collector
    traverse those caches again and again: about a fifth of a rebuild's time. Objects alive
    now (modules, settings) are frozen out of collection, and collections run far less
    often. The code here makes few reference cycles, so memory stays bounded."""
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def build_tracker(settings: Settings) -> ConflictTracker:
    """The write side, storing events with the orjson transcoder (same format, faster)."""
    from projections.eventcodec import TOPIC

    return ConflictTracker.from_settings(settings, transcoder=TOPIC)


def build_read_model(settings: Settings) -> ReadModelStore:
    return ReadModelStore(settings.read_model_url())


class Services:
    """The write side, the read model, the projector and the bus of one process.

    The event store is connected on first use, not at start-up, so a process starts (and
    answers 503) while PostgreSQL is down and serves again as soon as it is back. After an
    outage is seen, calls fail fast for a few seconds instead of each waiting on the
    store again."""

    def __init__(self, settings: Settings, tracker: ConflictTracker | None,
                 store: ReadModelStore, bus: RedisBus | None = None) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self._tracker = tracker
        self._runner: Projector | None = None
        self._down_until = 0.0
        self._behind_since: float | None = None
        self.batch_size = 2000
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, connect: bool = True) -> Services:
        """`connect=False`: connect to the event store on first use (the API)."""
        bus = RedisBus(settings.redis_url, settings.redis_prefix) if settings.redis_url else None
        tracker = build_tracker(settings) if connect else None
        return cls(settings, tracker, build_read_model(settings), bus)

    @property
    def tracker(self) -> ConflictTracker:
        if self._tracker is None:
            if time.monotonic() < self._down_until:
                raise StoreUnavailableError("the event store is unavailable; try again shortly")
            with self._lock:
                if self._tracker is None:
                    try:
                        self._tracker = build_tracker(self.settings)
                    except Exception as e:
                        if not is_outage(e):
                            raise
                        self.mark_unavailable(5)
                        raise StoreUnavailableError(
                            f"the event store cannot be reached ({type(e).__name__}); "
                            "try again shortly") from e
        elif time.monotonic() < self._down_until:
            raise StoreUnavailableError("the event store is unavailable; try again shortly")
        return self._tracker

    @property
    def runner(self) -> Projector:
        if self._runner is None:
            self._runner = Projector(self.tracker, self.store, batch_size=self.batch_size)
        return self._runner

    def mark_unavailable(self, seconds: float) -> None:
        """An outage was seen: fail fast for `seconds`."""
        self._down_until = time.monotonic() + seconds

    def health(self, max_lag: int, grace: float) -> tuple[dict[str, Any], int]:
        """What /healthz says: each store's reachability, the views' lag, and the status:
        ok; degraded (Redis unreachable, or the views behind by more than `max_lag`
        positions for more than `grace` seconds); unavailable (a store cannot be reached:
        HTTP 503)."""
        body: dict[str, Any] = {"status": "ok", "event_store": {}, "view_store": {},
                                "behind": {}}
        head = None
        try:
            head = self.tracker.max_position()
            body["event_store"] = {"ok": True, "head": head}
        except Exception as e:  # noqa: BLE001 - reported, not raised
            body["event_store"] = {"ok": False, "error": type(e).__name__}
            body["status"] = "unavailable"
        try:
            gen, position = self.store.active_and_position()
            body["view_store"] = {"ok": True, "backend": self.store.dialect,
                                  "generation": gen, "position": position}
        except Exception as e:  # noqa: BLE001 - reported, not raised
            body["view_store"] = {"ok": False, "error": type(e).__name__}
            body["status"] = "unavailable"
            position = None
        try:
            stuck = self.store.failure() if position is not None else None
        except Exception:  # noqa: BLE001 - the view store's reachability is reported above
            stuck = None
        if stuck is not None:
            # An event the views cannot fold: they stay before it (never skipping it)
            # until it is restored or set aside (`tracker quarantine`).
            body["stuck"] = {**stuck, "message": describe_failure(stuck)}
            if body["status"] == "ok":
                body["status"] = "degraded"
        if head is not None and position is not None:
            lag = max(0, head - position)
            body["behind"] = dict.fromkeys(VIEW_NAMES, lag)
            if lag > max_lag:
                self._behind_since = self._behind_since or time.monotonic()
                if time.monotonic() - self._behind_since > grace and body["status"] == "ok":
                    body["status"] = "degraded"
            else:
                self._behind_since = None
        if self.bus is not None:
            body["redis"] = {"ok": self.bus.ping()}
            if not body["redis"]["ok"] and body["status"] == "ok":
                body["status"] = "degraded"
        return body, 503 if body["status"] == "unavailable" else 200

    def verify(self) -> dict[str, Any]:
        """The log against its hash chain, and whether the views fold all of it: a fold
        stuck at an event (`views.stuck`), the positions set aside (`views.quarantined`)."""
        result = self.tracker.verify().to_dict()
        stuck = self.store.failure()
        result["views"] = {
            "ok": stuck is None,
            "stuck": {**stuck, "message": describe_failure(stuck)} if stuck else None,
            "quarantined": {str(p): r for p, r in sorted(self.tracker.quarantined().items())},
        }
        return result

    def record_report(self, data: Any, recorded_by: str) -> RecordResult:
        """Records a report; in embedded mode the views catch up before returning."""
        result = self.tracker.record_report(data, recorded_by=recorded_by)
        self.after_write()
        return result

    def after_write(self) -> None:
        if self.bus is not None:
            self.bus.publish(self.tracker.max_position())
        if self.settings.inline_projection:
            self.runner.catch_up()

    @contextmanager
    def projecting_alongside(self, poll: float = 0.1) -> Iterator[None]:
        """For long writes (imports): a second process folds new events into the views
        while this one writes, so both cores work; on exit this process finishes the
        catch-up, so the views are up to date whatever became of the helper. Two
        projectors on one read model are safe: each batch is folded under the position
        lock, so it lands once."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        env.update(self.settings.to_env())
        helper = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "project", "--follow", "--poll", str(poll),
             "--batch-size", "4000", "--exit-with-parent", str(os.getpid())],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield
        except BaseException:
            helper.terminate()  # it stops after the batch it is in
            raise
        else:
            # Everything is written: the helper, its caches warm, folds the rest and exits.
            helper.send_signal(signal.SIGUSR1)
        finally:
            try:
                helper.wait(timeout=300)
            except subprocess.TimeoutExpired:
                helper.kill()
                helper.wait()
            self.runner.catch_up()

    def views(self, as_of: datetime | None = None) -> AbstractContextManager[ReadViews]:
        """The views in one read snapshot: the present, or as they stood at knowledge
        time `as_of` (the last report recorded by then)."""
        return open_views(self.store, as_of)

    def close(self) -> None:
        if self.bus is not None:
            self.bus.close()
        self.store.close()
        if self._tracker is not None:
            self._tracker.close()


def parse_as_of(value: str | None) -> datetime | None:
    """'2020-11-14' (the end of that day, UTC) or an ISO datetime (naive means UTC)."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), day_time.max, tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"as_of {value!r} is not a date (YYYY-MM-DD) or an ISO datetime",
                         "as_of") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_day(value: str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{name} {value!r} is not a date (YYYY-MM-DD)", name) from None
