"""Incident and Operation aggregates, given-when-then."""

from datetime import date

from tracker.domain.incident import Incident
from tracker.domain.operation import Operation
from tracker.figures import current_figure


def prov(report: str = "r1") -> dict:
    return {"report": report, "source": {"name": "S", "kind": "media"}}


def niaki() -> Incident:
    incident = Incident(key="niaki", details={
        "date": date(2015, 11, 13), "type": "battle",
        "location": {"name": "Niaki", "country": "Mali", "admin1": "Mopti"}}, provenance=prov())
    incident.collect_events()
    return incident


def test_correcting_a_nested_field_records_before_and_after():
    incident = niaki()

    incident.correct("location.admin1", "Segou", "wrong region", prov("r2"))

    [corrected] = incident.collect_events()
    assert (corrected.previous, corrected.value) == ("Mopti", "Segou")
    assert incident.details["location"] == {"name": "Niaki", "country": "Mali", "admin1": "Segou"}


def test_a_later_figure_from_the_same_source_supersedes_the_earlier_one():
    incident = niaki()
    incident.report_casualties("MoD", "jnim", 30, None, None, {}, prov("r1"))
    incident.report_casualties("Media", "jnim", 25, None, None, {}, prov("r2"))

    incident.report_casualties("MoD", "jnim", 32, None, None, {}, prov("r3"))

    # Every report's figure is kept (a retraction of r3 brings r1's back); the source's
    # current one is its latest, by the one model of figures the views use too.
    assert sorted((f["source"], f["killed"]) for f in incident.figures.values()) == [
        ("Media", 25), ("MoD", 30), ("MoD", 32)]
    assert current_figure(incident.figures, "MoD", "jnim")["killed"] == 32
    incident.retract_report("r3", "wrong", prov("r4"))
    assert current_figure(incident.figures, "MoD", "jnim")["killed"] == 30


def test_a_source_current_figure_is_its_latest_published_not_its_latest_recorded():
    incident = niaki()
    dated = {"report": "r2", "source": {"name": "MoD", "kind": "official",
                                        "published": "2020-11-20"}}
    incident.report_casualties("MoD", None, 40, None, None, {}, dated)
    older = {"report": "r3", "source": {"name": "MoD", "kind": "official",
                                        "published": "2020-11-14"}}
    incident.report_casualties("MoD", None, 35, None, None, {}, older)
    assert current_figure(incident.figures, "MoD")["killed"] == 40
    # The same report's same figure again records nothing.
    incident.collect_events()
    incident.report_casualties("MoD", None, 35, None, None, {}, older)
    assert incident.collect_events() == []


def test_retracting_a_report_drops_its_figures_but_keeps_the_events():
    incident = niaki()
    incident.report_casualties("MoD", None, 30, None, None, {}, prov("r1"))
    incident.report_casualties("Media", None, 12, None, None, {}, prov("r2"))
    incident.collect_events()

    incident.retract_report("r2", "fabricated", prov("r9"))

    [retracted] = incident.collect_events()
    assert retracted.report == "r2"
    assert [f["killed"] for f in incident.figures.values()] == [30]
    assert incident.retracted is None


def test_retracting_the_report_that_created_the_incident_retracts_it():
    incident = niaki()
    incident.retract_report("r1", "wrong place", prov("r9"))
    assert incident.retracted == "wrong place"


def test_retracting_twice_records_once():
    incident = niaki()
    incident.retract("duplicate", prov("r2"))
    incident.retract("duplicate", prov("r3"))
    assert len(incident.collect_events()) == 1


def test_an_operation_status_change_names_the_previous_status():
    op = Operation(key="barkhane", details={"name": "Barkhane", "lead": "france",
                                           "status": "active"}, provenance=prov())
    op.collect_events()

    op.change_status("active", None, prov("r2"))
    op.change_status("concluded", date(2022, 11, 9), prov("r3"))

    [changed] = op.collect_events()
    assert (changed.previous, changed.status, changed.when) == (
        "active", "concluded", date(2022, 11, 9))


def test_retracting_a_report_undoes_the_status_change_it_reported():
    op = Operation(key="barkhane", details={"name": "Barkhane", "lead": "france",
                                           "status": "active"}, provenance=prov())
    op.change_status("suspended", None, prov("r2"))
    op.change_status("concluded", None, prov("r3"))

    op.retract_report("r3", "wrong operation", prov("r4"))
    assert op.status == "suspended"
    op.retract_report("r2", "rumour", prov("r5"))
    assert op.status == "active"
    # A later change names the status that counts now.
    op.change_status("concluded", None, prov("r6"))
    assert op.collect_events()[-1].previous == "active"
