"""The Actor aggregate: armed groups, state forces, governments, persons and their roles."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from tracker.domain.base import Revisable, copy_tree, entity_id, get_path, set_path

# How a death or capture ends a person's roles (the `reason` of RoleEnded).
ENDING_REASONS = {"death": "killed", "capture": "captured"}


class Actor(Revisable, Aggregate):
    """Anyone who acts in a conflict. A person's roles in groups live on the person,
    so that a death or capture can end them in the same save."""

    @event("ActorRegistered")
    def __init__(self, key: str, details: dict[str, Any], provenance: dict[str, Any]) -> None:
        self.key = key
        # A copy: the event keeps what was reported, whatever happens to the aggregate.
        self.details = copy_tree(details)
        self.report = provenance["report"]
        self.roles: dict[str, dict[str, Any]] = {}
        self.fate: dict[str, Any] | None = None
        self.retracted: str | None = None
        self.retracted_reports: set[str] = set()
        self.registration_withdrawn: str | None = None

    @staticmethod
    def create_id(key: str) -> UUID:
        return entity_id("actor", key)

    @property
    def name(self) -> str:
        return str(self.details["name"])

    @property
    def aliases(self) -> list[str]:
        return list(self.details.get("aliases") or [])

    def is_same_report_of(self, details: dict[str, Any]) -> bool:
        return all(
            self.details.get(k) == v for k, v in details.items() if k != "aliases"
        )

    def add_alias(self, alias: str, provenance: dict[str, Any]) -> None:
        if alias != self.name and alias not in self.aliases:
            self._alias_added(alias=alias, provenance=provenance)

    @event("AliasAdded")
    def _alias_added(self, alias: str, provenance: dict[str, Any]) -> None:
        self.details["aliases"] = [*self.aliases, alias]
        # Which report gave each alias: retracting it withdraws the alias.
        self.__dict__.setdefault("alias_reports", {})[alias] = provenance.get("report")

    @event("AffiliationRecorded")
    def record_affiliation(
        self, parent: str, relation: str, since: date | None, provenance: dict[str, Any]
    ) -> None:
        self.details.setdefault("affiliations", []).append(
            {"parent": parent, "relation": relation, "since": since}
        )

    @event("SanctionRecorded")
    def record_sanction(
        self, authority: str, listed: date | None, provenance: dict[str, Any]
    ) -> None:
        self.details.setdefault("sanctions", []).append({"authority": authority, "listed": listed})

    def assume_role(
        self, group: str, role: str, since: date | None, provenance: dict[str, Any]
    ) -> None:
        held = self.roles.get(f"{group}/{role}")
        if held is not None and held["since"] == since:
            return
        self._role_assumed(group=group, role=role, since=since, provenance=provenance)
        if self.fate is not None and self.fate["fate"] in ENDING_REASONS:
            # A source names a role the person held before the recorded death or
            # capture: it ended then, for the same cause.
            self._role_ended(
                group=group, role=role, reason=ENDING_REASONS[self.fate["fate"]],
                ended=self.fate["date"], incident=self.fate["incident"],
                cause=self.fate["fate"], provenance=provenance,
            )

    @event("RoleAssumed")
    def _role_assumed(
        self, group: str, role: str, since: date | None, provenance: dict[str, Any]
    ) -> None:
        self.roles[f"{group}/{role}"] = {
            "group": group, "role": role, "since": since, "report": provenance["report"]
        }

    def end_role(
        self,
        group: str,
        role: str,
        reason: str,
        ended: date | None,
        incident: str | None,
        provenance: dict[str, Any],
    ) -> None:
        # Ending a role nobody recorded is still a fact worth keeping (a source says
        # the person was deputy until…), so it records even without a matching role.
        self._role_ended(
            group=group, role=role, reason=reason, ended=ended, incident=incident,
            cause=None, provenance=provenance,
        )

    @event("RoleEnded")
    def _role_ended(
        self,
        group: str,
        role: str,
        reason: str,
        ended: date | None,
        incident: str | None,
        cause: str | None,
        provenance: dict[str, Any],
    ) -> None:
        held = self.roles.pop(f"{group}/{role}", None)
        if held is not None:
            # Kept with the report that ended it: retracting that report gives it back.
            self.__dict__.setdefault("_ended", {})[f"{group}/{role}"] = (
                held, provenance["report"])

    def report_fate(
        self,
        fate: str,
        when: date,
        incident: str | None,
        provenance: dict[str, Any],
        date_precision: str = "day",
    ) -> None:
        """Records a death, capture or release; a death or capture ends every role held."""
        if fate == "death":
            self._death_reported(
                when=when, date_precision=date_precision, incident=incident,
                provenance=provenance,
            )
        elif fate == "capture":
            self._capture_reported(
                when=when, date_precision=date_precision, incident=incident,
                provenance=provenance,
            )
        else:
            self._release_reported(
                when=when, date_precision=date_precision, incident=incident,
                provenance=provenance,
            )
        if fate in ENDING_REASONS:
            for held in sorted(self.roles.values(), key=lambda r: (r["group"], r["role"])):
                self._role_ended(
                    group=held["group"], role=held["role"], reason=ENDING_REASONS[fate],
                    ended=when, incident=incident, cause=fate, provenance=provenance,
                )

    @event("DeathReported")
    def _death_reported(
        self, when: date, date_precision: str, incident: str | None,
        provenance: dict[str, Any],
    ) -> None:
        self._new_fate({"date_precision": date_precision, "fate": "death", "date": when,
                        "incident": incident}, provenance["report"])

    @event("CaptureReported")
    def _capture_reported(
        self, when: date, date_precision: str, incident: str | None,
        provenance: dict[str, Any],
    ) -> None:
        self._new_fate({"date_precision": date_precision, "fate": "capture", "date": when,
                        "incident": incident}, provenance["report"])

    @event("ReleaseReported")
    def _release_reported(
        self, when: date, date_precision: str, incident: str | None,
        provenance: dict[str, Any],
    ) -> None:
        self._new_fate({"date_precision": date_precision, "fate": "release", "date": when,
                        "incident": incident}, provenance["report"])

    def _current(self, field: str) -> Any:
        if field.startswith("fate."):
            return get_path(self.fate or {}, field.removeprefix("fate."))
        return get_path(self.details, field)

    @event("ActorCorrected")
    def _corrected(
        self, field: str, previous: Any, value: Any, reason: str, provenance: dict[str, Any]
    ) -> None:
        self._note_correction(field, previous, value, provenance["report"])
        self._set_field(field, value)

    def _set_field(self, field: str, value: Any) -> None:
        if field.startswith("fate."):
            set_path(self.fate if self.fate is not None else {}, field[5:], value)
        else:
            set_path(self.details, field, value)

    def _new_fate(self, fate: dict[str, Any], report: str) -> None:
        """A death, capture or release replaces the fate: corrections of the one before no
        longer apply to it (nor does retracting them). Each is kept with its report:
        retracting that report brings back the fate before."""
        self.fate = fate
        state = self.__dict__
        state.setdefault("_fates", []).append((report, fate))
        if any(c["field"].startswith("fate.") for c in state.get("_corrections", ())):
            state["_corrections"] = [c for c in state["_corrections"]
                                     if not c["field"].startswith("fate.")]
            state["_originals"] = {k: v for k, v in state["_originals"].items()
                                   if not k.startswith("fate.")}

    @event("ActorRetracted")
    def _retracted(self, reason: str, provenance: dict[str, Any]) -> None:
        self.retracted = reason

    @event("ActorReportRetracted")
    def _report_retracted(self, report: str, reason: str, provenance: dict[str, Any]) -> None:
        # The report that registered the actor is withdrawn: its details are marked, but the
        # actor stays, as live reports may refer to it (incidents it took part in). The views
        # leave out an actor so marked that no live incident involves.
        self.retracted_reports.add(report)
        if self.report == report:
            self.registration_withdrawn = report
        self._withdraw_corrections(report)
        fates = self.__dict__.get("_fates", [])
        if any(r == report for r, _ in fates):
            fates[:] = [(r, f) for r, f in fates if r != report]
            self.fate = fates[-1][1] if fates else None
        # The roles its deaths, captures or role ends ended are held again (the views'
        # leadership has them back too), unless this report also gave them.
        ended = self.__dict__.get("_ended", {})
        for key, (role, by) in list(ended.items()):
            if by == report:
                del ended[key]
                if role["report"] != report and key not in self.roles:
                    self.roles[key] = role
        self.roles = {k: r for k, r in self.roles.items() if r["report"] != report}
        given = self.__dict__.get("alias_reports", {})
        withdrawn = {a for a, r in given.items() if r == report}
        if withdrawn:
            self.details["aliases"] = [a for a in self.aliases if a not in withdrawn]
            for alias in withdrawn:
                given.pop(alias)
