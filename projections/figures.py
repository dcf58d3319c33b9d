"""Pure arithmetic of casualty figures, shared by every view that shows them.

An incident holds figures per (source, actor). Rules:
- a later figure from a source supersedes that source's earlier one (the write side keeps
  one figure per source and actor; `seq` orders them by log position);
- a source's total is its figure without actor if it gave one, else the sum of its
  per-actor figures;
- best is the total of the source heard from last; low and high are the range over the
  sources' totals, each source's explicit low/high standing in for its total where given;
- values are kept as given; a range that does not contain best is flagged, not fixed.
"""

from __future__ import annotations

from typing import Any

ZERO = {"best": 0, "low": 0, "high": 0}


def source_totals(figures: dict[str, dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per source: {best, low, high, seq} from its current figures."""
    by_source: dict[str, list[dict[str, Any]]] = {}
    for f in figures.values():
        by_source.setdefault(f["source"], []).append(f)
    totals = {}
    for source, figs in by_source.items():
        overall = [f for f in figs if not f.get("actor")]
        used = overall if overall else figs
        best = sum(f["killed"] for f in used)
        low = sum(f["low"] if f.get("low") is not None else f["killed"] for f in used)
        high = sum(f["high"] if f.get("high") is not None else f["killed"] for f in used)
        totals[source] = {"best": best, "low": low, "high": high,
                          "seq": max(f["seq"] for f in figs)}
    return totals


def incident_killed(figures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """{best, low, high} of one incident; `flagged` when low > best or high < best."""
    if len(figures) == 1:
        # One figure (most incidents, every dataset row): it is the incident's total.
        (f,) = figures.values()
        best = f["killed"]
        out: dict[str, Any] = {
            "best": best, "low": best if f.get("low") is None else f["low"],
            "high": best if f.get("high") is None else f["high"]}
    else:
        totals = source_totals(figures)
        if not totals:
            return dict(ZERO)
        latest = max(totals.values(), key=lambda t: t["seq"])
        out = {
            "best": latest["best"],
            "low": min(t["low"] for t in totals.values()),
            "high": max(t["high"] for t in totals.values()),
        }
    if out["low"] > out["best"] or out["high"] < out["best"]:
        out["flagged"] = "range does not contain best (kept as given)"
    return out


def other_counts(figures: dict[str, dict[str, Any]]) -> dict[str, int | None]:
    """Civilians killed and wounded, as given by the source whose figure is best (the one
    heard from last); None where that source gave none. Never inferred from event types."""
    if not figures:
        return {"civilians": None, "wounded": None}
    if len(figures) == 1:
        (f,) = figures.values()
        return {"civilians": f.get("civilians"), "wounded": f.get("wounded")}
    latest_seq = max(f["seq"] for f in figures.values())
    source = next(f["source"] for f in figures.values() if f["seq"] == latest_seq)
    figs = [f for f in figures.values() if f["source"] == source]
    overall = [f for f in figs if not f.get("actor")] or figs
    out: dict[str, int | None] = {}
    for name in ("civilians", "wounded"):
        given = [f[name] for f in overall if f.get(name) is not None]
        out[name] = sum(given) if given else None
    return out


def killed_by_actor(figures: dict[str, dict[str, Any]], involved: list[str],
                    total: dict[str, int] | None = None) -> dict[str, dict[str, int]]:
    """Per actor: its figures from the source heard from last about it. When no figure
    names an actor, every involved actor is credited with the incident's total (the
    incident's deaths happened in fighting involving each of them)."""
    per_actor = [f for f in figures.values() if f.get("actor")]
    if not per_actor:
        overall = strip(total if total is not None else incident_killed(figures))
        return dict.fromkeys(involved, overall)  # shared: callers only read it
    out: dict[str, dict[str, int]] = {a: dict(ZERO) for a in involved}
    for actor in {f["actor"] for f in per_actor}:
        figs = [f for f in per_actor if f["actor"] == actor]
        out[actor] = strip(incident_killed({str(i): f for i, f in enumerate(figs)}))
    return out


def strip(killed: dict[str, Any]) -> dict[str, int]:
    return {"best": killed["best"], "low": killed["low"], "high": killed["high"]}
