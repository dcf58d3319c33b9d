"""The actors view: the actor register — id, name, kind, aliases, country, the groups a
person held roles in — as ("actor", id) documents kept by the Actor events' fold (see
leadership.py), searchable by id, name or alias (the `search` column: those names,
case-folded), with each actor's incident count from the casualties view."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson
from sqlalchemy import Integer, Select, Text, bindparam, literal_column, select

import projections.views.documents as documents
from projections.group_leadership import actor_doc_id
from projections.views.base import Queries, Valid
from projections.views.incidents import QueryError, decode_cursor, encode_cursor


def search_text(doc: dict[str, Any]) -> str:
    return "\x1f".join(n.casefold() for n in [doc["id"], doc["name"], *doc.get("aliases", [])])


documents.SEARCH["actor"] = search_text


def like_literal(text: str) -> str:
    """`text` matched as itself by LIKE ... ESCAPE '!' (its % and _ are not wildcards),
    the same on SQLite and PostgreSQL."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


class ActorQueries(Queries):
    def actor_cluster(self, key: str) -> tuple[str, list[str]]:
        """(the id an actor is counted under, every actor linked to it by same_actor) at
        this position: a walk over the few identity rows of its cluster."""
        if not self._actor_links():
            return key, [key]
        x = self.tbl("identity")

        def side_of(side: str) -> Callable[[Valid], Select[Any]]:
            return lambda valid: select(x.c.a, x.c.b, x.c.named, x.c.a_key, x.c.b_key).where(
                x.c.kind == "actor", x.c[side].in_(bindparam("oids", expanding=True)),
                valid(x), x.c.status == "same")

        start = actor_doc_id(key)
        keys, names, frontier = {start: key}, set(), [start]
        while frontier:
            # One index seek per side (an OR of the two would scan every pair).
            rows = [row for side in ("a", "b") for row in self._query(
                ("actor cluster", side), side_of(side), {"oids": frontier})]
            nxt = []
            for a, b, named, a_key, b_key in rows:
                if named:
                    names.add(named)
                for oid, k in ((a, a_key), (b, b_key)):
                    if oid not in keys:
                        keys[oid] = k
                        nxt.append(oid)
            frontier = nxt
        members = sorted(set(keys.values()))
        return min(names & set(members) or members), members

    def _actor_links(self) -> bool:
        """Whether any same_actor link was ever recorded (asked once per read)."""
        found = self.__dict__.get("_has_actor_links")
        if found is None:
            x = self.tbl("identity")
            found = self.__dict__["_has_actor_links"] = bool(self._query(
                "actor links", lambda valid: select(literal_column("1")).select_from(x)
                .where(x.c.kind == "actor").limit(1), at=None))
        return bool(found)

    def resolve_actor(self, name: str) -> str:
        """An actor's id from its id, a recorded name or an alias (case-insensitive); an
        actor linked to others (same_actor) resolves to the id they are counted under."""
        return self.actor_cluster(self._actor_id(name))[0]

    def actor_filter(self, name: str) -> str:
        """The actor a filter names, or a 422 naming it when no actor has that id, name or
        alias (an empty answer would say it took part in nothing)."""
        key = self.resolve_actor(name)
        if self._doc("actor", actor_doc_id(key)) is None:
            raise QueryError(f"unknown actor {name!r}: no actor has that id, name or alias "
                             "(search them with /actors?q=)", "actor")
        return key

    def actor_names(self, keys: Iterable[str], known: dict[str, tuple[str, str]]
                    ) -> dict[str, tuple[str, str]]:
        """(the id an actor is counted under, that actor's name) for each of `keys`, added
        to `known` (which caches them across the pages of an export): the names of a whole
        page's actors in one query, a cluster walk per actor only when same_actor links
        exist. An actor with no register entry is named by its id."""
        missing = [k for k in dict.fromkeys(keys) if k not in known]
        if not missing:
            return known
        linked = self._actor_links()
        counted = {k: self.actor_cluster(k)[0] if linked else k for k in missing}
        by_doc = {actor_doc_id(c): c for c in set(counted.values())}
        names: dict[str, str] = {}
        d = self.tbl("docs")
        ids = sorted(by_doc)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for doc_id, body in self._query(
                    "actor names", lambda valid: select(d.c.id, d.c.doc).where(
                        d.c.kind == "actor", d.c.id.in_(bindparam("ids", expanding=True)),
                        valid(d)), {"ids": chunk}):
                names[by_doc[doc_id]] = orjson.loads(body)["name"]
        for key, canonical in counted.items():
            known[key] = (canonical, names.get(canonical, canonical))
        return known

    def _actor_id(self, name: str) -> str:
        if self._doc("actor", actor_doc_id(name)) is not None:
            return name
        d = self.tbl("docs")
        folded = name.casefold()
        rows = self._query("actor id", lambda valid: select(d.c.doc).where(
            d.c.kind == "actor", valid(d),
            d.c.search.like(bindparam("q", type_=Text), escape="!")),
            {"q": f"%{like_literal(folded)}%"})
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
        d = self.tbl("docs")
        params: dict[str, Any] = {"n": limit + 1}
        if q:
            params["q"] = f"%{like_literal(q.casefold())}%"
        if cursor:
            params["after"] = decode_cursor(cursor)[1]

        def build(valid: Valid) -> Select[Any]:
            stmt = select(d.c.id, d.c.doc).where(d.c.kind == "actor", valid(d))
            if q:
                stmt = stmt.where(d.c.search.like(bindparam("q", type_=Text), escape="!"))
            if cursor:
                stmt = stmt.where(d.c.id > bindparam("after"))
            return stmt.order_by(d.c.id).limit(bindparam("n", type_=Integer))

        rows = self._query(("actors", bool(q), bool(cursor)), build, params)
        docs = [(doc_id, orjson.loads(body)) for doc_id, body in rows[:limit]]
        out = []
        listed: set[str] = set()
        for _, found in docs:
            # An actor linked to others is listed once, under the id they are counted
            # under, with every linked record's names among its aliases.
            row = self._actor_row(found)
            if row is None or row["id"] in listed:
                continue
            listed.add(row["id"])
            out.append(row)
        more = len(rows) > limit
        return {"as_of": self._as_of(), "actors": out,
                "next": encode_cursor(("", docs[-1][0])) if more and docs else None}

    def actor(self, key: str) -> dict[str, Any] | None:
        """One actor (its id, a name or an alias) as a row of `actors` shows it, or None
        when the register does not list it at this position."""
        found = self._doc("actor", actor_doc_id(self._actor_id(key)))
        return self._actor_row(found) if found is not None else None

    def _actor_row(self, found: dict[str, Any]) -> dict[str, Any] | None:
        """The row of an actor's register entry: under the id its cluster is counted under
        (same_actor), with the linked records' names among its aliases and its incident
        count; None when it is retracted, or registered only by a withdrawn report that
        no live report refers to."""
        canonical, members = self.actor_cluster(found["id"])
        doc = found if canonical == found["id"] else self._doc(
            "actor", actor_doc_id(canonical)) or found
        if doc.get("retracted"):
            return None
        incidents = self._tally_at("actor", doc["id"], self.at)["incidents"]
        if doc.get("registration_withdrawn") and not incidents and not doc["groups"]:
            return None
        aliases = list(doc.get("aliases", []))
        for key in members:
            other = self._doc("actor", actor_doc_id(key)) if key != doc["id"] else None
            for name in ([other["name"], *other.get("aliases", [])] if other else []):
                if name not in aliases and name != doc["name"]:
                    aliases.append(name)
        return {"id": doc["id"], "name": doc["name"], "kind": doc["kind"],
                "aliases": aliases, "country": doc.get("country"), "incidents": incidents,
                **({"linked": [k for k in members if k != doc["id"]]}
                   if len(members) > 1 else {})}
