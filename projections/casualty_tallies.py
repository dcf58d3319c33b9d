"""Casualty tallies: killed (best/low/high), civilians, wounded and incident counts by
country, admin1, actor, month, incident type and operation.

Pure change functions: what one incident contributes to each tally row, and to the rows
that link it to its actors and sources (the indexes behind the actor and source filters).
The read model (projections.readmodel) turns the difference between an incident's
contributions before and after a report into new versions of the rows that moved.
"""

from __future__ import annotations

from typing import Any

from projections.figures import killed_by_actor, other_counts, strip
from projections.incident_state import involved_actors, killed

DIMENSIONS = ("country", "admin1", "actor", "month", "type", "operation")
UNKNOWN = "(unknown)"

# A tally row's values: best, low, high, civilians, wounded (incidents counted apart).
Figures = tuple[int, int, int, int, int]
Rows = dict[tuple[str, str], Figures]


def contributions(state: dict[str, Any] | None) -> Rows:
    """What one incident adds to each tally row: {(dimension, key): figures}."""
    if state is None or state["retracted"]:
        return {}
    d = state["details"]
    k = killed(state)
    others = other_counts(state["figures"])
    total: Figures = (k["best"], k["low"], k["high"], others["civilians"] or 0,
                      others["wounded"] or 0)
    loc = d.get("location") or {}
    rows: Rows = {
        ("country", loc.get("country") or UNKNOWN): total,
        ("admin1", loc.get("admin1") or UNKNOWN): total,
        ("month", str(d.get("date") or "")[:7] or UNKNOWN): total,
        ("type", d.get("type") or UNKNOWN): total,
        ("total", "all"): total,
    }
    for actor, figure in actor_figures(state, k).items():
        rows[("actor", actor)] = figure
    if d.get("operation"):
        rows[("operation", d["operation"])] = total
    return rows


def actor_figures(state: dict[str, Any], total: dict[str, Any] | None = None
                  ) -> dict[str, Figures]:
    """Per involved actor: its own figures where a source gave them, else the incident's."""
    per = killed_by_actor(state["figures"], involved_actors(state),
                          strip(total if total is not None else killed(state)))
    return {a: (f["best"], f["low"], f["high"], 0, 0) for a, f in per.items()}


def links(state: dict[str, Any] | None) -> dict[tuple[str, str], Figures]:
    """The rows linking a live incident to each actor ('a') and source ('s') it involves,
    with the actor's figures (what by=actor tallies under a filter add up)."""
    if state is None or state["retracted"]:
        return {}
    out: dict[tuple[str, str], Figures] = {
        ("a", actor): figure for actor, figure in actor_figures(state).items()}
    for source in state["sources"]:
        out[("s", source.casefold())] = (0, 0, 0, 0, 0)
    return out


def tally_changes(old: Rows, new: Rows) -> dict[tuple[str, str], list[int]]:
    """The pure change function: per tally row, how best, low, high, civilians, wounded
    and the incident count move when an incident's contributions go from `old` to `new`
    (`contributions` of its state before and after a unit). Rows that do not move are
    left out."""
    changes: dict[tuple[str, str], list[int]] = {}
    for key in old.keys() | new.keys():
        o, n = old.get(key), new.get(key)
        if o == n:
            continue
        delta = [(n[i] if n else 0) - (o[i] if o else 0) for i in range(5)]
        delta.append((1 if n else 0) - (1 if o else 0))
        if any(delta):
            changes[key] = delta
    return changes
