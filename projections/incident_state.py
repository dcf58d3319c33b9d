"""What the views know of one incident: a fold of its events into a JSON document (no store access).

`fold_incident(state, event)` takes the current document (or None) and one event of the
Incident aggregate, as decoded for the projections, and returns the new document. It
changes `state` in place (copying every document would dominate a rebuild): callers take
what they need from it before calling. Nothing here reads or writes a store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.decode import RawEvent
from tracker.domain.base import set_path, withdraw_corrections
from tracker.figures import figure_key, incident_killed, other_counts, published_on

INCIDENT_EVENTS = frozenset({"IncidentReported", "CasualtiesReported", "MaterielReported",
                             "IncidentCorrected", "IncidentRetracted", "IncidentReportRetracted",
                             "AssessmentRecorded"})


def published(prov: dict[str, Any]) -> str | None:
    """A report's date: its source's `published`, else the day it was recorded."""
    return published_on(prov)


def cite(state: dict[str, Any], prov: dict[str, Any], position: int) -> None:
    """Keeps the sources a dataset row cites (ACLED's `source`, UCDP's `source_office`),
    per dataset and report, until that report is withdrawn."""
    ref = prov.get("ref") or {}
    cited = ref.get("sources") or ref.get("office")
    if isinstance(cited, str) and cited.strip():  # a ref is any scalars a report gives
        dataset = str(ref.get("dataset") or prov["source"]["name"])
        state.setdefault("cited", {})[f"{dataset}\x1f{prov['report']}"] = {
            "report": prov["report"], "sources": cited, "seq": position}


def cited_sources(state: dict[str, Any]) -> list[str]:
    """The sources the incident's dataset rows cite, each once: per dataset (and cluster
    member), the latest live report's (a revised row's replace the row's before)."""
    cited = state.get("cited")
    if not cited:
        return []
    latest: dict[str, dict[str, Any]] = {}
    for key, entry in cited.items():
        group = key.rsplit("\x1f", 1)[0]
        if group not in latest or entry["seq"] > latest[group]["seq"]:
            latest[group] = entry
    names: list[str] = []
    # By log position, not key order (documents read back have their keys sorted).
    for entry in sorted(latest.values(), key=lambda e: e["seq"]):
        names += [n.strip() for n in entry["sources"].split(";") if n.strip()]
    return list(dict.fromkeys(names))


def fold_incident(state: dict[str, Any] | None, event: RawEvent) -> dict[str, Any] | None:
    """The incident after `event`."""
    name, data = event.name, event.data
    prov = data["provenance"]
    if name == "IncidentReported":
        details = data["details"]
        state = {"id": data["key"], "details": details, "report": prov["report"],
                 "figures": {}, "retracted": None, "reports": [prov["report"]],
                 "withdrawn": [], "details_withdrawn": None, "assessments": [],
                 "sources": [prov["source"]["name"]], "materiel": [], "corrections": [],
                 "first_position": event.position, "recorded": prov.get("recorded_at")}
        cite(state, prov, event.position)
        return state
    if state is None:
        return None
    if name not in ("IncidentReportRetracted", "IncidentRetracted"):
        cite(state, prov, event.position)
    if prov["report"] not in state["reports"] and name not in (
            "IncidentReportRetracted", "IncidentRetracted"):
        state["reports"].append(prov["report"])
    if name == "CasualtiesReported":
        extra = data.get("extra") or {}
        figure = {"source": data["source"], "actor": data["actor"], "killed": data["killed"],
                  "low": data["low"], "high": data["high"], "report": prov["report"],
                  "seq": event.position, **extra,
                  # The figure's own publication date (a dataset row's), else its report's.
                  "published": extra.get("published") or published(prov)}
        breakdown = extra.get("breakdown") or {}
        if figure.get("civilians") is None and breakdown.get("civilians") is not None:
            figure["civilians"] = breakdown["civilians"]
        # Every live report's figure is kept: which one counts is decided by publication
        # date (projections.figures), so a retraction brings back the one before.
        state["figures"][figure_key(data["source"], data["actor"], prov["report"])] = figure
        if data["source"] not in state["sources"]:
            state["sources"].append(data["source"])
    elif name == "MaterielReported":
        state["materiel"].append({"action": data["action"], "items": list(data["items"]),
                                  "report": prov["report"]})
    elif name == "AssessmentRecorded":
        source = prov["source"]["name"]
        state.setdefault("assessments", []).append({
            "killed": data["killed"], "low": data["low"], "high": data["high"],
            "reason": data["reason"], "report": prov["report"], "published": published(prov),
            "seq": event.position, "source": source})
        # The analysts' desk reported on the incident too: its source is the incident's
        # (the source filter, /sources, the basis of best).
        if source not in state["sources"]:
            state["sources"].append(source)
    elif name == "IncidentCorrected":
        set_path(state["details"], data["field"], data["value"])
        state["details_withdrawn"] = None  # corrected by a live report
        # Each corrected field's value before its first correction: retracting the
        # report of a correction sets the field back (tracker.domain.base).
        state.setdefault("originals", {}).setdefault(data["field"], data["previous"])
        state["corrections"].append({
            "field": data["field"], "previous": data["previous"], "value": data["value"],
            "reason": data["reason"], "report": prov["report"], "position": event.position})
    elif name == "IncidentRetracted":
        state["retracted"] = data["reason"]
    elif name == "IncidentReportRetracted":
        # A retraction withdraws exactly one report's claims. The incident stays while a
        # live report still refers to it, its details marked as coming from the withdrawn
        # report until corrected.
        report = data["report"]
        withdrawn = state.setdefault("withdrawn", [])
        if report not in withdrawn:
            withdrawn.append(report)
        state["figures"] = {k: f for k, f in state["figures"].items() if f["report"] != report}
        # The sources are those of live reports: the report that registered the incident
        # (while it is live), each live figure's and each live assessment's.
        # In the order they first gave a live figure (by log position, not the figures'
        # key order: documents read back from their rows have their keys sorted).
        state["materiel"] = [m for m in state["materiel"] if m["report"] != report]
        state["assessments"] = [a for a in state.get("assessments", ())
                                if a["report"] != report]
        first = state["sources"][:1] if state["report"] not in withdrawn else []
        live = sorted([*state["figures"].values(), *state["assessments"]],
                      key=lambda f: f["seq"])
        state["sources"] = list(dict.fromkeys(
            [*first, *(f["source"] for f in live if f.get("source"))]))
        if state.get("cited"):
            state["cited"] = {k: c for k, c in state["cited"].items() if c["report"] != report}
        kept, changes = withdraw_corrections(state["corrections"], state.get("originals", {}),
                                             report)
        if changes:
            state["corrections"] = kept
            for path, value in changes:
                set_path(state["details"], path, value)
            if not kept and state["report"] in withdrawn:
                # No live correction confirms the details of the withdrawn registration.
                state["details_withdrawn"] = state["report"]
        if state["report"] == report:
            live = [r for r in state["reports"] if r not in withdrawn]
            if live:
                state["details_withdrawn"] = report
            else:
                state["retracted"] = data["reason"]
    return state


def involved_actors(state: dict[str, Any]) -> list[str]:
    """Actors taking part, in report order, plus any actor a figure names."""
    actors = [a["actor"] for a in state["details"].get("actors", [])]
    for f in state["figures"].values():
        if f.get("actor") and f["actor"] not in actors:
            actors.append(f["actor"])
    return actors


def assessment(state: dict[str, Any]) -> dict[str, Any] | None:
    """The analysts' latest live assessment, if any."""
    found = state.get("assessments")
    return found[-1] if found else None


def killed(state: dict[str, Any]) -> dict[str, Any]:
    return incident_killed(state["figures"], assessment(state))


def basis(state: dict[str, Any]) -> dict[str, Any] | None:
    """Where the incident's best comes from. Most incidents (every dataset row) have one
    figure and no assessment: its own report, read off without working the figures out."""
    figures = state["figures"]
    if len(figures) == 1 and not state.get("assessments"):
        (figure,) = figures.values()
        return {"rule": "single_source", "report": figure["report"],
                "source": figure["source"], "published": figure.get("published")}
    found: dict[str, Any] | None = killed(state).get("basis")
    return found


def own_figures(state: dict[str, Any], source: str) -> dict[str, dict[str, Any]]:
    """The figures one source gave (its name in any case), from every member of a cluster."""
    wanted = source.casefold()
    return {k: f for k, f in state["figures"].items()
            if str(f.get("source") or "").casefold() == wanted}


def source_counts(state: dict[str, Any], source: str) -> dict[str, Any]:
    """`killed`, `civilians` and `wounded` as one source gives them: the evidence rules
    (tracker.figures) over that source's figures alone, no assessment; null where it gave
    none."""
    own = own_figures(state, source)
    if not own:
        return {"killed": {"best": None, "low": None, "high": None, "basis": None},
                "civilians": {"best": None}, "wounded": {"best": None}}
    others = other_counts(own)
    return {"killed": incident_killed(own), "civilians": {"best": others["civilians"]},
            "wounded": {"best": others["wounded"]}}


def incident_summary(state: dict[str, Any]) -> dict[str, Any]:
    """An incident as lists show it."""
    d = state["details"]
    others = other_counts(state["figures"])
    return {
        "id": state["id"], "date": d.get("date"), "date_precision": d.get("date_precision"),
        "date_end": d.get("date_end"), "type": d.get("type"), "subtype": d.get("subtype"),
        "location": d.get("location"), "actors": d.get("actors", []),
        "operation": d.get("operation"), "killed": killed(state),
        "civilians": {"best": others["civilians"]}, "wounded": {"best": others["wounded"]},
        "sources": state["sources"], "notes": d.get("notes"),
        "details_withdrawn": state.get("details_withdrawn"),
        "members": state.get("members") or [state["id"]],
    }


def merge_cluster(canonical: str, members: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One document for records of one real event (linked by `same_incident`), counted
    under `canonical`: its details, and every live member's figures, sources, reports,
    assessments, materiel and corrections, so the evidence rules (tracker.figures) work
    across all of them. A retracted member counts for nothing; `members` lists the records
    counted. The canonical record's own document is kept under `own`."""
    base = members[canonical]
    live = {k: d for k, d in members.items() if not d["retracted"]}
    counted = [canonical] if canonical in live else []
    counted += sorted(k for k in live if k != canonical)
    figures: dict[str, dict[str, Any]] = {}
    # Each member's lists hold no repeats: merged in order, each item kept once (dicts
    # as ordered sets).
    sources: dict[str, None] = {}
    reports: dict[str, None] = {}
    withdrawn: dict[str, None] = {}
    materiel: list[dict[str, Any]] = []
    assessments: list[dict[str, Any]] = []
    corrections: list[dict[str, Any]] = []
    cited: dict[str, Any] = {}
    for key in counted:
        doc = live[key]
        more = doc.get("cited")
        if more:
            for cite_key, entry in more.items():
                cited[f"{key}\x1e{cite_key}"] = entry
        for fkey, figure in doc["figures"].items():
            figures[f"{key}\x1e{fkey}"] = figure
        sources.update(dict.fromkeys(doc["sources"]))
        reports.update(dict.fromkeys(doc["reports"]))
        if doc.get("withdrawn"):
            withdrawn.update(dict.fromkeys(doc["withdrawn"]))
        materiel += doc["materiel"]
        if doc.get("assessments"):
            assessments += doc["assessments"]
        corrections += doc["corrections"]
    if len(assessments) > 1:
        assessments.sort(key=lambda a: a["seq"])
    if len(corrections) > 1:
        corrections.sort(key=lambda c: c["position"])
    actors = list(base["details"].get("actors") or [])
    named = {a["actor"] for a in actors}
    for key in counted:
        for a in live[key]["details"].get("actors") or []:
            if a["actor"] not in named:
                named.add(a["actor"])
                actors.append(a)
    details = {**base["details"], "actors": actors} if actors else base["details"]
    return {
        "id": canonical, "details": details, "report": base["report"],
        "figures": figures, "retracted": None if counted else base["retracted"],
        "reports": list(reports), "withdrawn": list(withdrawn),
        "details_withdrawn": base.get("details_withdrawn"), "assessments": assessments,
        "sources": list(sources), "materiel": materiel, "corrections": corrections,
        "first_position": min(d["first_position"] for d in members.values()),
        "recorded": base.get("recorded"), "members": counted, "own": base,
        **({"cited": cited} if cited else {}),
    }


def canonical_of(keys: dict[str, dict[str, Any]], names: set[str]) -> str:
    """The record a cluster is counted under: of the records its links name first, the
    live one with the smallest id (order-independent); else any live member; else any."""
    live = {k for k, d in keys.items() if not d["retracted"]}
    for pool in (names & live, live, set(keys)):
        if pool:
            return min(pool)
    raise ValueError("an empty cluster")


def with_actors(state: dict[str, Any], resolve: Callable[[str], str]) -> dict[str, Any]:
    """`state` as counted when actors are linked (same_actor): each actor named by the
    details or a figure under the actor its cluster is counted under. The state itself is
    not changed; it is returned as is when no actor maps elsewhere."""
    actors = state["details"].get("actors") or []
    if not any(resolve(a["actor"]) != a["actor"] for a in actors) and not any(
            f.get("actor") and resolve(f["actor"]) != f["actor"]
            for f in state["figures"].values()):
        return state
    mapped: list[dict[str, Any]] = []
    for a in actors:
        entry = {**a, "actor": resolve(a["actor"])}
        if all(m["actor"] != entry["actor"] for m in mapped):
            mapped.append(entry)
    figures = {k: ({**f, "actor": resolve(f["actor"])} if f.get("actor") else f)
               for k, f in state["figures"].items()}
    return {**state, "details": {**state["details"], "actors": mapped}, "figures": figures}
