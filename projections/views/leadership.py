"""The leadership view: a group's current leaders (person, role, since, report) and former
ones (until, reason, the death or capture's incident), as ("group", key) documents; the
fold of the Actor aggregate's events (projections.group_leadership) keeps them and the
actor register's documents (actors.py) together."""

from __future__ import annotations

from typing import Any

import projections.views.documents as documents
from projections.decode import RawEvent
from projections.group_leadership import ACTOR_EVENTS, actor_doc_id, fold_actor_event
from projections.views.base import Queries
from tracker.exceptions import EntityNotFoundError

ROLE_ORDER = {"leader": 0, "emir": 0, "deputy": 1, "military_commander": 2}


def preload(e: RawEvent) -> list[tuple[str, str]]:
    keys = [("actor", e.oid)]
    group = e.data.get("group")
    if group:
        keys += [("group", group), ("actor", actor_doc_id(group))]
    elif e.name == "ActorRegistered":
        keys.append(("group", e.data["key"]))
    return keys


documents.register(ACTOR_EVENTS, fold_actor_event, preload)


class LeadershipQueries(Queries):
    def leadership(self, group: str) -> dict[str, Any]:
        group = self.resolve_actor(group)
        doc = self._doc("group", group)
        actor = self._doc("actor", actor_doc_id(group))
        if (doc is None and actor is None) or (actor and actor.get("retracted")) or (
                doc and doc.get("retracted")):
            raise EntityNotFoundError("group", group)
        doc = doc or {"group": group, "name": actor["name"] if actor else group,
                      "leaders": {}, "former": []}
        leaders = sorted(doc["leaders"].values(),
                         key=lambda e: (ROLE_ORDER.get(e["role"], 9), e["role"], e["person"]))
        former = sorted(doc["former"], key=lambda e: (e.get("until") or "", e["position"]))
        return {
            "group": doc["group"], "name": doc["name"], "as_of": self._as_of(),
            "leaders": [{k: e.get(k) for k in ("person", "name", "role", "since", "report")}
                        for e in leaders],
            "former": [{k: e.get(k) for k in ("person", "name", "role", "since", "until",
                                               "reason", "incident", "report")}
                       for e in former],
        }

    def former_roles(self, person: str) -> list[dict[str, Any]]:
        """The roles `person` (an actor id) held and no longer holds, from the leadership
        of each group it held one in (as of the read: a withdrawn end is a role held
        again), oldest end first: {group, role, since, until, reason, incident, report}."""
        actor = self._doc("actor", actor_doc_id(person))
        out: list[dict[str, Any]] = []
        for group in (actor or {}).get("groups", []):
            doc = self._doc("group", group) or {}
            out += [{"group": group, **{k: e.get(k) for k in (
                        "role", "since", "until", "reason", "incident", "report")}}
                    for e in doc.get("former", []) if e["person"] == person]
        return sorted(out, key=lambda e: (e["until"] or "", e["group"], e["role"]))

