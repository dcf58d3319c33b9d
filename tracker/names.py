"""The names actors are found by: every id, name and alias an actor has carried, case and
spacing aside (as lookups and imports compare them), to the actors that carried it.

Read from the actors' events (their own index, see tracker.integrity) and kept up to date
by reading only the events after the last one seen. An entry is a candidate, never an
answer: a name an actor no longer carries (a retracted alias, a corrected name) stays in
the index, so whoever asks checks each candidate's current state.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tracker.ingestion.rows import normalize_name

if TYPE_CHECKING:
    from tracker.application import ConflictTracker

NAME_EVENTS = ("ActorRegistered", "AliasAdded", "ActorCorrected")
PAGE = 1000


class NameEvents:
    """The names actors' events gave, read from the actors' own event index from log
    position `after` on: iterating yields (event, actor id, names) for each event of
    NAME_EVENTS (a registration: its id's record's name and aliases; an alias; a
    correction of `name` or `aliases`: the new values; another correction: no name) and of
    `also`; `after` then holds the last position read. `keys` (aggregate id -> actor id)
    is filled from the registrations read, and may be carried from one read to the next.
    Shared by ActorNames (the names a report's aliases are checked against) and the
    importer's resolver of dataset names."""

    def __init__(self, app: ConflictTracker, after: int = 0,
                 keys: dict[Any, str] | None = None, also: tuple[str, ...] = ()) -> None:
        self.app, self.after = app, after
        self.keys = {} if keys is None else keys
        self.topics = {f"tracker.domain.actor:Actor.{t}" for t in (*NAME_EVENTS, *also)}

    def __iter__(self) -> Iterator[tuple[Any, str | None, list[str]]]:
        while True:
            batch = self.app.actor_events(self.after, PAGE)
            for n in batch:
                if n.topic not in self.topics:
                    continue
                e: Any = self.app.mapper.to_domain_event(n)
                kind = type(e).__name__
                names: list[Any] = []
                if kind == "ActorRegistered":
                    self.keys[e.originator_id] = e.key
                    names = [e.details.get("name"), *(e.details.get("aliases") or ())]
                elif kind == "AliasAdded":
                    names = [e.alias]
                elif kind == "ActorCorrected" and e.field in ("name", "aliases"):
                    names = e.value if isinstance(e.value, list) else [e.value]
                yield e, self.keys.get(e.originator_id), [x for x in names
                                                           if isinstance(x, str)]
            if batch:
                self.after = batch[-1].id
            if len(batch) < PAGE:
                return


class ActorNames:
    def __init__(self) -> None:
        self.names: dict[str, set[str]] = {}
        self.keys: dict[Any, str] = {}  # aggregate id -> actor id
        self.after = 0
        self.lock = threading.Lock()

    def carrying(self, app: ConflictTracker, name: str, catch_up: bool = True) -> set[str]:
        """The actors that have carried `name` as id, name or alias (candidates), as of
        the last event read (`catch_up`: read the events recorded since first; a report
        asking for many names catches up once)."""
        with self.lock:
            if catch_up:
                self._catch_up(app)
            return set(self.names.get(normalize_name(name), ()))

    def _add(self, name: Any, key: str) -> None:
        if isinstance(name, str):
            self.names.setdefault(normalize_name(name), set()).add(key)

    def _catch_up(self, app: ConflictTracker) -> None:
        read = NameEvents(app, self.after, self.keys)
        for e, key, names in read:
            if key is None:
                continue
            if type(e).__name__ == "ActorRegistered":
                names = [key, *names]
            for name in names:
                self._add(name, key)
        self.after = read.after
