"""Reading the read model: the JSON shapes of contract 2 (CLI --json) and 3 (API).

Every read is at one log position: the present (rows with valid_to NULL) or "as of" a
unit end (rows with valid_from <= p < valid_to): index lookups, never a replay. Lists
filter and sort on indexed columns and page by keyset (date descending, then id).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from projections.casualty_tallies import DIMENSIONS, UNKNOWN
from projections.group_leadership import actor_doc_id
from projections.incident_state import incident_summary
from projections.operation_status import op_doc_id
from projections.readmodel.fold import micros
from projections.readmodel.schema import META_TABLE
from projections.readmodel.store import ReadModelStore, table
from tracker.domain.base import entity_id
from tracker.exceptions import EntityNotFoundError, TrackerError

ROLE_ORDER = {"leader": 0, "emir": 0, "deputy": 1, "military_commander": 2}
FIGS = ("best", "low", "high")


class QueryError(TrackerError):
    """Raised when a query's arguments are invalid (unknown dimension, bad cursor…);
    names the parameter at fault."""

    code = "invalid_query"

    def __init__(self, message: str, field: str = "query") -> None:
        self.field = field
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self),
                "errors": [{"field": self.field, "message": str(self)}]}


@dataclass(frozen=True)
class IncidentFilter:
    """The filters of incident lists and casualty tallies (contract 2), all optional."""

    country: str | None = None
    admin1: str | None = None
    type: str | None = None
    subtype: str | None = None
    actor: str | None = None
    operation: str | None = None
    source: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    min_killed: int | None = None
    bbox: tuple[float, float, float, float] | None = None

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> IncidentFilter:
        """The filters from parsed query arguments (the API's and the CLI's schema)."""
        return cls(country=args.get("country"), admin1=args.get("admin1"),
                   type=args.get("type"), subtype=args.get("subtype"),
                   actor=args.get("actor"), operation=args.get("operation"),
                   source=args.get("source"), date_from=args.get("from_"),
                   date_to=args.get("to"), min_killed=args.get("min_killed"),
                   bbox=args.get("bbox"))

    def any(self) -> bool:
        return any(v is not None for v in vars(self).values())

    def echo(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in vars(self).items():
            key = {"date_from": "from", "date_to": "to"}.get(name, name)
            out[key] = value.isoformat() if isinstance(value, date) else (
                list(value) if isinstance(value, tuple) else value)
        return out


def valid(alias: str, at: int | None) -> tuple[str, list[Any]]:
    """The rows of `alias` valid at position `at` (None: the present)."""
    if at is None:
        return f"{alias}.valid_to IS NULL", []
    return (f"{alias}.valid_from <= ? AND ({alias}.valid_to IS NULL OR {alias}.valid_to > ?)",
            [at, at])


class ReadViews:
    """The views of one generation at one position (`at`: None for the present)."""

    def __init__(self, store: ReadModelStore, conn: Connection, gen: int, position: int,
                 at: int | None = None, as_of: datetime | None = None) -> None:
        self.store = store
        self.conn = conn
        self.gen = gen
        self.position = position
        self.at = at
        self.as_of = as_of

    def t(self, name: str) -> str:
        return table(self.gen, name)

    def _fetch(self, sql: str, params: list[Any]) -> list[Any]:
        return self.store.fetch(self.conn, sql, params)

    def _as_of(self) -> str | None:
        return self.as_of.isoformat() if self.as_of else None

    def _doc(self, kind: str, doc_id: str, at: int | None = None) -> dict[str, Any] | None:
        cond, params = valid("d", self.at if at is None else at)
        rows = self._fetch(f"SELECT d.doc FROM {self.t('docs')} d WHERE d.kind = ? AND "
                           f"d.id = ? AND {cond}", [kind, doc_id, *params])
        return orjson.loads(rows[0][0]) if rows else None

    # -- leadership ---------------------------------------------------------------------

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

    def resolve_actor(self, name: str) -> str:
        """An actor's id from its id, a recorded name or an alias (case-insensitive)."""
        if self._doc("actor", actor_doc_id(name)) is not None:
            return name
        cond, params = valid("d", self.at)
        folded = name.casefold()
        rows = self._fetch(f"SELECT d.doc FROM {self.t('docs')} d WHERE d.kind = 'actor' AND "
                           f"{cond} AND d.search LIKE ?", [*params, f"%{folded}%"])
        for (body,) in rows:
            doc = orjson.loads(body)
            names = [doc["id"], doc["name"], *doc.get("aliases", [])]
            if folded in (n.casefold() for n in names):
                return str(doc["id"])
        return name

    # -- casualties ---------------------------------------------------------------------

    def casualties(self, by: str, filters: IncidentFilter | None = None) -> dict[str, Any]:
        if by not in DIMENSIONS:
            raise QueryError(f"cannot group casualties by {by!r}; use one of: "
                             + ", ".join(DIMENSIONS), "by")
        filters = filters or IncidentFilter()
        if filters.actor:
            filters = _replace(filters, actor=self.resolve_actor(filters.actor))
        if filters.any():
            rows, total = self._filtered_tally(by, filters)
        else:
            rows = [_tally_row(r) for r in self._tallies(by)]
            found = self._tallies("total")
            total = _tally_row(found[0])["killed"] if found else dict.fromkeys(FIGS, 0)
        names = self._actor_names([r["key"] for r in rows]) if by == "actor" else {}
        for r in rows:
            r["name"] = names.get(r["key"], r["key"])
        if by == "month":
            rows.sort(key=lambda r: r["key"])
        else:
            rows.sort(key=lambda r: (-r["killed"]["best"], r["key"]))
        return {"by": by, "as_of": self._as_of(), "filters": filters.echo(),
                "rows": rows, "total": total}

    def _tallies(self, dim: str) -> list[Any]:
        """The tally rows of one dimension at this position. As of a past position, one
        index seek per key (its last version starting by then), however many versions
        came after."""
        cols = "t.key, t.best, t.low, t.high, t.civilians, t.wounded, t.incidents"
        if self.at is None:
            return self._fetch(f"SELECT {cols} FROM {self.t('tallies')} t WHERE t.dim = ? "
                               "AND t.valid_to IS NULL", [dim])
        # CROSS JOIN: SQLite then walks the keys first (its documented way to fix the
        # join order); PostgreSQL plans it as any join.
        return self._fetch(
            f"SELECT {cols} FROM {self.t('tally_keys')} k CROSS JOIN {self.t('tallies')} t "
            f"WHERE k.dim = ? AND t.dim = k.dim AND t.key = k.key AND t.valid_from = ("
            f"SELECT max(s.valid_from) FROM {self.t('tallies')} s WHERE s.dim = k.dim "
            f"AND s.key = k.key AND s.valid_from <= ?) "
            f"AND (t.valid_to IS NULL OR t.valid_to > ?)",
            [dim, self.at, self.at])

    def _actor_names(self, keys: list[str]) -> dict[str, str]:
        names = {}
        cond, params = valid("d", self.at)
        for start in range(0, len(keys), 500):
            chunk = [actor_doc_id(k) for k in keys[start:start + 500]]
            for (body,) in self._fetch(
                    f"SELECT d.doc FROM {self.t('docs')} d WHERE d.kind = 'actor' AND d.id IN "
                    f"({','.join('?' * len(chunk))}) AND {cond}", [*chunk, *params]):
                doc = orjson.loads(body)
                names[doc["id"]] = doc["name"]
        return names

    def _filtered_tally(self, by: str, f: IncidentFilter) -> tuple[list[dict[str, Any]],
                                                                    dict[str, int]]:
        where, params = self._incident_where(f)
        if by == "actor":
            lcond, lparams = valid("a", self.at)
            sql = (f"SELECT a.ref, sum(COALESCE(a.best, i.best)), sum(COALESCE(a.low, i.low)), "
                   f"sum(COALESCE(a.high, i.high)), 0, 0, count(*) "
                   f"FROM {self.t('incidents')} i JOIN {self.t('links')} a ON a.oid = i.oid "
                   f"AND a.kind = 'a' AND {lcond} WHERE {where} GROUP BY a.ref")
            rows = [_tally_row(r) for r in self._fetch(sql, [*lparams, *params])]
        else:
            column = {"country": "i.country", "admin1": f"COALESCE(i.admin1, '{UNKNOWN}')",
                      "month": "substr(i.date, 1, 7)", "type": "i.type",
                      "operation": "i.operation"}[by]
            sql = (f"SELECT {column}, sum(i.best), sum(i.low), sum(i.high), "
                   f"sum(COALESCE(i.civilians, 0)), sum(COALESCE(i.wounded, 0)), count(*) "
                   f"FROM {self.t('incidents')} i WHERE {where} "
                   + ("AND i.operation IS NOT NULL " if by == "operation" else "")
                   + f"GROUP BY {column}")
            rows = [_tally_row(r) for r in self._fetch(sql, params)]
        found = self._fetch(f"SELECT sum(i.best), sum(i.low), sum(i.high) FROM "
                            f"{self.t('incidents')} i WHERE {where}", params)
        total = {k: int(v or 0) for k, v in zip(FIGS, found[0], strict=True)}
        return rows, total

    def _incident_where(self, f: IncidentFilter) -> tuple[str, list[Any]]:
        cond, params = valid("i", self.at)
        parts = [cond, "i.live = 1"]
        # (filter value, the condition it sets): values compared case-insensitively are
        # folded here, as they were when the columns were written.
        simple = (
            (f.country and f.country.casefold(), "i.country_k = ?"),
            (f.admin1 and f.admin1.casefold(), "i.admin1_k = ?"),
            (f.type and f.type.casefold(), "i.type = ?"),
            (f.subtype and f.subtype.casefold(), "lower(i.subtype) = ?"),
            (f.operation, "i.operation = ?"),
            (f.date_from and f.date_from.isoformat(), "i.date >= ?"),
            (f.date_to and f.date_to.isoformat(), "i.date <= ?"),
        )
        for value, condition in simple:
            if value:
                parts.append(condition)
                params.append(value)
        if f.min_killed is not None:
            parts.append("i.best >= ?")
            params.append(f.min_killed)
        if f.bbox:
            parts.append("i.longitude BETWEEN ? AND ? AND i.latitude BETWEEN ? AND ?")
            params += [f.bbox[0], f.bbox[2], f.bbox[1], f.bbox[3]]
        for kind, ref in (("a", f.actor), ("s", f.source.casefold() if f.source else None)):
            if ref:
                lcond, lparams = valid("x", self.at)
                parts.append(f"EXISTS (SELECT 1 FROM {self.t('links')} x WHERE x.oid = i.oid "
                             f"AND x.kind = ? AND x.ref = ? AND {lcond})")
                params += [kind, ref, *lparams]
        return " AND ".join(parts), params

    # -- operations ---------------------------------------------------------------------

    def operations(self, operation: str | None = None) -> dict[str, Any]:
        """Operations (status, lead, partners) with their incidents and killed."""
        if operation is not None:
            doc = self._doc("operation", op_doc_id(operation))
            if doc is None or doc.get("retracted"):
                raise EntityNotFoundError("operation", operation)
            return {**self._operation_row(doc), "history": doc["history"],
                    "as_of": self._as_of()}
        cond, params = valid("d", self.at)
        docs = [orjson.loads(body) for (body,) in self._fetch(
            f"SELECT d.doc FROM {self.t('docs')} d WHERE d.kind = 'operation' AND {cond}",
            params)]
        docs = [d for d in docs if not d.get("retracted")]
        return {"as_of": self._as_of(),
                "operations": [self._operation_row(d)
                               for d in sorted(docs, key=lambda d: d["id"])]}

    def _operation_row(self, doc: dict[str, Any]) -> dict[str, Any]:
        cond, params = valid("t", self.at)
        tally = self._fetch(f"SELECT t.best, t.low, t.high FROM {self.t('tallies')} t WHERE "
                            f"t.dim = 'operation' AND t.key = ? AND {cond}", [doc["id"], *params])
        icond, iparams = valid("i", self.at)
        ids = [r[0] for r in self._fetch(
            f"SELECT i.key FROM {self.t('incidents')} i WHERE i.operation = ? AND i.live = 1 "
            f"AND {icond} ORDER BY i.key", [doc["id"], *iparams])]
        killed = dict(zip(FIGS, tally[0], strict=True)) if tally else dict.fromkeys(FIGS, 0)
        return {"id": doc["id"], "name": doc["name"], "status": doc["status"],
                "lead": doc["lead"], "partners": doc["partners"], "started": doc.get("started"),
                "incidents": ids, "killed": killed}

    # -- incidents ----------------------------------------------------------------------

    def incidents(self, filters: IncidentFilter | None = None, limit: int = 50,
                  cursor: str | None = None) -> dict[str, Any]:
        limit = max(1, min(limit, 1000))
        rows = self._incident_rows(filters or IncidentFilter(), limit + 1, cursor)
        page = rows[:limit]
        more = len(rows) > limit
        return {
            "as_of": self._as_of(),
            "incidents": [incident_summary(orjson.loads(doc)) for _, _, doc in page],
            "next": encode_cursor((page[-1][0], page[-1][1])) if more and page else None,
        }

    def iter_incidents(self, filters: IncidentFilter | None = None, page: int = 1000,
                       summary: bool = True) -> Any:
        """Every matching incident, in list order, a page at a time: its summary, or
        (summary=False, for exports) its document with the figures already folded into
        `killed`, `civilians` and `wounded`."""
        cursor = None
        extra = "i.best, i.low, i.high, i.civilians, i.wounded"
        while True:
            rows = self._incident_rows(filters or IncidentFilter(), page, cursor, extra)
            for row in rows:
                doc = orjson.loads(row[2])
                if summary:
                    yield incident_summary(doc)
                else:
                    doc["killed"] = {"best": row[3], "low": row[4], "high": row[5]}
                    doc["civilians"], doc["wounded"] = {"best": row[6]}, {"best": row[7]}
                    yield doc
            if len(rows) < page:
                return
            cursor = encode_cursor((rows[-1][0], rows[-1][1]))

    def _incident_rows(self, f: IncidentFilter, n: int, cursor: str | None,
                       extra: str = "") -> list[Any]:
        """A page of (date, key, document), newest first. With an actor, the walk follows
        that actor's link rows (indexed by actor, date, id), so a rare actor costs what a
        common one does."""
        if f.actor:
            f = _replace(f, actor=self.resolve_actor(f.actor))
        order = "i"
        if f.actor:
            where, params = self._incident_where(_replace(f, actor=None))
            lcond, lparams = valid("l", self.at)
            source = (f"{self.t('links')} l JOIN {self.t('incidents')} i ON i.oid = l.oid "
                      f"AND {where}")
            params = [*params]
            where = f"l.kind = 'a' AND l.ref = ? AND {lcond}"
            params += [f.actor, *lparams]
            order = "l"
        else:
            where, params = self._incident_where(f)
            source = f"{self.t('incidents')} i"
        if cursor:
            day, key = decode_cursor(cursor)
            # Written as a range on date (not an OR) so the planner seeks the index.
            where += f" AND {order}.date <= ? AND NOT ({order}.date = ? AND {order}.key <= ?)"
            params += [day, day, key]
        sql = (f"SELECT i.date, i.key, i.doc{', ' + extra if extra else ''} FROM {source} "
               f"WHERE {where} "
               f"ORDER BY {order}.date DESC, {order}.key ASC LIMIT ?")
        return self._fetch(sql, [*params, n])

    def incident(self, incident_id: str) -> dict[str, Any]:
        cond, params = valid("i", self.at)
        rows = self._fetch(f"SELECT i.doc FROM {self.t('incidents')} i WHERE i.oid = ? AND "
                           f"{cond}", [entity_id("incident", incident_id).hex, *params])
        if not rows:
            raise EntityNotFoundError("incident", incident_id)
        state = orjson.loads(rows[0][0])
        return {**incident_summary(state), "figures": list(state["figures"].values()),
                "materiel": state["materiel"], "corrections": state["corrections"],
                "reports": state["reports"], "retracted": state["retracted"],
                "as_of": self._as_of()}

    # -- what changed -------------------------------------------------------------------

    def changes(self, by: str, p1: int, p2: int, t1: datetime, t2: datetime | None
                ) -> dict[str, Any]:
        """Per key of `by` whose tally moved between positions p1 and p2: before, after,
        and the reports (with source and position) whose units moved it."""
        if by not in DIMENSIONS:
            raise QueryError(f"cannot group changes by {by!r}; use one of: "
                             + ", ".join(DIMENSIONS), "by")
        t = self.t("tallies")
        moved = self._fetch(
            f"SELECT t.key, t.valid_from, t.valid_to FROM {t} t WHERE t.dim = ? AND "
            f"((t.valid_from > ? AND t.valid_from <= ?) OR (t.valid_to > ? AND t.valid_to <= ?))",
            [by, p1, p2, p1, p2])
        causes_at: dict[str, set[int]] = {}
        for key, vf, vt in moved:
            if p1 < vf <= p2:
                causes_at.setdefault(key, set()).add(int(vf))
            if vt is not None and p1 < vt <= p2:
                causes_at.setdefault(key, set()).add(int(vt))
        units: dict[int, tuple[str, str]] = {}
        wanted = sorted({p for ps in causes_at.values() for p in ps})
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            for pos, report, source in self._fetch(
                    f"SELECT position, report, source FROM {self.t('units')} WHERE position IN "
                    f"({','.join('?' * len(chunk))})", chunk):
                units[int(pos)] = (report, source)
        rows: list[dict[str, Any]] = []
        for key in sorted(causes_at):
            before = self._tally_at(by, key, p1)
            after = self._tally_at(by, key, p2)
            if before == after:
                continue
            rows.append({"key": key, "before": before, "after": after, "causes": [
                {"report": units.get(p, (None, None))[0], "source": units.get(p, (None, None))[1],
                 "position": p} for p in sorted(causes_at[key])]})
        rows.sort(key=lambda r: (-abs(int(r["after"]["best"]) - int(r["before"]["best"])),
                                 str(r["key"])))
        return {"from": t1.isoformat(), "to": t2.isoformat() if t2 else None, "by": by,
                "positions": {"from": p1, "to": p2}, "rows": rows}

    def _tally_at(self, by: str, key: str, at: int | None) -> dict[str, int]:
        cond, params = valid("t", at)
        rows = self._fetch(f"SELECT t.best, t.low, t.high, t.incidents FROM "
                           f"{self.t('tallies')} t WHERE t.dim = ? AND t.key = ? AND {cond}",
                           [by, key, *params])
        values = rows[0] if rows else (0, 0, 0, 0)
        return dict(zip((*FIGS, "incidents"), (int(v) for v in values), strict=True))

    # -- actors -------------------------------------------------------------------------

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


def like_literal(text: str) -> str:
    """`text` matched as itself by LIKE ... ESCAPE '!' (its % and _ are not wildcards),
    the same on SQLite and PostgreSQL."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


@contextmanager
def open_views(store: ReadModelStore, as_of: datetime | None = None) -> Iterator[ReadViews]:
    """The active generation's views in one read snapshot: the present, or as they stood
    at knowledge time `as_of` (the last report recorded by then)."""
    store.ensure_active()  # before the snapshot, which would not see tables made after it
    with store.reading() as conn:
        rows = store.fetch(conn, f"SELECT gen, position FROM {META_TABLE} "
                                 "WHERE status = 'active'")
        if not rows:  # a rebuild switched generations in between: it is active now
            raise QueryError("the views are being switched to a new generation; try again")
        gen, position = int(rows[0][0]), int(rows[0][1])
        at = position_at(store, conn, gen, as_of) if as_of is not None else None
        yield ReadViews(store, conn, gen, position, at=at, as_of=as_of)


def position_at(store: ReadModelStore, conn: Connection, gen: int, moment: datetime) -> int:
    """The last unit end recorded by `moment` (0 before the first)."""
    rows = store.fetch(conn, f"SELECT position FROM {table(gen, 'units')} WHERE known_at <= ? "
                             "ORDER BY known_at DESC, position DESC LIMIT 1",
                       [micros(moment.isoformat())])
    return int(rows[0][0]) if rows else 0


def _tally_row(r: Any) -> dict[str, Any]:
    key, best, low, high, civilians, wounded, incidents = r
    return {"key": key if key is not None else UNKNOWN,
            "killed": {"best": int(best or 0), "low": int(low or 0), "high": int(high or 0)},
            "civilians": {"best": int(civilians or 0)}, "wounded": {"best": int(wounded or 0)},
            "incidents": int(incidents)}


def _replace(f: IncidentFilter, **changes: Any) -> IncidentFilter:
    return IncidentFilter(**{**vars(f), **changes})


def encode_cursor(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        first, second = json.loads(raw)
        return (str(first), str(second))
    except (ValueError, TypeError) as e:
        raise QueryError(f"invalid cursor {cursor!r}: use the 'next' value of a page",
                         "cursor") from e
