"""Builds the tracker, the view store and the runner from settings: the one place the CLI,
the API factory and the follower process get them from."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from projections.notify import RedisBus
from projections.readmodel.queries import QueryError, ReadViews, open_views
from projections.readmodel.store import ReadModelStore
from projections.runner import Projector
from tracker.application import ConflictTracker, RecordResult
from tracker.config import Settings


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


@dataclass
class Services:
    """The write side, the read model, the projector and the bus of one process."""

    settings: Settings
    tracker: ConflictTracker
    store: ReadModelStore
    bus: RedisBus | None = None
    runner: Projector = field(init=False)

    def __post_init__(self) -> None:
        self.runner = Projector(self.tracker, self.store)
        self.store.ensure_active()

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        bus = RedisBus(settings.redis_url, settings.redis_prefix) if settings.redis_url else None
        return cls(settings, build_tracker(settings), build_read_model(settings), bus)

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
            [sys.executable, "-m", "projections.follower", "--poll", str(poll),
             "--batch-size", "4000",
             "--exit-with-parent", str(os.getpid())],
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
        self.tracker.close()


def parse_as_of(value: str | None) -> datetime | None:
    """'2020-11-14' (the end of that day, UTC) or an ISO datetime (naive means UTC)."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time.max, tzinfo=UTC)
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
