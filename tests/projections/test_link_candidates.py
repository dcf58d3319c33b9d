"""Link candidates over the views, on SQLite and PostgreSQL: a synthetic second source with
known true pairs is matched with precision >= 0.95 and recall >= 0.90 at the defaults;
pairs recorded distinct are never suggested; accepting the candidates counts each event
once, and a second search finds nothing more to link."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from api.linking import link_report
from bench.synthetic_links import A_SOURCE, B_SOURCE, precision_recall, two_sources
from projections.linking import LinkParams
from projections.readmodel.queries import IncidentFilter, QueryError, open_views
from projections.runner import Projector
from tests.linking_world import (
    ACLED_ISGS,
    ACLED_JNIM,
    ISGS_ACLED,
    JNIM_ACLED,
    UCDP_JNIM_NAME,
    djibo_reports,
    link_actor,
)


@pytest.fixture
def linked_world(database_url, make_tracker, read_model):
    tracker = make_tracker(database_url)
    projector = Projector(tracker, read_model)
    syn = two_sources(300, seed=5)
    for report in syn.reports:
        tracker.record_report(report)
    projector.catch_up()

    class World:
        def record(self, report):
            result = tracker.record_report(report)
            projector.catch_up()
            return result

        def views(self, as_of=None):
            return open_views(read_model, as_of)

    w = World()
    w.syn = syn  # type: ignore[attr-defined]
    return w


def pairs_of(found):
    return [(c["incident"], c["other"]) for c in found["candidates"]]


def test_known_pairs_are_found_with_high_precision_and_recall(linked_world):
    with linked_world.views() as v:
        found = v.link_candidates()
    assert found["records"] == len(linked_world.syn.a_ids) + len(linked_world.syn.b_ids)
    precision, recall = precision_recall(pairs_of(found), linked_world.syn.true_pairs)
    assert precision >= 0.95 and recall >= 0.90, (precision, recall)
    for c in found["candidates"]:
        assert c["score"] >= 0.7 and set(c["reasons"]) == {"days", "km", "type", "actors",
                                                            "killed"}
        assert c["sources"]["incident"] != c["sources"]["other"]
    # One-to-one: no record in two pairs (no event of this world is coded twice).
    keys = [k for pair in pairs_of(found) for k in pair]
    assert len(keys) == len(set(keys))


def test_filters_narrow_the_search_and_bad_parameters_are_refused(linked_world):
    with linked_world.views() as v:
        everything = pairs_of(v.link_candidates())
        mali = v.link_candidates(IncidentFilter(country="Mali"))
        assert mali["filters"] == {"country": "Mali"}
        assert set(pairs_of(mali)) < set(everything) and pairs_of(mali)
        by_source = v.link_candidates(IncidentFilter(source=B_SOURCE))
        assert set(pairs_of(by_source)) == set(everything)  # every pair has a B side
        stricter = v.link_candidates(params=LinkParams(min_score=0.9))
        assert set(pairs_of(stricter)) < set(everything)
        with pytest.raises(QueryError) as e:
            v.link_candidates(params=LinkParams(km=0))
        assert e.value.field == "km"


def test_a_pair_recorded_distinct_is_never_suggested(linked_world):
    with linked_world.views() as v:
        first = pairs_of(v.link_candidates())[:3]
    linked_world.record({"report": "not-the-same", "source": {"name": "Desk",
                                                              "kind": "analyst"},
                         "facts": [{"fact": "distinct_incidents", "incident": a, "other": b}
                                   for a, b in first]})
    with linked_world.views() as v:
        again = {frozenset(p) for p in pairs_of(v.link_candidates(
            params=LinkParams(min_score=0)))}
    assert not again & {frozenset(p) for p in first}


def test_accepted_candidates_count_each_event_once_and_leave_nothing_to_link(linked_world):
    with linked_world.views() as v:
        before = v.casualties("country")
        found = v.link_candidates()
    pairs = found["candidates"]
    time.sleep(0.01)
    before_accept = datetime.now(UTC)
    time.sleep(0.01)
    report = link_report(pairs, found["method"])
    assert report["source"] == {"name": "tracker link suggest", "kind": "analyst"}
    assert {f["method"] for f in report["facts"]} == {
        "tracker-link-suggest/1 days=1 km=25 min_score=0.7"}
    assert linked_world.record(report).recorded
    assert not linked_world.record(link_report(pairs, found["method"])).recorded  # idempotent
    with linked_world.views() as v:
        after = v.casualties("country")
        assert sum(r["incidents"] for r in after["rows"]) == \
            sum(r["incidents"] for r in before["rows"]) - len(pairs)
        # A cluster is one row: its records are never a candidate pair again.
        assert not {frozenset(p) for p in pairs_of(v.link_candidates())} & \
            {frozenset((c["incident"], c["other"])) for c in pairs}
        detail = v.incident(pairs[0]["other"])
        assert set(detail["members"]) == {pairs[0]["incident"], pairs[0]["other"]}
        assert set(detail["sources"]) == {A_SOURCE, B_SOURCE}
    with linked_world.views(before_accept) as v:  # as of before the links: apart again
        assert pairs_of(v.link_candidates()) == pairs_of(found)


@pytest.fixture
def djibo(database_url: str, make_tracker: Any, read_model: Any) -> Any:
    """The raid near Djibo as ACLED, UCDP and a ministry record it (tests.linking_world)."""
    tracker = make_tracker(database_url)
    projector = Projector(tracker, read_model)

    def record(*reports: dict[str, Any]) -> None:
        for report in reports:
            tracker.record_report(report)
        projector.catch_up()

    record(*djibo_reports())
    record.views = lambda: open_views(read_model)  # type: ignore[attr-defined]
    return record


DJIBO = IncidentFilter(country="Burkina Faso")
LOW = LinkParams(min_score=0.3)


def djibo_pairs(views: Any, **filters: Any) -> set[frozenset[str]]:
    found = views.link_candidates(DJIBO.replace(**filters), LOW)
    return {frozenset(p) for p in pairs_of(found)}


@pytest.mark.parametrize("how", ["same_actor", "alias"])
def test_the_actor_filter_finds_the_records_of_an_actor_linked_by_same_actor_or_alias(
        djibo: Any, how: str) -> None:
    with djibo.views() as v:
        everything = djibo_pairs(v)
        assert len(everything) == 3  # each pair of the three sources
        assert djibo_pairs(v, actor="JNIM") == {p for p in everything if "mod:djibo" in p}
    djibo(link_actor(how, "jnim", ACLED_JNIM, JNIM_ACLED))
    with djibo.views() as v:
        # Every pair has a side with JNIM now: the ministry's, or ACLED's (through the
        # link) — by any of its names, as the incident list finds them.
        for name in ("JNIM", "jnim", ACLED_JNIM, JNIM_ACLED):
            listed = {i["id"] for i in v.incidents(DJIBO.replace(actor=name))["incidents"]}
            assert listed == {"acled:1", "mod:djibo"}, name
            assert djibo_pairs(v, actor=name) == everything, name
        # ... and an actor of one record keeps the pairs of that record only.
        assert djibo_pairs(v, actor=UCDP_JNIM_NAME) == {p for p in everything
                                                        if "ucdp:1" in p}
        assert djibo_pairs(v, source="ucdp ged") == {p for p in everything if "ucdp:1" in p}


@pytest.mark.parametrize("field, value", [("actor", "nobody"), ("source", "Nobody News")])
def test_an_unknown_actor_or_source_is_refused_naming_it_not_an_empty_answer(
        djibo: Any, field: str, value: str) -> None:
    with djibo.views() as v:
        with pytest.raises(QueryError) as e:
            v.link_candidates(DJIBO.replace(**{field: value}), LOW)
        with pytest.raises(QueryError) as listed:
            v.incidents(DJIBO.replace(**{field: value}))
    assert e.value.field == field and str(e.value) == str(listed.value)


def test_actors_agree_by_their_registered_names_and_linked_ids_together(
        djibo: Any) -> None:
    def ministry_vs_acled() -> float:
        with djibo.views() as v:
            found = v.link_candidates(DJIBO, LOW)["candidates"]
        [pair] = [c for c in found if {c["incident"], c["other"]} == {"acled:1", "mod:djibo"}]
        return pair["reasons"]["actors"]

    # `jnim` by its alias JNIM (ACLED's name starts with it), `isgs` by its registered
    # name ("Islamic State in the Greater Sahara" ~ ACLED's "Islamic State (Greater
    # Sahara)"): both agree, though neither id says so.
    assert ministry_vs_acled() == 1.0
    # Linking ACLED's ISGS to `isgs` (by an alias) keeps them agreeing: one actor found by
    # its id, the other by its words, count two.
    djibo(link_actor("alias", "isgs", ACLED_ISGS, ISGS_ACLED))
    assert ministry_vs_acled() == 1.0
