"""What every projection is: a name, a version, and handlers keyed by event class name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from uuid import UUID

from projections.views.base import Batch, DocKey

Handler = Callable[[Any, Any, int, Batch], None]


def topic_class_name(topic: str) -> str:
    """'tracker.domain.incident:Incident.CasualtiesReported' -> 'CasualtiesReported'."""
    return topic.rsplit(".", 1)[-1].rsplit(":", 1)[-1]


def handles(*names: str) -> Callable[[Handler], Handler]:
    """Marks a method as the handler of the named event classes."""

    def mark(method: Handler) -> Handler:
        method.__dict__["handles"] = names
        return method

    return mark


class Projection:
    """Folds events into documents. Handlers get (event, position, batch); events of
    classes without a handler only move the position."""

    name: ClassVar[str]
    version: ClassVar[int] = 1
    collections: ClassVar[tuple[str, ...]] = ()
    handlers: ClassVar[dict[str, str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.handlers = {}
        for attr, value in vars(cls).items():
            for event_name in getattr(value, "handles", ()):
                cls.handlers[event_name] = attr

    def handles(self, event_name: str) -> bool:
        return event_name in self.handlers

    def prefetch_keys(self, event: Any) -> list[DocKey]:
        """Documents the event will certainly read; fetched for a whole batch at once."""
        return []

    def absent_keys(self, event: Any) -> list[DocKey]:
        """Documents this event proves did not exist before it (the first event of an
        aggregate, for documents only its own events write): not read from the store."""
        return []

    def flush(self, batch: Batch) -> None:
        """Called once per batch before it commits: write what was accumulated."""

    def process(self, event: Any, position: int, batch: Batch) -> None:
        method = self.handlers.get(type(event).__name__)
        if method is not None:
            getattr(self, method)(event, position, batch)


def uid(event: Any) -> str:
    """The aggregate id of an event, as a document id."""
    cached = event.__dict__.get(DOC_ID)
    return cached if cached is not None else _doc_id(event.originator_id)


# Every view asks each event its document id several times, and formatting a UUID is not
# free: the runner notes it on the events it decodes (they are never stored again).
DOC_ID = "_projection_doc_id"


def remember_doc_id(event: Any, originator_id: Any) -> None:
    event.__dict__[DOC_ID] = _doc_id(originator_id)


def _doc_id(oid: Any) -> str:
    return oid.hex if isinstance(oid, UUID) else str(oid)


def recorded_day(event: Any) -> str:
    return event.timestamp.date().isoformat()
