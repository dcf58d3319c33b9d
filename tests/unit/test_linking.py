"""Link candidates, the pure part (projections.linking): how each measure scores, the
one-to-one choice, and the space-time index finding every pair a brute force finds."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from projections.linking import (
    WEIGHTS,
    LinkParams,
    candidates,
    haversine,
    pairs_within_reach,
    record_of,
    score_pair,
)


def rec(key, source, day="2020-11-12", lat=14.0, lon=-4.0, killed=10, low=None, high=None,
        type_="battle", subtype=None, actors=(), names=None, figure=True, **details):
    """A record as the views give it; `figure=False`: no report gave it a figure (its row's
    best is then 0)."""
    loc = {"name": details.pop("place", "Niaki"), "country": details.pop("country", "Mali")}
    if lat is not None:
        loc.update(latitude=lat, longitude=lon)
    if "geo_precision" in details:
        loc["geo_precision"] = details.pop("geo_precision")
    if "admin1" in details:
        loc["admin1"] = details.pop("admin1")
    d = {"date": day, "type": type_, "location": loc,
         "actors": [{"actor": a, "side": "a"} for a in actors], **details}
    if subtype:
        d["subtype"] = subtype
    doc = {"details": d, "sources": [source], "members": [key],
           "figures": {f"{source}\x1f\x1fr": {"killed": killed}} if figure else {}}
    return record_of(key, doc, killed, killed if low is None else low,
                     killed if high is None else high, names=names)


def north(km: float) -> float:
    return 14.0 + km / 111.2


P = LinkParams()


def test_the_same_event_coded_by_two_datasets_scores_high_with_every_reason():
    a = rec("acled:1", "ACLED", subtype="Armed clash", attributes={"interaction": "12"},
            actors=["acled:military-forces-of-mali-2021-abc123",
                    "acled:jnim-group-for-support-of-islam-and-muslims-abc123"])
    b = rec("ucdp:9", "UCDP GED", day="2020-11-13", lat=north(3), killed=12, low=9, high=15,
            subtype="state-based conflict",
            actors=["ucdp:government-of-mali-abc123", "ucdp:jnim-abc123"])
    score, reasons, scores = score_pair(a, b, P)
    assert reasons["days"] == 1 and 2.9 < reasons["km"] < 3.1
    assert reasons["type"].endswith(": same") and reasons["actors"] == 1.0
    assert reasons["killed"] == "10 vs 12" and scores["killed"] == 0.9  # within UCDP's range
    assert score >= 0.85


def test_a_record_no_report_gave_a_figure_is_not_compared_on_its_figures():
    """Its row's best is 0, but that is no figure, not a count of 0: the killed measure is
    left out of the mean (as any measure that cannot be taken), and the reason says so."""
    a = rec("a", "A", killed=12)
    none = rec("b", "B", killed=0, figure=False)
    zero = rec("b", "B", killed=0)
    score, reasons, scores = score_pair(a, none, P)
    assert reasons["killed"] == "12 vs no figure" and "killed" not in scores
    # The mean of the measures taken, the figures left out (not counted as a disagreement).
    assert score == round(sum(WEIGHTS[k] * v for k, v in scores.items())
                          / sum(WEIGHTS[k] for k in scores), 3)
    counted, reasons, scores = score_pair(a, zero, P)
    assert reasons["killed"] == "12 vs 0" and scores["killed"] == 0.0 and counted < score


def test_date_ranges_and_date_precision_widen_the_window():
    a = rec("a", "A", day="2020-11-10")
    assert score_pair(a, rec("b", "B", day="2020-11-13"), P) is None
    ranged = rec("b", "B", day="2020-11-08", date_end="2020-11-12")
    assert score_pair(a, ranged, P)[1]["days"] == 0  # the range covers the day
    weekly = rec("b", "B", day="2020-11-15", date_precision="week")
    assert score_pair(a, weekly, P)[1]["days"] == 5
    assert score_pair(a, rec("b", "B", day="2020-11-15"), P) is None


def test_geo_precision_widens_the_distance_and_without_coordinates_the_place_decides():
    a = rec("a", "A")
    assert score_pair(a, rec("b", "B", lat=north(40)), P) is None
    assert score_pair(a, rec("b", "B", lat=north(40), geo_precision=2), P)[1]["km"] == 40.0
    no_coords = rec("b", "B", lat=None, admin1="Mopti")
    assert score_pair(rec("a", "A", admin1="Mopti"), no_coords, P)[1]["km"] is None
    assert score_pair(rec("a", "A", admin1="Gao"), no_coords, P) is None


def test_event_types_compare_across_taxonomies():
    civilians = rec("a", "A", type_="violence_against_civilians", subtype="Attack")
    assert score_pair(civilians, rec("b", "B", type_="violence_against_civilians",
                                     subtype="one-sided violence"), P)[2]["type"] == 1.0
    _, reasons, scores = score_pair(civilians, rec("b", "B", subtype="state-based conflict"),
                                    P)
    assert scores["type"] == 0.0 and reasons["type"].endswith("incompatible")
    militias = rec("a", "A", subtype="Armed clash", attributes={"interaction": "33"})
    assert score_pair(militias, rec("b", "B", subtype="non-state conflict"), P)[2]["type"] == 1
    assert score_pair(militias, rec("b", "B", subtype="state-based conflict"),
                      P)[2]["type"] == 0
    shelling = rec("a", "A", type_="explosion_remote_violence")
    assert score_pair(shelling, rec("b", "B", subtype="one-sided violence",
                                    type_="violence_against_civilians"), P)[2]["type"] == 0.8


def test_actors_match_by_their_distinctive_words_and_a_differing_group_counts_against():
    army = "acled:military-forces-of-mali-2021-abc123"
    a = rec("a", "A", actors=[army, "acled:isgs-islamic-state-sahel-abc123"])
    same = rec("b", "B", actors=["ucdp:government-of-mali-abc123", "ucdp:isgs-abc123"])
    other = rec("b", "B", actors=["ucdp:government-of-mali-abc123", "ucdp:jnim-abc123"])
    assert score_pair(a, same, P)[1]["actors"] == 1.0
    assert score_pair(a, other, P)[1]["actors"] == 0.25  # half agree: squared
    civilians = rec("b", "B", actors=["ucdp:civilians-abc123", "ucdp:isgs-abc123"])
    assert score_pair(a, civilians, P)[1]["actors"] == 0.25  # civilians are not the army
    unknown = rec("b", "B", actors=["x:unidentified-armed-group-mali-abc123"])
    assert score_pair(a, unknown, P)[1]["actors"] == 1.0
    assert score_pair(a, rec("b", "B"), P)[1]["actors"] is None  # not counted either way


def test_a_rebel_army_is_not_taken_for_a_state_force():
    """"Army" in a rebel's own name (Lord's Resistance Army) does not make it a state force
    matching any other: it keeps its own words; a state's army still matches its state."""
    faca = "acled:military-forces-of-the-central-african-republic-2003-abc123"
    home = {"country": "Central African Republic"}
    a = rec("a", "A", actors=[faca], **home)
    lra = rec("b", "B", actors=["ucdp:lra-lords-resistance-army-abc123"], **home)
    assert score_pair(a, lra, P)[1]["actors"] == 0.0
    state = rec("b", "B", actors=["ucdp:government-of-central-african-republic-abc123"],
                **home)
    assert score_pair(a, state, P)[1]["actors"] == 1.0
    national = rec("b", "B", actors=["ucdp:central-african-armed-forces-army-abc123"], **home)
    assert score_pair(a, national, P)[1]["actors"] == 1.0
    other_lra = rec("c", "C", actors=["acled:lra-lords-resistance-army-abc999"], **home)
    assert score_pair(lra, other_lra, P)[1]["actors"] == 1.0


def test_same_actor_resolution_is_the_hook_actor_comparison_goes_through():
    doc = {"details": {"date": "2020-11-12", "type": "battle",
                       "location": {"name": "X", "country": "Mali", "latitude": 14.0,
                                    "longitude": -4.0},
                       "actors": [{"actor": "seed:katiba-macina", "side": "a"}]},
           "sources": ["A"]}
    other = {**doc, "details": {**doc["details"],
                                "actors": [{"actor": "ucdp:flm-abc123", "side": "a"}]},
             "sources": ["B"]}
    one = {"seed:katiba-macina": "flm", "ucdp:flm-abc123": "flm"}.get
    a, b = record_of("a", doc, 1, 1, 1), record_of("b", other, 1, 1, 1)
    assert score_pair(a, b, P)[1]["actors"] == 0.0
    a, b = record_of("a", doc, 1, 1, 1, one), record_of("b", other, 1, 1, 1, one)
    assert score_pair(a, b, P)[1]["actors"] == 1.0


def test_a_record_pairs_with_its_best_match_only_and_same_source_records_never_pair():
    b = rec("b", "B", killed=10)
    close = rec("a1", "A", lat=north(1), killed=10)
    farther = rec("a2", "A", lat=north(12), killed=10)
    twin = rec("b2", "B", lat=north(1), killed=10)
    found = candidates([b, close, farther, twin], LinkParams(min_score=0))
    pairs = {(c.incident, c.other) for c in found}
    # b and b2 are one source: never a pair; each takes its best A record, once.
    assert ("b", "b2") not in pairs and len(pairs) == 2
    assert ("a1", "b2") in pairs or ("a1", "b") in pairs
    assert all(c.margin is not None for c in found)


def test_a_second_pair_needs_a_strong_score_within_the_margin():
    b = rec("b", "B", killed=10, date_end="2020-11-13")  # two days ...
    day1 = rec("a1", "A", killed=10)                      # ... one dataset codes twice
    day2 = rec("a2", "A", day="2020-11-13", lat=north(0.5), killed=10)
    found = candidates([b, day1, day2], P)
    assert {(c.incident, c.other) for c in found} == {("a1", "b"), ("a2", "b")}
    weak = rec("a2", "A", day="2020-11-13", lat=north(20), killed=30)
    found = candidates([b, day1, weak], P)
    assert {(c.incident, c.other) for c in found} == {("a1", "b")}


def _random_records(n: int, seed: int) -> list:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        day = date(2020, 1, 1) + timedelta(days=rng.randrange(40))
        extra = {}
        if rng.random() < 0.2:
            extra["date_precision"] = rng.choice(("week", "month"))
        if rng.random() < 0.2:
            extra["date_end"] = (day + timedelta(days=rng.randrange(1, 5))).isoformat()
        if rng.random() < 0.3:
            extra["geo_precision"] = rng.choice((1, 2, 3, 4))
        lat = None if rng.random() < 0.1 else 14 + rng.uniform(-1.5, 1.5)
        out.append(rec(f"r{i}", rng.choice(("A", "B", "C")), day=day.isoformat(), lat=lat,
                       lon=-4 + rng.uniform(-1.5, 1.5), admin1=rng.choice(("X", "Y")),
                       **extra))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_the_index_finds_every_pair_a_brute_force_finds(seed):
    records = _random_records(400, seed)
    params = LinkParams(days=seed % 3, km=10 + 10 * seed)
    brute = {(i, j) for i in range(len(records)) for j in range(i + 1, len(records))
             if not records[i].sources & records[j].sources
             and score_pair(records[i], records[j], params) is not None}
    found = {tuple(sorted(p)) for p in pairs_within_reach(records, params)}
    assert brute and brute <= found
    # ... and looks at far fewer than all pairs of different sources.
    different = sum(1 for i in range(len(records)) for j in range(i + 1, len(records))
                    if not records[i].sources & records[j].sources)
    assert len(found) < different / 5


def test_haversine_is_a_great_circle_distance():
    assert haversine(0, 0, 0, 1) == pytest.approx(111.2, abs=0.1)
    assert haversine(60, 0, 60, 1) == pytest.approx(55.6, abs=0.1)


def actors_agree(a: Any, b: Any) -> Any:
    """The pair's actor agreement (reasons["actors"])."""
    found = score_pair(a, b, P)
    assert found is not None
    return found[1]["actors"]


def test_each_actor_agrees_by_its_linked_id_or_by_its_words_and_both_count() -> None:
    """`jnim` agrees with ACLED's JNIM by its words, `isgs` with ACLED's ISGS by the link
    that resolves both to one id: two of two actors agree (not one, the better of the two
    ways alone)."""
    acled_isgs = "acled:islamic-state-greater-sahara-abc123"
    place = {"name": "X", "country": "Burkina Faso", "latitude": 14.0, "longitude": -1.6}
    doc: dict[str, Any] = {
        "details": {"date": "2020-11-12", "type": "battle", "location": place,
                    "actors": [{"actor": "jnim", "side": "a"}, {"actor": "isgs", "side": "b"}]},
        "sources": ["Desk"]}
    other = {**doc, "details": {**doc["details"], "actors": [
        {"actor": "acled:jnim-group-for-support-of-islam-and-muslims-abc123", "side": "a"},
        {"actor": acled_isgs, "side": "b"}]}, "sources": ["ACLED"]}
    linked = {acled_isgs: "isgs"}

    def resolve(key: str) -> str:
        return linked.get(key, key)

    a, b = record_of("a", doc, 1, 1, 1, resolve), record_of("b", other, 1, 1, 1, resolve)
    assert actors_agree(a, b) == 1.0
    # Without the link only JNIM agrees: half of them.
    a, b = record_of("a", doc, 1, 1, 1), record_of("b", other, 1, 1, 1)
    assert actors_agree(a, b) == 0.25


def test_an_actor_is_compared_by_its_registered_name_and_aliases_too() -> None:
    ours = rec("a", "Desk", actors=["isgs"])
    acled = rec("b", "ACLED", actors=["acled:islamic-state-greater-sahara-abc123"])
    assert actors_agree(ours, acled) == 0.0  # "isgs" says nothing more
    names = {"isgs": ("islamic state in the greater sahara",)}
    named = rec("a", "Desk", actors=["isgs"], names=names)
    assert actors_agree(named, acled) == 1.0
    aliased = rec("a", "Desk", actors=["eigs"], names={"eigs": ("etat islamique", "isgs")})
    ucdp = rec("b", "UCDP", actors=["ucdp:isgs-abc123"])
    assert actors_agree(aliased, ucdp) == 1.0
    # A name of another group does not make it agree.
    other = rec("a", "Desk", actors=["ansaroul"], names={"ansaroul": ("ansarul islam",)})
    assert actors_agree(other, acled) == 0.0
