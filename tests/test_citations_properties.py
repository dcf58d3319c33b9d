"""The verifier against the views, differentially: for generated histories (several
sources publishing figures for a few incidents, per-actor figures, assessments, corrections
of the country, retractions, same_incident links), every casualties citation the tracker
gives verifies offline: the standalone verifier's evidence rules agree with the views'."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.citations import cite
from tests.test_citations import open_services
from tracker.citation_verify import verify_citation
from tracker.transparency import Transparency, generate_signer

INCIDENTS = ("a", "b", "c", "d")
SOURCES = ("Ministry", "MINUSMA", "Local radio")
ACTORS = ("jnim", "army")
SIGNER = generate_signer("tracker.test")


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    countries = {i: draw(st.sampled_from(("Mali", "Niger"))) for i in INCIDENTS}
    reports: list[dict[str, Any]] = [{
        "report": "base", "source": {"name": "Ministry", "kind": "official",
                                     "published": "2020-11-01"},
        "facts": [*({"fact": "actor", "id": a, "name": a.upper(), "kind": "armed_group"}
                    for a in ACTORS),
                  *({"fact": "incident", "id": i, "date": "2020-10-20", "type": "battle",
                     "location": {"name": f"place {i}", "country": countries[i],
                                  "admin1": "North" if i < "c" else "South"},
                     "actors": [{"actor": "jnim", "side": "a"}, {"actor": "army", "side": "b"}]}
                    for i in INCIDENTS)]}]
    for n in range(draw(st.integers(1, 7))):
        facts: list[dict[str, Any]] = []
        for incident in draw(st.lists(st.sampled_from(INCIDENTS), min_size=1, max_size=3,
                                      unique=True)):
            kind = draw(st.sampled_from(("overall", "overall", "per_actor", "assessment",
                                         "correction")))
            killed = draw(st.integers(0, 60))
            spread = draw(st.tuples(st.integers(0, 5), st.integers(0, 5)))
            if kind == "overall":
                facts.append({"fact": "casualties", "incident": incident, "killed": killed,
                              **({"low": max(0, killed - spread[0]),
                                  "high": killed + spread[1]} if spread[0] else {})})
            elif kind == "per_actor":
                facts += [{"fact": "casualties", "incident": incident, "actor": actor,
                           "killed": draw(st.integers(0, 30))} for actor in ACTORS]
            elif kind == "assessment":
                facts.append({"fact": "assessment", "incident": incident, "killed": killed,
                              "reason": "analysts' estimate"})
            else:
                facts.append({"fact": "correction", "target": {"incident": incident},
                              "field": "location.country",
                              "value": draw(st.sampled_from(("Mali", "Niger", "Chad"))),
                              "reason": "the place is across the border"})
        reports.append({"report": f"r{n}",
                        "source": {"name": draw(st.sampled_from(SOURCES)), "kind": "media",
                                   "published": f"2020-11-{draw(st.integers(2, 28)):02d}"},
                        "facts": facts})
    if draw(st.booleans()):
        a, b = draw(st.lists(st.sampled_from(INCIDENTS), min_size=2, max_size=2, unique=True))
        reports.append({"report": "link", "source": {"name": "Analysts", "kind": "analyst"},
                        "facts": [{"fact": "same_incident", "incident": a, "same_as": b}]})
    for report in draw(st.lists(st.sampled_from([r["report"] for r in reports[1:]]),
                                max_size=2, unique=True)):
        reports.append({"report": f"retract-{report}",
                        "source": {"name": "Analysts", "kind": "analyst"},
                        "facts": [{"fact": "retraction", "target": {"report": report},
                                   "reason": "withdrawn by its source"}]})
    return reports


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(history=histories(), by=st.sampled_from(("country", "admin1", "actor")))
def test_every_citation_of_a_generated_history_verifies(tmp_path_factory, history, by):
    folder = tmp_path_factory.mktemp("history")
    services = open_services(f"sqlite:///{folder / 'events.sqlite'}")
    try:
        for report in history:
            services.tracker.record_report(report, recorded_by="test")
        services.after_write()
        Transparency(services.tracker.recorder).checkpoint(SIGNER)
        citation = cite(services, {"view": "casualties", "by": by})
        incident = cite(services, {"view": "incident", "id": "a"})
    finally:
        services.close()
    for made in (citation, incident):
        result = verify_citation(made, SIGNER.verifier_key)
        assert result.ok, (result.failures, made["answer"], history)
