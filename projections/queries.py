"""Reading the views: the JSON shapes of contract 2 (CLI --json) and contract 3 (API)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from projections.casualty_tallies import DIMENSIONS, contributions
from projections.figures import ZERO, add
from projections.incident_state import involved_actors, killed
from projections.operation_status import op_doc_id
from tracker.domain.base import entity_id
from tracker.exceptions import EntityNotFoundError, TrackerError

if TYPE_CHECKING:
    from projections.base import Projection
    from projections.views.base import ViewStore

ROLE_ORDER = {"leader": 0, "emir": 0, "deputy": 1, "military_commander": 2}


class QueryError(TrackerError):
    """Raised when a query's arguments are invalid (unknown dimension, bad cursor…)."""

    code = "invalid_query"


def view_documents(store: ViewStore, ns: str, projection: Projection) -> dict[str, Any]:
    """Every document of one view namespace, keyed 'collection/id' (for verify)."""
    return {f"{coll}/{doc_id}": doc for coll in projection.collections
            for doc_id, doc in store.scan(ns, coll)}


class Views:
    """Read access to the active namespace of each projection in a store."""

    def __init__(self, store: ViewStore, as_of: datetime | None = None) -> None:
        self.store = store
        self.as_of = as_of

    def ns(self, name: str) -> str:
        return self.store.active(name) or f"{name}:v1"

    def position(self, name: str) -> int:
        return self.store.position(self.ns(name))

    def _get(self, name: str, coll: str, doc_id: str) -> dict[str, Any] | None:
        return self.store.read(self.ns(name), [(coll, doc_id)]).get((coll, doc_id))

    def _scan(self, name: str, coll: str) -> Iterator[tuple[str, dict[str, Any]]]:
        return self.store.scan(self.ns(name), coll)

    def _as_of(self) -> str | None:
        return self.as_of.isoformat() if self.as_of else None

    # -- leadership ---------------------------------------------------------------------

    def leadership(self, group: str) -> dict[str, Any]:
        doc = self._get("leadership", "group", group)
        actor = self._get("leadership", "actor", entity_id("actor", group).hex)
        if (doc is None and actor is None) or (actor and actor.get("retracted")):
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

    # -- casualties ---------------------------------------------------------------------

    def casualties(self, by: str, country: str | None = None, actor: str | None = None,
                   date_from: date | None = None, date_to: date | None = None) -> dict[str, Any]:
        if by not in DIMENSIONS:
            raise QueryError(f"cannot group casualties by {by!r}; use one of: "
                             + ", ".join(DIMENSIONS))
        if country or actor or date_from or date_to:
            rows, total = self._filtered_tally(by, country, actor, date_from, date_to)
        else:
            rows = [doc for _, doc in self._scan("casualties", f"tally:{by}")]
            total_doc = self._get("casualties", "tally:total", "all") or {**ZERO, "incidents": 0}
            total = {k: total_doc[k] for k in ("best", "low", "high")}
        if by == "month":
            rows.sort(key=lambda r: r["key"])
        else:
            rows.sort(key=lambda r: (-r["best"], r["key"]))
        return {
            "by": by, "as_of": self._as_of(),
            "filters": {"country": country, "actor": actor,
                        "from": date_from.isoformat() if date_from else None,
                        "to": date_to.isoformat() if date_to else None},
            "rows": [{"key": r["key"], "killed": {k: r[k] for k in ("best", "low", "high")},
                      "incidents": r["incidents"]} for r in rows],
            "total": total,
        }

    def _filtered_tally(self, by: str, country: str | None, actor: str | None,
                        date_from: date | None, date_to: date | None) -> tuple[list, dict]:
        rows: dict[str, dict[str, Any]] = {}
        total = dict(ZERO)
        for _, state in self._scan("casualties", "incident"):
            if not matches(state, country, actor, date_from, date_to):
                continue
            for (dimension, key), figure in contributions(state).items():
                if dimension == "total":
                    total = add(total, figure)
                elif dimension == by:
                    row = rows.setdefault(key, {"key": key, **ZERO, "incidents": 0})
                    row.update(add(row, figure))
                    row["incidents"] += 1
        return list(rows.values()), total

    # -- operations ---------------------------------------------------------------------

    def operations(self, operation: str | None = None) -> dict[str, Any]:
        """Operations (status, lead, partners) with their incidents and killed, which the
        casualties view tallies by operation."""
        if operation is not None:
            doc = self._get("operations", "operation", op_doc_id(operation))
            if doc is None or "name" not in doc or doc.get("retracted"):
                raise EntityNotFoundError("operation", operation)
            tally = self._get("casualties", "tally:operation", operation)
            return {**operation_row(doc, tally), "history": doc["history"],
                    "as_of": self._as_of()}
        docs = [doc for _, doc in self._scan("operations", "operation")
                if "name" in doc and not doc.get("retracted")]
        tallies = dict(self._scan("casualties", "tally:operation"))
        return {"as_of": self._as_of(),
                "operations": [operation_row(d, tallies.get(d["id"]))
                               for d in sorted(docs, key=lambda d: d["id"])]}

    # -- incidents ----------------------------------------------------------------------

    def incidents(self, country: str | None = None, actor: str | None = None,
                  date_from: date | None = None, date_to: date | None = None,
                  limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
        limit = max(1, min(limit, 1000))
        after = decode_cursor(cursor) if cursor else None
        found = [state for _, state in self._scan("incidents", "incident")
                 if not state["retracted"] and matches(state, country, actor, date_from, date_to)]
        found.sort(key=sort_key)
        if after is not None:
            found = [s for s in found if sort_key(s) > after]
        page = found[:limit]
        more = len(found) > limit
        return {
            "as_of": self._as_of(),
            "incidents": [incident_summary(s) for s in page],
            "next": encode_cursor(sort_key(page[-1])) if more and page else None,
        }

    def incident(self, incident_id: str) -> dict[str, Any]:
        state = self._get("incidents", "incident", entity_id("incident", incident_id).hex)
        if state is None:
            raise EntityNotFoundError("incident", incident_id)
        return {**incident_summary(state), "figures": list(state["figures"].values()),
                "materiel": state["materiel"], "corrections": state["corrections"],
                "reports": state["reports"], "retracted": state["retracted"],
                "as_of": self._as_of()}


def operation_row(doc: dict[str, Any], tally: dict[str, Any] | None) -> dict[str, Any]:
    tally = tally or {**ZERO, "ids": []}
    return {"id": doc["id"], "name": doc["name"], "status": doc["status"], "lead": doc["lead"],
            "partners": doc["partners"], "started": doc.get("started"),
            "incidents": tally["ids"],
            "killed": {k: tally[k] for k in ("best", "low", "high")}}


def matches(state: dict[str, Any], country: str | None, actor: str | None,
            date_from: date | None, date_to: date | None) -> bool:
    d = state["details"]
    if country and d.get("location", {}).get("country", "").lower() != country.lower():
        return False
    if actor and actor not in involved_actors(state):
        return False
    day = str(d.get("date", ""))
    if date_from and day < date_from.isoformat():
        return False
    return not (date_to and day > date_to.isoformat())


def sort_key(state: dict[str, Any]) -> tuple[str, str]:
    # Newest first: invert the date so one ascending key serves the cursor too.
    day = str(state["details"].get("date", ""))
    inverted = "".join(chr(0x7E - ord(c) + 0x30) if c.isdigit() else c for c in day)
    return (inverted, state["id"])


def encode_cursor(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        first, second = json.loads(raw)
        return (str(first), str(second))
    except (ValueError, TypeError) as e:
        raise QueryError(f"invalid cursor {cursor!r}: use the 'next' value of a page") from e


def incident_summary(state: dict[str, Any]) -> dict[str, Any]:
    d = state["details"]
    return {
        "id": state["id"], "date": d.get("date"), "date_precision": d.get("date_precision"),
        "date_end": d.get("date_end"), "type": d.get("type"), "subtype": d.get("subtype"),
        "location": d.get("location"), "actors": d.get("actors", []),
        "operation": d.get("operation"), "killed": killed(state),
        "sources": state["sources"], "notes": d.get("notes"),
    }
