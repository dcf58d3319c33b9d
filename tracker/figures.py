"""How casualty figures combine: the one model of figures, pure arithmetic, used by the
Incident aggregate (tracker.domain.incident), the importers' "unchanged" check and every
view that shows figures (projections).

An incident holds every figure every live report gave it, per (source, actor, report):
`figure_key`. Each figure carries its publication date (`published`) and a sequence
number that orders figures recorded for the same incident (`seq`).
The views depend on the set of live reports, never on the order they were recorded in:

- a figure's date is its own `published` where the fact gives one (a dataset row's
  revision date, a dataset release's date), else its report's (`published_on`): the
  source's `published` date, or for a report without one, the day it was recorded. Ties go
  to the figure recorded later;
- a source's current figure (per actor) is the one of its most recently published report;
  a source's total is its current figure without actor if it gave one, else the sum of its
  per-actor figures;
- best is the total of the source whose current figures were published last (rule
  `latest_published`; `single_source` when only one source gave figures); low and high are
  the range over the sources' totals, a source's explicit low/high standing in for its total;
- an analysts' `assessment` (the latest one recorded, while its report is live) sets best,
  and low/high where it gives them (rule `assessment`);
- values are kept as given; a range that does not contain best is flagged, not fixed.

Each best says where it comes from: `basis = {rule, report, source, published}`.
"""

from __future__ import annotations

from typing import Any

ZERO = {"best": 0, "low": 0, "high": 0}


def figure_key(source: str, actor: str | None, report: str | None) -> str:
    """Where an incident keeps one report's figure for one source and actor."""
    return f"{source}\x1f{actor or ''}\x1f{report}"


def published_on(provenance: dict[str, Any]) -> str | None:
    """A report's date: its source's `published`, else the day it was recorded."""
    day = (provenance.get("source") or {}).get("published")
    if day:
        return str(day)
    recorded = provenance.get("recorded_at")
    return str(recorded)[:10] if recorded else None


def current_figure(figures: dict[str, dict[str, Any]], source: str,
                   actor: str | None = None) -> dict[str, Any] | None:
    """A source's current figure (for an actor, or overall): the one of its most recently
    published live report."""
    found = [f for f in figures.values()
             if f["source"] == source and (f.get("actor") or None) == (actor or None)]
    return max(found, key=rank) if found else None

Rank = tuple[str, int]


def rank(figure: dict[str, Any]) -> Rank:
    """(published date, log position): later publication first, then later recording."""
    return (figure.get("published") or "", figure["seq"])


def _current(figures: dict[str, dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each source's current figure per actor ('' for its overall figure)."""
    current: dict[tuple[str, str], dict[str, Any]] = {}
    for f in figures.values():
        key = (f["source"], f.get("actor") or "")
        held = current.get(key)
        if held is None or rank(f) > rank(held):
            current[key] = f
    return current


def source_totals(figures: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per source: {best, low, high, rank, report, published, used} from its current
    figures (`used`: the figures its total adds up)."""
    by_source: dict[str, list[dict[str, Any]]] = {}
    for (source, _), f in _current(figures).items():
        by_source.setdefault(source, []).append(f)
    totals = {}
    for source, figs in by_source.items():
        overall = [f for f in figs if not f.get("actor")]
        used = overall if overall else figs
        latest = max(used, key=rank)
        totals[source] = {
            "best": sum(f["killed"] for f in used),
            "low": sum(f["low"] if f.get("low") is not None else f["killed"] for f in used),
            "high": sum(f["high"] if f.get("high") is not None else f["killed"] for f in used),
            "rank": rank(latest), "report": latest["report"],
            "published": latest.get("published"), "used": used}
    return totals


def _basis(rule: str, figure: dict[str, Any], source: str | None) -> dict[str, Any]:
    return {"rule": rule, "report": figure.get("report"), "source": source,
            "published": figure.get("published")}


def incident_killed(figures: dict[str, dict[str, Any]],
                    assessment: dict[str, Any] | None = None,
                    totals: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """{best, low, high, basis} of one incident; `flagged` when low > best or high < best.
    (`totals`: the figures' `source_totals`, when the caller has them already.)"""
    out: dict[str, Any]
    if len(figures) == 1 and assessment is None:
        # One figure (most incidents, every dataset row): it is the incident's total.
        (f,) = figures.values()
        best = f["killed"]
        out = {"best": best, "low": best if f.get("low") is None else f["low"],
               "high": best if f.get("high") is None else f["high"],
               "basis": _basis("single_source", f, f["source"])}
    else:
        if totals is None:
            totals = source_totals(figures)
        if totals:
            source, latest = max(totals.items(), key=lambda item: item[1]["rank"])
            out = {"best": latest["best"],
                   "low": min(t["low"] for t in totals.values()),
                   "high": max(t["high"] for t in totals.values()),
                   "basis": _basis("single_source" if len(totals) == 1 else "latest_published",
                                   {"report": latest["report"],
                                    "published": latest["published"]}, source)}
        else:
            out = {**ZERO, "basis": None}
        if assessment is not None:
            best = assessment["killed"]
            sources_low, sources_high = (out["low"], out["high"]) if totals else (best, best)
            out = {"best": best,
                   "low": sources_low if assessment.get("low") is None else assessment["low"],
                   "high": (sources_high if assessment.get("high") is None
                            else assessment["high"]),
                   "basis": _basis("assessment", assessment, assessment.get("source"))}
    if out["low"] > out["best"] or out["high"] < out["best"]:
        out["flagged"] = "range does not contain best (kept as given)"
    return out


def other_counts(figures: dict[str, dict[str, Any]],
                 totals: dict[str, dict[str, Any]] | None = None) -> dict[str, int | None]:
    """Civilians killed and wounded, as given by the source whose figures are the latest
    published (the basis of best among sources); None where it gave none. Never inferred
    from event types."""
    if not figures:
        return {"civilians": None, "wounded": None}
    if len(figures) == 1:
        (f,) = figures.values()
        return {"civilians": f.get("civilians"), "wounded": f.get("wounded")}
    if totals is None:
        totals = source_totals(figures)
    used = max(totals.values(), key=lambda t: t["rank"])["used"]
    out: dict[str, int | None] = {}
    for name in ("civilians", "wounded"):
        given = [f[name] for f in used if f.get(name) is not None]
        out[name] = sum(given) if given else None
    return out


def killed_by_actor(figures: dict[str, dict[str, Any]], involved: list[str],
                    total: dict[str, Any] | None = None) -> dict[str, dict[str, int]]:
    """Per actor: its figures by the same rules, over the figures naming it. When no figure
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
