"""Casualty tallies: killed (best/low/high) and incident counts by country, admin1, actor,
month, incident type and operation, kept up to date by deltas as figures, corrections and
retractions arrive. Filtered queries (country, actor, date range) fold the per-incident
documents. The operation rows also list their incidents: the operations view reads them."""

from __future__ import annotations

from typing import Any

from projections.base import handles, uid
from projections.figures import ZERO, killed_by_actor, strip
from projections.incident_state import (
    INCIDENT_EVENTS,
    IncidentDocuments,
    fold_incident,
    involved_actors,
    killed,
)
from projections.views.base import Batch, DocKey

DIMENSIONS = ("country", "admin1", "actor", "month", "type", "operation")
# The incident fields the tallies read (and the filters of filtered queries).
KEEP = frozenset({"date", "type", "location", "actors", "operation"})
UNKNOWN = "(unknown)"


def contributions(state: dict[str, Any] | None) -> dict[tuple[str, str], dict[str, int]]:
    """What one incident adds to each tally row: {(dimension, key): {best, low, high}}."""
    if state is None or state["retracted"]:
        return {}
    d = state["details"]
    total = strip(killed(state))
    loc = d.get("location", {})
    rows = {
        ("country", loc.get("country") or UNKNOWN): total,
        ("admin1", loc.get("admin1") or UNKNOWN): total,
        ("month", str(d.get("date", ""))[:7] or UNKNOWN): total,
        ("type", d.get("type") or UNKNOWN): total,
        ("total", "all"): total,
    }
    for actor, figure in killed_by_actor(state["figures"], involved_actors(state),
                                         total).items():
        rows[("actor", actor)] = figure
    if d.get("operation"):
        rows[("operation", d["operation"])] = total
    return rows


Rows = dict[tuple[str, str], dict[str, int]]


def tally_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> Rows:
    """The pure change function: per tally row, the delta of killed and of incidents."""
    return row_changes(contributions(before), contributions(after))


def row_changes(old: Rows, new: Rows) -> Rows:
    """The delta between what an incident contributed before and after one event."""
    changes = {}
    for row in old.keys() | new.keys():
        o, n = old.get(row), new.get(row)
        if o is None:
            assert n is not None
            delta = {"best": n["best"], "low": n["low"], "high": n["high"], "incidents": 1}
        elif n is None:
            delta = {"best": -o["best"], "low": -o["low"], "high": -o["high"], "incidents": -1}
        else:
            delta = {"best": n["best"] - o["best"], "low": n["low"] - o["low"],
                     "high": n["high"] - o["high"], "incidents": 0}
            if not (delta["best"] or delta["low"] or delta["high"]):
                continue
        changes[row] = delta
    return changes


class CasualtyTallyProjection(IncidentDocuments):
    """Tallies of the killed, per dimension, with the incidents behind them."""

    name = "casualties"
    version = 1
    collections = ("incident", "tally:country", "tally:admin1", "tally:actor", "tally:month",
                   "tally:type", "tally:operation", "tally:total")

    @handles(*INCIDENT_EVENTS)
    def incident_changed(self, event: Any, position: int, batch: Batch) -> None:
        doc_id = uid(event)
        state = batch.get("incident", doc_id)
        # What an incident contributed before this batch is kept in its document ("rows");
        # what it contributes after is computed once per batch in `flush`, however many
        # of its events the batch holds (an import gives each new incident two).
        touched: dict[str, list[list[Any]]] = batch.scratch.setdefault("touched", {})
        if doc_id not in touched:
            touched[doc_id] = state.get("rows", []) if state is not None else []
        after = fold_incident(state, event, position, keep=KEEP)
        if after is not None:
            batch.put("incident", doc_id, after)

    def flush(self, batch: Batch) -> None:
        # Sum the deltas of the whole batch, then write each tally row once.
        pending: dict[tuple[str, str], list[int]] = {}
        # Operation rows also list their incidents: +1 joins, -1 leaves (both: stays).
        members: dict[str, dict[str, int]] = {}
        for doc_id, old in batch.scratch.pop("touched", {}).items():
            after = batch.get("incident", doc_id)
            if after is None:
                continue
            new: list[list[Any]] = [[dim, key, f["best"], f["low"], f["high"]]
                                    for (dim, key), f in contributions(after).items()]
            after["rows"] = new
            for contributed, sign in ((old, -1), (new, 1)):
                for dim, key, best, low, high in contributed:
                    if dim == "operation":
                        joined = members.setdefault(key, {})
                        joined[after["id"]] = joined.get(after["id"], 0) + sign
                    acc = pending.get((dim, key))
                    if acc is None:
                        acc = pending[(dim, key)] = [0, 0, 0, 0]
                    acc[0] += sign * best
                    acc[1] += sign * low
                    acc[2] += sign * high
                    acc[3] += sign

        def changed(dim: str, key: str, acc: list[int]) -> bool:
            return any(acc) or (dim == "operation" and any(members.get(key, {}).values()))

        rows: list[DocKey] = [(f"tally:{dim}", str(key)) for (dim, key), acc in pending.items()
                              if changed(dim, key, acc)]
        batch.prefetch(rows)
        for (dim, key), acc in pending.items():
            if not changed(dim, key, acc):
                continue
            best, low, high, incidents = acc
            coll = f"tally:{dim}"
            row = batch.get(coll, key) or {"key": key, **ZERO, "incidents": 0}
            row["best"] += best
            row["low"] += low
            row["high"] += high
            row["incidents"] += incidents
            if dim == "operation":
                ids = set(row.get("ids", []))
                for incident, change in members.get(key, {}).items():
                    if change > 0:
                        ids.add(incident)
                    elif change < 0:
                        ids.discard(incident)
                row["ids"] = sorted(ids)
            if not (row["incidents"] or row["best"] or row["low"] or row["high"]):
                batch.delete(coll, key)
            else:
                batch.put(coll, key, row)
