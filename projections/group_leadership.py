"""Group leadership and the actor register: folds of the Actor aggregate's events.

Documents, read and written through a `Docs` accessor (the read model's working set):
- ("actor", aggregate id hex): an actor's name, kind, aliases, country, title, the groups
  it held roles in, and whether it was retracted: the actor register (`/actors`);
- ("group", group key): current leaders (person/role -> since, report) and former ones
  (until, reason, the death or capture's incident).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from projections.decode import RawEvent
from tracker.domain.base import entity_id, set_path, withdraw_corrections

ACTOR_EVENTS = frozenset({"ActorRegistered", "AliasAdded", "ActorCorrected", "ActorRetracted",
                          "ActorReportRetracted", "RoleAssumed", "RoleEnded",
                          "DeathReported", "CaptureReported", "ReleaseReported"})


class Docs(Protocol):
    def get(self, kind: str, doc_id: str) -> dict[str, Any] | None: ...

    def put(self, kind: str, doc_id: str, doc: dict[str, Any]) -> None: ...


def actor_doc_id(key: str) -> str:
    return entity_id("actor", key).hex


def fold_actor_event(docs: Docs, event: RawEvent) -> None:
    """Applies one Actor event to the actor and group documents it changes."""
    handler = HANDLERS.get(event.name)
    if handler is not None:
        handler(docs, event)


def _registered(docs: Docs, event: RawEvent) -> None:
    d = event.data["details"]
    docs.put("actor", event.oid, {
        "id": event.data["key"], "name": d["name"], "kind": d["kind"],
        "aliases": list(d.get("aliases") or []), "country": d.get("country"),
        "title": d.get("title"), "groups": [], "retracted": None,
        "report": event.data["provenance"]["report"]})
    group = docs.get("group", event.data["key"])
    if group is not None:
        group["name"] = d["name"]
        docs.put("group", event.data["key"], group)


def _alias_added(docs: Docs, event: RawEvent) -> None:
    actor = docs.get("actor", event.oid)
    if actor is not None and event.data["alias"] not in actor["aliases"]:
        actor["aliases"].append(event.data["alias"])
        # The report that gave it: retracting that report withdraws the alias.
        actor.setdefault("alias_reports", {})[event.data["alias"]] = (
            event.data["provenance"]["report"])
        docs.put("actor", event.oid, actor)


def _group(docs: Docs, key: str) -> dict[str, Any]:
    group = docs.get("group", key)
    if group is None:
        actor = docs.get("actor", actor_doc_id(key))
        group = {"group": key, "name": actor["name"] if actor else key,
                 "leaders": {}, "former": [], "retracted": None}
    return group


def _join(docs: Docs, event: RawEvent, person: dict[str, Any], group: str) -> None:
    if group not in person["groups"]:
        person["groups"].append(group)
        docs.put("actor", event.oid, person)


def _role_assumed(docs: Docs, event: RawEvent) -> None:
    person = docs.get("actor", event.oid)
    if person is None:
        return
    e = event.data
    group = _group(docs, e["group"])
    group["leaders"][f"{person['id']}/{e['role']}"] = {
        "person": person["id"], "name": person["name"], "role": e["role"],
        "since": e.get("since"), "report": e["provenance"]["report"],
        "position": event.position}
    docs.put("group", e["group"], group)
    _join(docs, event, person, e["group"])


def _role_ended(docs: Docs, event: RawEvent) -> None:
    person = docs.get("actor", event.oid)
    if person is None:
        return
    e = event.data
    group = _group(docs, e["group"])
    held = group["leaders"].pop(f"{person['id']}/{e['role']}", None)
    group["former"].append({
        "person": person["id"], "name": person["name"], "role": e["role"],
        "since": held["since"] if held else None, "until": e.get("ended"),
        "reason": e["reason"], "cause": e.get("cause"), "incident": e.get("incident"),
        "report": e["provenance"]["report"],
        "assumed_report": held["report"] if held else None, "position": event.position})
    docs.put("group", e["group"], group)
    _join(docs, event, person, e["group"])


def _corrected(docs: Docs, event: RawEvent) -> None:
    actor = docs.get("actor", event.oid)
    if actor is None:
        return
    field, value = event.data["field"], event.data["value"]
    # What retracting its report undoes (tracker.domain.base.withdraw_corrections).
    actor.setdefault("originals", {}).setdefault(field, event.data["previous"])
    actor.setdefault("corrections", []).append(
        {"field": field, "value": value, "report": event.data["provenance"]["report"]})
    docs.put("actor", event.oid, actor)
    _set_field(docs, event.oid, actor, field, value)


def _new_fate(docs: Docs, event: RawEvent) -> None:
    """A death, capture or release replaces the actor's fate: corrections of the one before
    no longer apply (as the Actor aggregate has it)."""
    actor = docs.get("actor", event.oid)
    if actor is None or not any(c["field"].startswith("fate.")
                                for c in actor.get("corrections", ())):
        return
    actor["corrections"] = [c for c in actor["corrections"]
                            if not c["field"].startswith("fate.")]
    actor["originals"] = {k: v for k, v in actor["originals"].items()
                          if not k.startswith("fate.")}
    docs.put("actor", event.oid, actor)


def _set_field(docs: Docs, oid: str, actor: dict[str, Any], field: str, value: Any) -> None:
    """One field of the actor set to `value`, in its document and the groups' it shows in."""
    if field in ("name", "kind", "aliases", "country", "title"):
        set_path(actor, field, value)
        docs.put("actor", oid, actor)
    if field not in ("name", "fate.date"):
        return
    if field == "name":
        own = docs.get("group", actor["id"])
        if own is not None:
            own["name"] = value
            docs.put("group", actor["id"], own)
    for group_key in actor["groups"]:
        group = docs.get("group", group_key)
        if group is None:
            continue
        for entry in [*group["leaders"].values(), *group["former"]]:
            if entry["person"] != actor["id"]:
                continue
            if field == "name":
                entry["name"] = value
            elif entry.get("cause") in ("death", "capture"):
                entry["until"] = value
        docs.put("group", group_key, group)


def _retracted(docs: Docs, event: RawEvent) -> None:
    actor = docs.get("actor", event.oid)
    if actor is None:
        return
    actor["retracted"] = event.data["reason"]
    docs.put("actor", event.oid, actor)
    own = docs.get("group", actor["id"])
    if own is not None:
        own["retracted"] = event.data["reason"]
        docs.put("group", actor["id"], own)
    for group_key in actor["groups"]:
        group = docs.get("group", group_key)
        if group is None:
            continue
        group["leaders"] = {k: e for k, e in group["leaders"].items()
                            if e["person"] != actor["id"]}
        group["former"] = [e for e in group["former"] if e["person"] != actor["id"]]
        docs.put("group", group_key, group)


def _report_retracted(docs: Docs, event: RawEvent) -> None:
    actor = docs.get("actor", event.oid)
    if actor is None:
        return
    report = event.data["report"]
    if actor.get("report", report) == report:
        actor["registration_withdrawn"] = report
        docs.put("actor", event.oid, actor)
    kept, changes = withdraw_corrections(actor.get("corrections", []),
                                         actor.get("originals", {}), report)
    if changes:
        actor["corrections"] = kept
        docs.put("actor", event.oid, actor)
        for path, value in changes:
            _set_field(docs, event.oid, actor, path, value)
    given = actor.get("alias_reports") or {}
    withdrawn = {a for a, r in given.items() if r == report}
    if withdrawn:
        actor["aliases"] = [a for a in actor["aliases"] if a not in withdrawn]
        actor["alias_reports"] = {a: r for a, r in given.items() if a not in withdrawn}
        docs.put("actor", event.oid, actor)
    for group_key in actor["groups"]:
        group = docs.get("group", group_key)
        if group is None:
            continue
        group["leaders"] = {k: e for k, e in group["leaders"].items()
                            if not (e["person"] == actor["id"] and e["report"] == report)}
        kept = []
        for e in group["former"]:
            if e["person"] != actor["id"]:
                kept.append(e)
            elif e.get("assumed_report") == report:
                continue
            elif e["report"] == report:
                # The end is withdrawn: the role counts as held again.
                if e.get("assumed_report"):
                    group["leaders"][f"{e['person']}/{e['role']}"] = {
                        "person": e["person"], "name": e["name"], "role": e["role"],
                        "since": e["since"], "report": e["assumed_report"],
                        "position": e["position"]}
            else:
                kept.append(e)
        group["former"] = kept
        docs.put("group", group_key, group)


HANDLERS: dict[str, Callable[[Docs, RawEvent], None]] = {
    "ActorRegistered": _registered, "AliasAdded": _alias_added,
    "RoleAssumed": _role_assumed, "RoleEnded": _role_ended, "ActorCorrected": _corrected,
    "ActorRetracted": _retracted, "ActorReportRetracted": _report_retracted,
    "DeathReported": _new_fate, "CaptureReported": _new_fate, "ReleaseReported": _new_fate,
}
