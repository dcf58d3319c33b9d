"""Builds the tracker, the read model and the projector from settings: the one place the CLI,
the API factory and the follower process get them from."""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from datetime import time as day_time
from typing import Any

from projections.notify import RedisBus
from projections.readmodel.queries import QueryError, ReadViews, open_views
from projections.readmodel.store import ReadModelStore
from projections.runner import BATCH, LARGE_BATCH, VIEW_NAMES, Projector
from tracker import deadlines
from tracker.application import ConflictTracker, RecordResult
from tracker.config import Settings, redact_url
from tracker.exceptions import StoreUnavailableError, describe_failure
from tracker.outages import is_outage

# After an outage is seen, calls fail fast this long before one tries the store again:
# short, so the API serves again within about a second of the store's return.
FAIL_FAST = 0.5
# An import's pace (Services.projecting_alongside): it waits while the views are more than
# AHEAD events behind (a batch of the helper's, a few seconds of folding), checking every
# PACE_POLL seconds, unless they have not moved for STALLED seconds.
AHEAD = LARGE_BATCH
PACE_POLL = 0.1
STALLED = 30.0

log = logging.getLogger(__name__)


def tune_gc_for_batch_work() -> None:
    """For processes that fold or import many events: imports, rebuilds, followers.

    They allocate millions of short-lived objects while holding large caches (view
    documents, loaded aggregates), and CPython's default thresholds make the collector
    traverse those caches again and again: about a fifth of a rebuild's time. Objects alive
    now (modules, settings) are frozen out of collection, and collections run far less
    often. The code here makes few reference cycles, so memory stays bounded."""
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def wait_for_views(head: int, position: Callable[[], int], alive: Callable[[], bool],
                   ahead: int = AHEAD, stalled: float = STALLED, poll: float = PACE_POLL,
                   clock: Callable[[], float] = time.monotonic,
                   sleep: Callable[[float], None] = time.sleep) -> None:
    """Waits until the views' `position` is at most `ahead` events before `head`; or the
    process folding them is gone (`alive`); or they have not moved for `stalled` seconds
    (stuck on an event they cannot fold: the writer does not wait on that)."""
    seen, moved_at = -1, clock()
    while alive():
        at = position()
        if head - at <= ahead:
            return
        if at != seen:
            seen, moved_at = at, clock()
        elif clock() - moved_at > stalled:
            return
        sleep(poll)


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
    outage is seen, calls fail fast for FAIL_FAST (0.5 s) instead of each waiting on the
    store again.

    A fold that fails after a write landed (e.g. the disk is full) is remembered: the
    answer says the report was recorded with the views behind, /healthz says degraded
    until the views have caught up, and in embedded mode the next read tries again."""

    def __init__(self, settings: Settings, tracker: ConflictTracker | None,
                 store: ReadModelStore, bus: RedisBus | None = None) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self._tracker = tracker
        self._runner: Projector | None = None
        self._down_until = 0.0
        self._down_cause = "unavailable"  # what the outage that set _down_until was
        self._behind_since: float | None = None
        self.fold_failure: str | None = None
        self.batch_size = BATCH
        # Far behind, batches of up to this many events (None: batch_size): processes of
        # batch work (imports, rebuilds, followers) fold long catch-ups in LARGE_BATCH.
        self.max_batch: int | None = None
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
                raise self._still_down()
            with self._lock:
                if self._tracker is None:
                    try:
                        self._tracker = build_tracker(self.settings)
                    except Exception as e:
                        if not is_outage(e):
                            raise
                        self.mark_unavailable(FAIL_FAST, describe_outage(e))
                        raise StoreUnavailableError(
                            f"the event store cannot be reached ({describe_outage(e)}); "
                            "try again shortly") from e
        elif time.monotonic() < self._down_until:
            raise self._still_down()
        return self._tracker

    def _still_down(self) -> StoreUnavailableError:
        """The fail-fast answer while an outage seen a moment ago lasts: its cause, as
        the first answer said it."""
        return StoreUnavailableError(f"the event store is unavailable ({self._down_cause}); "
                                     "try again shortly")

    @property
    def runner(self) -> Projector:
        if self._runner is None:
            self._runner = Projector(self.tracker, self.store, batch_size=self.batch_size,
                                     max_batch=self.max_batch)
        return self._runner

    def mark_unavailable(self, seconds: float = FAIL_FAST, cause: str = "unavailable") -> None:
        """An outage was seen (`cause`: what it was, as describe_outage says it): fail fast
        for `seconds`, saying the same cause."""
        self._down_cause = cause
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
        if head is not None and position is not None and self.fold_failure is not None:
            self.retry_failed_fold()
            gen, position = self.store.active_and_position()
            body["view_store"]["position"] = position
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
            if lag and self.fold_failure is not None:
                # The views are stuck, not merely late: say so at once, not after `grace`.
                body["view_store"]["error"] = self.fold_failure
                if body["status"] == "ok":
                    body["status"] = "degraded"
            if lag > max_lag:
                self._behind_since = self._behind_since or time.monotonic()
                if time.monotonic() - self._behind_since > grace and body["status"] == "ok":
                    body["status"] = "degraded"
            else:
                self._behind_since = None
        if self.bus is not None:
            body["redis"] = self.bus.health()
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
        """Records a report; in embedded mode the views catch up before returning. If the
        report landed but the views could not follow (the disk filled up between the two,
        the view store is away), the answer still says it was recorded, with a warning:
        the client must not send it as if it were lost."""
        result = self.tracker.record_report(data, recorded_by=recorded_by)
        try:
            self.after_write()
        except Exception as e:  # noqa: BLE001 - the report is recorded: say so, and why not more
            if not is_outage(e):
                log.exception("the views could not fold a recorded report")
            result = dataclasses.replace(result, warning=(
                "recorded, but the views could not be brought up to date "
                f"({describe_outage(e)}); they catch up once that is fixed"))
        return result

    def after_write(self) -> None:
        if self.bus is not None:
            self.bus.publish(self.tracker.max_position())
        if self.settings.inline_projection:
            self.fold()

    def fold(self) -> int:
        """Catches the views up in process, remembering a failure for /healthz."""
        try:
            done = self.runner.catch_up()
        except Exception as e:
            self.fold_failure = describe_outage(e) if is_outage(e) else type(e).__name__
            raise
        self.fold_failure = None
        return done

    def retry_failed_fold(self) -> None:
        """After a failed fold, embedded mode tries again on the next read (a follower
        retries by itself); a second failure leaves the views as they are, still read."""
        if self.fold_failure is None or not self.settings.inline_projection:
            return
        try:
            self.fold()
        except Exception as e:  # noqa: BLE001 - remembered in fold_failure, reported there
            log.warning("the views are still behind: %s", describe_outage(e))

    @contextmanager
    def projecting_alongside(self, poll: float = 0.1) -> Iterator[Callable[[], None]]:
        """For long writes (imports): a second process folds new events into the views
        while this one writes, so both cores work; on exit this process finishes the
        catch-up, so the views are up to date whatever became of the helper. Two
        projectors on one read model are safe: each batch is folded under the position
        lock, so it lands once.

        Gives `pace`, for the writer to call between its batches: it waits while the views
        are more than AHEAD events behind the log and the helper is moving them. The fold
        of a large import costs more than its writing (at a million events, 131 CPU
        seconds against 103), so unpaced the views fell ever further behind: 187,000
        events when the last row was written. Paced, readers see an import's rows within
        seconds, and the import ends with the views nearly current."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        env.update(self.settings.to_env())
        helper = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "project", "--follow", "--poll", str(poll),
             "--batch-size", "4000", "--exit-with-parent", str(os.getpid())],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def pace() -> None:
            try:
                wait_for_views(self.tracker.max_position(),
                               lambda: self.store.active_and_position()[1],
                               lambda: helper.poll() is None)
            except Exception as e:  # noqa: BLE001 - the views are derived: write on
                log.warning("not waiting for the views: %s: %s", type(e).__name__, e)

        try:
            yield pace
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
        self.retry_failed_fold()
        return open_views(self.store, as_of)

    def close(self) -> None:
        if self.bus is not None:
            self.bus.close()
        self.store.close()
        if self._tracker is not None:
            self._tracker.close()


DISK_FULL = ("database or disk is full", "no space left on device", "disk full",
             "could not extend file", "could not write")


def describe_outage(error: BaseException) -> str:
    """What an outage error means, in a few words and without secrets: "the disk is full",
    "no answer within the deadline", "connection refused"…"""
    text = " ".join(str(error).split()).lower()
    cause = error.__cause__ or error.__context__
    if cause is not None:
        text += " " + " ".join(str(cause).split()).lower()
    if any(marker in text for marker in DISK_FULL) or getattr(error, "errno", None) == 28:
        return "disk full"
    if deadlines.timed_out():
        return "no answer in time: the server is stalled or unreachable"
    for marker, meaning in (
            ("connection refused", "connection refused"),
            ("could not translate host name", "unknown host name"),
            ("name or service not known", "unknown host name"),
            ("password authentication failed", "password authentication failed"),
            ("no password supplied", "no password supplied"),
            ("does not exist", "the database does not exist"),
            ("timeout expired", "no answer within the connect timeout"),
            ("couldn't get a connection", "no connection within the pool's timeout"),
            ("time for the store is up", "no answer in time"),
            ("time for the views is up", "no answer in time"),
            ("server closed the connection", "the server closed the connection"),
            ("terminating connection", "the server is shutting down"),
            ("the database system is starting up", "the server is starting up"),
            ("the database system is shutting down", "the server is shutting down"),
            ("no route to host", "no route to host"),
            ("network is unreachable", "network unreachable"),
            ("statement timeout", "a statement ran past its timeout"),
            ("lock timeout", "a lock was not granted in time"),
            ("database is locked", "the database is locked by another process"),
            ("unable to open database file", "the database file cannot be opened")):
        if marker in text:
            return meaning
    return type(error).__name__


def where(settings: Settings, error: BaseException) -> tuple[str, str]:
    """Which store an outage error is about, and its URL fit to print."""
    import sqlalchemy.exc

    if isinstance(error, sqlalchemy.exc.SQLAlchemyError):
        return "the view store", redact_url(settings.read_model_url())
    return "the event store", redact_url(settings.database_url)


# Fractional seconds past microseconds (`date +%N` prints nanoseconds): the digits
# after the sixth, which parse_as_of drops.
_PAST_MICROSECONDS = re.compile(r"(?<=[.,]\d{6})\d+")


def parse_as_of(value: str | None) -> datetime | None:
    """'2020-11-14' (the end of that day, UTC) or an ISO datetime (naive means UTC). More
    than six fractional digits are truncated to microseconds (never rounded up: a knowledge
    time never moves past what was asked)."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), day_time.max, tzinfo=UTC)
        moment = datetime.fromisoformat(
            _PAST_MICROSECONDS.sub("", value, count=1).replace("Z", "+00:00"))
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
