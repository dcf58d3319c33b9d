"""The Incident aggregate: something that happened, and every figure reported for it."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from tracker.domain.base import Revisable, copy_tree, entity_id, same_value, set_path
from tracker.figures import figure_key, published_on


class Incident(Revisable, Aggregate):
    """An incident (battle, raid, strike, protest…) as reported, with its casualty figures.

    Figures are kept as each report gave them, per (source, actor, report); how they
    combine (which is a source's current figure, which is best) is tracker.figures', the
    same for the aggregate, the importers and the views.
    """

    @event("IncidentReported")
    def __init__(self, key: str, details: dict[str, Any], provenance: dict[str, Any]) -> None:
        self.key = key
        # Shared with the event until the first correction, which copies first (so the
        # event keeps what was reported); an import creates many and corrects few.
        self.details = details
        self.report = provenance["report"]
        self.figures: dict[str, dict[str, Any]] = {}
        self.materiel: list[dict[str, Any]] = []
        self.retracted: str | None = None
        self.retracted_reports: set[str] = set()
        # Every report that gave the incident something (details, figures, materiel,
        # corrections, assessments): it stays while one of them is live.
        self.reports: set[str] = {provenance["report"]}
        self.assessments: list[dict[str, Any]] = []

    @staticmethod
    def create_id(key: str) -> UUID:
        return entity_id("incident", key)

    @property
    def date(self) -> date:
        return self.details["date"]

    def is_same_report_of(self, details: dict[str, Any]) -> bool:
        """True when `details` says nothing the incident does not already say (a field
        a correction cleared, or a withdrawn correction set back, to null counts as
        absent)."""
        return all(same_value(self.details.get(k), v) for k, v in details.items())

    def report_casualties(
        self,
        source: str,
        actor: str | None,
        killed: int,
        low: int | None,
        high: int | None,
        extra: dict[str, Any],
        provenance: dict[str, Any],
    ) -> None:
        previous = self.figures.get(figure_key(source, actor, provenance["report"]))
        if previous is not None and (
                previous["killed"], previous["low"], previous["high"]) == (killed, low, high):
            return
        # Straight to the event class the decorator below defines: the same event, without
        # the decorator's per-call argument handling (a dataset import triggers one per row).
        self.trigger_event(
            self.CasualtiesReported,  # type: ignore[attr-defined]
            source=source, actor=actor, killed=killed, low=low,
            high=high, extra=extra, provenance=provenance,
        )

    @event("CasualtiesReported")
    def _casualties_reported(
        self,
        source: str,
        actor: str | None,
        killed: int,
        low: int | None,
        high: int | None,
        extra: dict[str, Any],
        provenance: dict[str, Any],
    ) -> None:
        self.figures[figure_key(source, actor, provenance["report"])] = {
            "source": source, "actor": actor, "killed": killed, "low": low, "high": high,
            "report": provenance["report"],
            # The figure's own publication date (a dataset row's), else its report's.
            "published": extra.get("published") or published_on(provenance),
            # Orders this incident's figures as the log does (its events' order).
            "seq": self.version,
        }
        self._refers(provenance)

    def _refers(self, provenance: dict[str, Any]) -> None:
        # getattr: an incident loaded from a snapshot taken before this attribute existed.
        refs = getattr(self, "reports", None)
        if refs is None:
            refs = self.reports = {self.report}
        refs.add(provenance["report"])

    @event("AssessmentRecorded")
    def record_assessment(self, killed: int, low: int | None, high: int | None, reason: str,
                          provenance: dict[str, Any]) -> None:
        """The analysts' own estimate: it sets best until retracted or replaced."""
        if not hasattr(self, "assessments"):
            self.assessments = []
        self.assessments.append({"killed": killed, "low": low, "high": high,
                                 "reason": reason, "report": provenance["report"],
                                 "source": provenance["source"]["name"]})
        self._refers(provenance)

    @event("MaterielReported")
    def report_materiel(
        self, action: str, items: list[str], provenance: dict[str, Any]
    ) -> None:
        self.materiel.append({"action": action, "items": list(items),
                              "report": provenance["report"]})
        self._refers(provenance)

    @event("IncidentCorrected")
    def _corrected(
        self, field: str, previous: Any, value: Any, reason: str, provenance: dict[str, Any]
    ) -> None:
        self.details = copy_tree(self.details)
        self._note_correction(field, previous, value, provenance["report"])
        set_path(self.details, field, value)
        self._refers(provenance)

    @event("IncidentRetracted")
    def _retracted(self, reason: str, provenance: dict[str, Any]) -> None:
        self.retracted = reason

    @event("IncidentReportRetracted")
    def _report_retracted(self, report: str, reason: str, provenance: dict[str, Any]) -> None:
        # A retraction withdraws exactly one report's claims: the incident itself goes only
        # when no live report refers to it any more.
        self.retracted_reports.add(report)
        self.figures = {k: f for k, f in self.figures.items() if f["report"] != report}
        self.materiel = [m for m in self.materiel if m["report"] != report]
        self.assessments = [a for a in getattr(self, "assessments", [])
                            if a["report"] != report]
        self._withdraw_corrections(report)
        live = getattr(self, "reports", {self.report}) - self.retracted_reports
        if self.report == report and not live:
            self.retracted = reason
