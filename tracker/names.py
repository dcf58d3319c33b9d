"""The names actors are found by: every id, name and alias an actor has carried, case and
spacing aside (as lookups and imports compare them), to the actors that carried it.

Read from the actors' events (their own index, see tracker.integrity) and kept up to date
by reading only the events after the last one seen. An entry is a candidate, never an
answer: a name an actor no longer carries (a retracted alias, a corrected name) stays in
the index, so whoever asks checks each candidate's current state.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from tracker.ingestion.rows import normalize_name

if TYPE_CHECKING:
    from tracker.application import ConflictTracker

_TOPICS = {f"tracker.domain.actor:Actor.{name}" for name in
           ("ActorRegistered", "AliasAdded", "ActorCorrected")}
PAGE = 1000


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
        while True:
            batch = app.actor_events(self.after, PAGE)
            for n in batch:
                if n.topic not in _TOPICS:
                    continue
                e: Any = app.mapper.to_domain_event(n)
                kind = type(e).__name__
                if kind == "ActorRegistered":
                    self.keys[e.originator_id] = e.key
                    for name in (e.key, e.details.get("name"),
                                 *(e.details.get("aliases") or ())):
                        self._add(name, e.key)
                    continue
                key = self.keys.get(e.originator_id)
                if key is None:
                    continue
                if kind == "AliasAdded":
                    self._add(e.alias, key)
                elif e.field in ("name", "aliases"):
                    for name in e.value if isinstance(e.value, list) else [e.value]:
                        self._add(name, key)
            if batch:
                self.after = batch[-1].id
            if len(batch) < PAGE:
                return
