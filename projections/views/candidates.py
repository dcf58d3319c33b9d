"""Link candidates: records of the views that may be one real event, from different sources
(projections.linking scores and chooses them). A query only, over the incidents and identity
tables — it keeps no rows of its own: the live records (standalone, or a cluster under its
named record) matching the filters are read once, in one statement, and searched in memory
through a day × grid-cell index.

Pairs an analyst recorded as `distinct_incidents` — between any members of the two — are
never suggested; records already in one cluster are one row, so never a pair. Actors are
compared by the id they are counted under (`same_actor` links and aliases resolved) and by
the words of their ids, registered names and aliases. The actor and source filters resolve
as incident lists resolve them (an unknown one is a 422), and keep the pairs with a side the
incident list with those filters holds.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import bindparam, select

from projections.group_leadership import actor_doc_id
from projections.linking import LinkParams, LinkRecord, candidates, record_of
from projections.views.base import Queries
from projections.views.incidents import (
    IncidentFilter,
    QueryError,
    incident_conditions,
    listed_actors,
)


class CandidateQueries(Queries):
    def link_candidates(self, filters: IncidentFilter | None = None,
                        params: LinkParams | None = None) -> dict[str, Any]:
        """{"candidates": [{"incident", "other", "score", "reasons", …}], …}: candidate
        same-event pairs among the records matching `filters` (the actor and source filters
        keep pairs with at least one side matching), chosen one-to-one, best first."""
        f = filters or IncidentFilter()
        p = params or LinkParams()
        if p.days < 0 or p.days > 31:
            raise QueryError("days must be 0..31", "days")
        if not 0 < p.km <= 500:
            raise QueryError("km must be more than 0 and at most 500", "km")
        if not 0 <= p.min_score <= 1:
            raise QueryError("min_score must be 0..1", "min_score")
        # An actor or source no record has is a 422 naming it, as incident lists answer
        # (an empty answer would read as "no duplicates"); the actor is resolved to the
        # id its records are counted under.
        known = self.known_filter(f)
        records = self.link_records(f.replace(actor=None, source=None))
        wanted = None
        if known.actor or known.source:
            # The records the incident list with these filters finds (through the actor's
            # and the source's link rows, so an actor linked by same_actor or an alias
            # finds every record of its cluster): a pair needs one of them.
            keys = self.matching_keys(known)

            def wanted(r: LinkRecord) -> bool:
                return r.key in keys
        found = candidates(records, p, excluded=self._distinct_pairs(), wanted=wanted)
        return {"as_of": self._as_of(), "method": p.method(),
                "parameters": {"days": p.days, "km": p.km, "min_score": p.min_score},
                "filters": {k: v for k, v in f.echo().items() if v is not None},
                "records": len(records),
                "candidates": [c.to_dict() for c in found]}

    def link_rows(self, f: IncidentFilter) -> list[Any]:
        """The rows the search reads: (key, best, low, high, doc) of the live records."""
        where = self._incident_filter(f)
        i, links = self.tbl("incidents"), self.tbl("links")
        return self._query(("link rows", where.terms), lambda valid: select(
            i.c.key, i.c.best, i.c.low, i.c.high, i.c.doc).where(
                *incident_conditions(i, links, where.terms, valid)), where.values)

    def matching_keys(self, f: IncidentFilter) -> set[str]:
        """The keys of the live records (standalone, or a cluster under its named record)
        matching `f`, a filter `known_filter` has resolved: the ones its incident list
        holds, the actor and source found through their link rows."""
        where = self._incident_filter(f)
        i, links = self.tbl("incidents"), self.tbl("links")
        return {key for (key,) in self._query(("link keys", where.terms), lambda valid: select(
            i.c.key).where(*incident_conditions(i, links, where.terms, valid)), where.values)}

    def link_records(self, f: IncidentFilter) -> list[LinkRecord]:
        """The search's records of the live rows matching `f`, their actors compared by
        the id they are counted under and by their ids', registered names' and aliases'
        words."""
        resolve = self._actor_resolution()
        rows = self.link_rows(f)
        # The rows' actors read off their JSON (`listed_actors`: no whole decode), their
        # names in one query per 500 of them; an actor it misses is compared by its id.
        names = self._registered_names({a for row in rows for a in listed_actors(row[4])})
        out = []
        for key, best, low, high, doc in rows:
            r = record_of(key, orjson.loads(doc), int(best), int(low), int(high), resolve,
                          names)
            if r is not None:
                out.append(r)
        return out

    def _registered_names(self, keys: set[str]) -> dict[str, tuple[str, ...]]:
        """Each of these actors' registered name and aliases (case-folded, as the
        register's search column holds them), by actor id; none for an actor the register
        does not list."""
        by_doc = {actor_doc_id(k): k for k in keys}
        d = self.tbl("docs")
        ids = sorted(by_doc)
        out: dict[str, tuple[str, ...]] = {}
        for start in range(0, len(ids), 500):
            for doc_id, search in self._query(
                    "actor names and aliases", lambda valid: select(d.c.id, d.c.search).where(
                        d.c.kind == "actor", d.c.id.in_(bindparam("ids", expanding=True)),
                        valid(d)), {"ids": ids[start:start + 500]}):
                # id, name, aliases...: the id's own words are taken from the id.
                out[by_doc[doc_id]] = tuple((search or "").split("\x1f")[1:])
        return out

    def _identity_rows(self, kind: str, status: str) -> list[tuple[str, str]]:
        x = self.tbl("identity")
        return [(a, b) for a, b in self._query(
            "identity rows", lambda valid: select(x.c.a_key, x.c.b_key).where(
                x.c.kind == bindparam("kind"), x.c.status == bindparam("status"), valid(x)),
            {"kind": kind, "status": status})]

    def _actor_resolution(self) -> Any:
        """Actor id -> one id per group of actors linked by `same_actor` (transitively);
        the hook actor comparison goes through."""
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.get(x, x) != x:
                parent[x] = parent.get(parent[x], parent[x])
                x = parent[x]
            return x

        for a, b in self._identity_rows("actor", "same"):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        return find if parent else None

    def _distinct_pairs(self) -> Any:
        pairs = {frozenset(p) for p in self._identity_rows("incident", "distinct")}
        if not pairs:
            return None

        def excluded(a: LinkRecord, b: LinkRecord) -> bool:
            return any(frozenset((x, y)) in pairs for x in a.members for y in b.members)
        return excluded
