"""Casualty tallies: killed (best/low/high), civilians, wounded and incident counts by
country, admin1 and admin2 (country-qualified: see `region_key`), actor, month, incident
type and operation.

Pure change functions: what one incident contributes to each tally row, and to the rows
that link it to its actors and sources (the indexes behind the actor and source filters).
The read model (projections.readmodel) turns the difference between an incident's
contributions before and after a report into new versions of the rows that moved.
"""

from __future__ import annotations

from operator import neg, sub
from typing import Any, NamedTuple

from projections.incident_state import assessment, involved_actors
from tracker.figures import incident_killed, killed_by_actor, other_counts, source_totals

DIMENSIONS = ("country", "admin1", "admin2", "actor", "month", "type", "operation")
UNKNOWN = "(unknown)"
# Regions are keyed with the regions above them: two countries' "Centre" are two rows,
# and a missing admin1 is unknown within its country, never pooled across countries.
REGION_LEVELS = {"country": ("country",), "admin1": ("country", "admin1"),
                 "admin2": ("country", "admin1", "admin2")}
SEP = " / "


def region_key(location: dict[str, Any], by: str) -> str:
    """The tally key of a location grouped `by` country, admin1 or admin2: its names from
    the country down, joined by " / " ("Mali / Mopti / Djenné"), a missing one "(unknown)"."""
    return SEP.join(str(location.get(level) or UNKNOWN) for level in REGION_LEVELS[by])


def region_fields(key: str, by: str) -> dict[str, str | None]:
    """The names a region key is made of ({"country", "admin1", ...}; None where unknown).
    A country name holds no " / ", so an admin1 key splits exactly; an admin2 key is split
    at its last separator."""
    levels = REGION_LEVELS[by]
    if len(levels) == 1:
        parts = [key]
    elif len(levels) == 2:
        parts = key.split(SEP, 1)
    else:
        head, _, last = key.rpartition(SEP)
        parts = [*head.split(SEP, 1), last]
    parts += [UNKNOWN] * (len(levels) - len(parts))
    return {level: (None if part == UNKNOWN else part)
            for level, part in zip(levels, parts, strict=False)}

# A tally row's values: best, low, high, civilians, wounded, and how many incidents a
# source gives civilians or wounded for (an unknown is not a zero); incidents counted apart.
Figures = tuple[int, int, int, int, int, int, int]
FIGURES = 7
Rows = dict[tuple[str, str], Figures]


class IncidentRows(NamedTuple):
    """Everything one incident puts in the read model's columns and rows, computed once."""

    killed: dict[str, Any]                      # best, low, high (and flagged)
    others: dict[str, int | None]               # civilians, wounded
    tallies: Rows                               # (dimension, key) -> figures
    links: dict[tuple[str, str], Figures | None]  # ('a', actor) / ('s', source) -> figures


NO_ROWS = IncidentRows({"best": 0, "low": 0, "high": 0},
                       {"civilians": None, "wounded": None}, {}, {})


def incident_rows(state: dict[str, Any] | None) -> IncidentRows:
    """What one incident contributes to each tally row, and the rows linking it to each
    actor it involves (with the actor's own figures, what by=actor tallies add up under a
    filter) and each source that reported it. A retracted incident contributes nothing."""
    if state is None:
        return NO_ROWS
    figures = state["figures"]
    # A cluster's (or a corrected incident's) figures are worked out per source once.
    totals = source_totals(figures) if len(figures) > 1 else None
    k = incident_killed(figures, assessment(state), totals)
    others = other_counts(figures, totals)
    if state["retracted"]:
        return IncidentRows(k, others, {}, {})
    d = state["details"]
    civilians, wounded = others["civilians"], others["wounded"]
    total: Figures = (k["best"], k["low"], k["high"], civilians or 0, wounded or 0,
                      0 if civilians is None else 1, 0 if wounded is None else 1)
    loc = d.get("location") or {}
    # region_key's three keys, built once from the country down.
    country = str(loc.get("country") or UNKNOWN)
    admin1 = f"{country}{SEP}{loc.get('admin1') or UNKNOWN}"
    tallies: Rows = {
        ("country", country): total,
        ("admin1", admin1): total,
        ("admin2", f"{admin1}{SEP}{loc.get('admin2') or UNKNOWN}"): total,
        ("month", str(d.get("date") or "")[:7] or UNKNOWN): total,
        ("type", d.get("type") or UNKNOWN): total,
        ("total", "all"): total,
    }
    if d.get("operation"):
        tallies[("operation", d["operation"])] = total
    # A link carries the actor's own figures only where a source gave figures per actor;
    # otherwise None: the actor counts the incident's figures (read from the incident's
    # row), so the link does not move each time a new figure arrives.
    named = any(f.get("actor") for f in figures.values())
    links: dict[tuple[str, str], Figures | None] = {}
    if named:
        for actor, f in killed_by_actor(figures, involved_actors(state), k).items():
            figs = (f["best"], f["low"], f["high"], 0, 0, 0, 0)
            tallies[("actor", actor)] = figs
            links[("a", actor)] = figs
    else:
        # No figure names an actor (most incidents): each involved actor counts the whole.
        figs = (k["best"], k["low"], k["high"], 0, 0, 0, 0)
        for a in d.get("actors") or ():
            tallies[("actor", a["actor"])] = figs
            links[("a", a["actor"])] = None
    for source in state["sources"]:
        links[("s", source.casefold())] = None
    return IncidentRows(k, others, tallies, links)


def contributions(state: dict[str, Any] | None) -> Rows:
    """What one incident adds to each tally row: {(dimension, key): figures}."""
    return incident_rows(state).tallies


def tally_changes(old: Rows, new: Rows) -> dict[tuple[str, str], list[int]]:
    """The pure change function: per tally row, how best, low, high, civilians, wounded,
    the incidents giving civilians and wounded, and the incident count move when an
    incident's contributions go from `old` to `new` (`contributions` of its state before
    and after a unit). Rows that do not move are left out."""
    changes = add_changes({}, old, new)
    return {key: delta for key, delta in changes.items() if any(delta)}


def _add(deltas: dict[tuple[str, str], list[int]], key: tuple[str, str], moved: list[int]
         ) -> None:
    acc = deltas.get(key)
    if acc is None:
        deltas[key] = moved
    else:
        for i, m in enumerate(moved):
            acc[i] += m


def add_changes(deltas: dict[tuple[str, str], list[int]], old: Rows, new: Rows
                ) -> dict[tuple[str, str], list[int]]:
    """Adds to `deltas` (per tally row: tally_changes' eight numbers) how one incident's
    rows move from `old` to `new`; returns `deltas`. A fold adds every incident of a unit
    into one `deltas` (rows that end at zero are the caller's to skip)."""
    # The lists in `deltas` are this function's own: a row's moves are added in place.
    for key, figs in new.items():
        was = old.get(key)
        if was is figs or was == figs:
            continue
        _add(deltas, key, [*figs, 1] if was is None else [*map(sub, figs, was), 0])
    for key, was in old.items():
        if key not in new:
            _add(deltas, key, [*map(neg, was), -1])
    return deltas
