"""The actors view: the actor register — id, name, kind, aliases, country, the groups a
person held roles in — as ("actor", id) documents kept by the Actor events' fold (see
leadership.py), searchable by id, name or alias (the `search` column: those names,
case-folded), with each actor's incident count from the casualties view."""

from __future__ import annotations

from typing import Any

import orjson

import projections.views.documents as documents
from projections.group_leadership import actor_doc_id
from projections.views.base import Queries
from projections.views.incidents import decode_cursor, encode_cursor, valid


def search_text(doc: dict[str, Any]) -> str:
    return "\x1f".join(n.casefold() for n in [doc["id"], doc["name"], *doc.get("aliases", [])])


documents.SEARCH["actor"] = search_text


def like_literal(text: str) -> str:
    """`text` matched as itself by LIKE ... ESCAPE '!' (its % and _ are not wildcards),
    the same on SQLite and PostgreSQL."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


class ActorQueries(Queries):
    def resolve_actor(self, name: str) -> str:
        """An actor's id from its id, a recorded name or an alias (case-insensitive)."""
        if self._doc("actor", actor_doc_id(name)) is not None:
            return name
        cond, params = valid("d", self.at)
        folded = name.casefold()
        rows = self._fetch(f"SELECT d.doc FROM {self.t('docs')} d WHERE d.kind = 'actor' AND "
                           f"{cond} AND d.search LIKE ? ESCAPE '!'",
                           [*params, f"%{like_literal(folded)}%"])
        for (body,) in rows:
            doc = orjson.loads(body)
            names = [doc["id"], doc["name"], *doc.get("aliases", [])]
            if folded in (n.casefold() for n in names):
                return str(doc["id"])
        return name

    def actors(self, q: str | None = None, limit: int = 50, cursor: str | None = None
               ) -> dict[str, Any]:
        """Actors whose id, name or an alias contains `q` (case-insensitive), by id."""
        limit = max(1, min(limit, 1000))
        cond, params = valid("d", self.at)
        sql = (f"SELECT d.id, d.doc FROM {self.t('docs')} d WHERE d.kind = 'actor' "
               f"AND {cond}")
        if q:
            sql += " AND d.search LIKE ? ESCAPE '!'"
            params.append(f"%{like_literal(q.casefold())}%")
        if cursor:
            sql += " AND d.id > ?"
            params.append(decode_cursor(cursor)[1])
        rows = self._fetch(sql + " ORDER BY d.id LIMIT ?", [*params, limit + 1])
        docs = [(doc_id, orjson.loads(body)) for doc_id, body in rows[:limit]]
        out = []
        for _, doc in docs:
            if doc.get("retracted"):
                continue
            incidents = self._tally_at("actor", doc["id"], self.at)["incidents"]
            if doc.get("registration_withdrawn") and not incidents and not doc["groups"]:
                continue  # registered by a withdrawn report, and no live report refers to it
            out.append({"id": doc["id"], "name": doc["name"], "kind": doc["kind"],
                        "aliases": doc.get("aliases", []), "country": doc.get("country"),
                        "incidents": incidents})
        more = len(rows) > limit
        return {"as_of": self._as_of(), "actors": out,
                "next": encode_cursor(("", docs[-1][0])) if more and docs else None}
