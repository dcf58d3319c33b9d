"""Group leadership: for each group its current leaders and roles (since when, citing the
report) and its former leaders with until and reason, linked to the death or capture and
its incident."""

from __future__ import annotations

from typing import Any

from projections.base import Projection, handles, uid
from projections.views.base import Batch, DocKey
from tracker.audit import to_jsonable
from tracker.domain.base import entity_id

ACTOR_EVENTS = ("ActorRegistered", "ActorCorrected", "ActorRetracted", "ActorReportRetracted",
                "RoleAssumed", "RoleEnded")


def actor_doc_id(key: str) -> str:
    return entity_id("actor", key).hex


class GroupLeadershipProjection(Projection):
    """Per group: leaders (current roles) and former leaders (ended roles)."""

    name = "leadership"
    version = 1
    collections = ("actor", "group")

    def prefetch_keys(self, event: Any) -> list[DocKey]:
        keys = [("actor", uid(event))]
        group = getattr(event, "group", None)
        if group:
            keys += [("group", group), ("actor", actor_doc_id(group))]
        return keys

    @handles("ActorRegistered")
    def registered(self, event: Any, position: int, batch: Batch) -> None:
        batch.put("actor", uid(event), {
            "id": event.key, "name": event.details["name"], "kind": event.details["kind"],
            "groups": [], "retracted": None})
        group = batch.get("group", event.key)
        if group is not None:
            group["name"] = event.details["name"]
            batch.put("group", event.key, group)

    @handles("RoleAssumed")
    def role_assumed(self, event: Any, position: int, batch: Batch) -> None:
        person = batch.get("actor", uid(event))
        if person is None:
            return
        group = self._group(batch, event.group)
        group["leaders"][f"{person['id']}/{event.role}"] = {
            "person": person["id"], "name": person["name"], "role": event.role,
            "since": to_jsonable(event.since), "report": event.provenance["report"],
            "position": position}
        batch.put("group", event.group, group)
        if event.group not in person["groups"]:
            person["groups"].append(event.group)
            batch.put("actor", uid(event), person)

    @handles("RoleEnded")
    def role_ended(self, event: Any, position: int, batch: Batch) -> None:
        person = batch.get("actor", uid(event))
        if person is None:
            return
        group = self._group(batch, event.group)
        held = group["leaders"].pop(f"{person['id']}/{event.role}", None)
        group["former"].append({
            "person": person["id"], "name": person["name"], "role": event.role,
            "since": held["since"] if held else None, "until": to_jsonable(event.ended),
            "reason": event.reason, "cause": event.cause, "incident": event.incident,
            "report": event.provenance["report"],
            "assumed_report": held["report"] if held else None, "position": position})
        batch.put("group", event.group, group)
        if event.group not in person["groups"]:
            person["groups"].append(event.group)
            batch.put("actor", uid(event), person)

    @handles("ActorCorrected")
    def corrected(self, event: Any, position: int, batch: Batch) -> None:
        actor = batch.get("actor", uid(event))
        if actor is None or event.field not in ("name", "fate.date"):
            return
        if event.field == "name":
            actor["name"] = event.value
            batch.put("actor", uid(event), actor)
            own = batch.get("group", actor["id"])
            if own is not None:
                own["name"] = event.value
                batch.put("group", actor["id"], own)
        for group_key in actor["groups"]:
            group = batch.get("group", group_key)
            if group is None:
                continue
            for entry in [*group["leaders"].values(), *group["former"]]:
                if entry["person"] != actor["id"]:
                    continue
                if event.field == "name":
                    entry["name"] = event.value
                elif entry.get("cause") in ("death", "capture"):
                    entry["until"] = to_jsonable(event.value)
            batch.put("group", group_key, group)

    @handles("ActorRetracted")
    def retracted(self, event: Any, position: int, batch: Batch) -> None:
        actor = batch.get("actor", uid(event))
        if actor is None:
            return
        actor["retracted"] = event.reason
        batch.put("actor", uid(event), actor)
        own = batch.get("group", actor["id"])
        if own is not None:
            own["retracted"] = event.reason
            batch.put("group", actor["id"], own)
        self._drop_entries(batch, actor, lambda e: True)

    @handles("ActorReportRetracted")
    def report_retracted(self, event: Any, position: int, batch: Batch) -> None:
        actor = batch.get("actor", uid(event))
        if actor is None:
            return
        report = event.report
        for group_key in actor["groups"]:
            group = batch.get("group", group_key)
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
            batch.put("group", group_key, group)

    def _drop_entries(self, batch: Batch, actor: dict[str, Any], which: Any) -> None:
        for group_key in actor["groups"]:
            group = batch.get("group", group_key)
            if group is None:
                continue
            group["leaders"] = {k: e for k, e in group["leaders"].items()
                                if not (e["person"] == actor["id"] and which(e))}
            group["former"] = [e for e in group["former"]
                               if not (e["person"] == actor["id"] and which(e))]
            batch.put("group", group_key, group)

    @staticmethod
    def _group(batch: Batch, key: str) -> dict[str, Any]:
        group = batch.get("group", key)
        if group is None:
            actor = batch.get("actor", actor_doc_id(key))
            group = {"group": key, "name": actor["name"] if actor else key,
                     "leaders": {}, "former": [], "retracted": None}
        return group
