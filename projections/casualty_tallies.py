"""Casualty tallies: killed (best/low/high) and incident counts by country, admin1, actor,
month and incident type, kept up to date by deltas as figures, corrections and retractions
arrive. Filtered queries (country, actor, date range) fold the per-incident documents."""

from __future__ import annotations

from typing import Any

from projections.base import Projection, handles, uid
from projections.figures import ZERO, add, killed_by_actor, strip
from projections.incident_state import INCIDENT_EVENTS, fold_incident, involved_actors, killed
from projections.views.base import Batch, DocKey

DIMENSIONS = ("country", "admin1", "actor", "month", "type")
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
    for actor, figure in killed_by_actor(state["figures"], involved_actors(state)).items():
        rows[("actor", actor)] = figure
    return rows


def tally_changes(before: dict[str, Any] | None,
                  after: dict[str, Any] | None) -> dict[tuple[str, str], dict[str, int]]:
    """The pure change function: per tally row, the delta of killed and of incidents."""
    old, new = contributions(before), contributions(after)
    changes = {}
    for row in set(old) | set(new):
        delta = add(new.get(row, ZERO), old.get(row, ZERO), -1)
        delta["incidents"] = (row in new) - (row in old)
        if any(delta.values()):
            changes[row] = delta
    return changes


class CasualtyTallyProjection(Projection):
    """Tallies of the killed, per dimension, with the incidents behind them."""

    name = "casualties"
    version = 1
    collections = ("incident", "tally:country", "tally:admin1", "tally:actor", "tally:month", "tally:type", "tally:total")

    def prefetch_keys(self, event: Any) -> list[DocKey]:
        return [("incident", uid(event))]

    @handles(*INCIDENT_EVENTS)
    def incident_changed(self, event: Any, position: int, batch: Batch) -> None:
        before = batch.get("incident", uid(event))
        after = fold_incident(before, event, position)
        if after is None:
            return
        batch.put("incident", uid(event), after)
        for (dimension, key), delta in tally_changes(before, after).items():
            row = batch.get(f"tally:{dimension}", key) or {"key": key, **ZERO, "incidents": 0}
            row.update(add(row, delta))
            row["incidents"] += delta["incidents"]
            if row["incidents"] == 0 and not any(row[k] for k in ("best", "low", "high")):
                batch.delete(f"tally:{dimension}", key)
            else:
                batch.put(f"tally:{dimension}", key, row)
