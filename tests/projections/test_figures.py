"""The pure parts: figure arithmetic and the tally change function, as tables."""

import pytest

from projections.casualty_tallies import contributions, tally_changes
from tracker.figures import incident_killed, killed_by_actor


def fig(source, killed, seq, actor=None, low=None, high=None, report="r"):
    return {"source": source, "actor": actor, "killed": killed, "low": low, "high": high,
            "seq": seq, "report": report}


@pytest.mark.parametrize("figures, expected", [
    ([], {"best": 0, "low": 0, "high": 0}),
    ([fig("MoD", 30, 1)], {"best": 30, "low": 30, "high": 30}),
    # The source heard from last gives best; the range spans every source.
    ([fig("MoD", 30, 1), fig("NGO", 45, 2)], {"best": 45, "low": 30, "high": 45}),
    ([fig("NGO", 45, 2), fig("MoD", 30, 3)], {"best": 30, "low": 30, "high": 45}),
    # Explicit low/high are kept as given.
    ([fig("UCDP", 7, 1, low=5, high=12)], {"best": 7, "low": 5, "high": 12}),
    # Per-actor figures of one source add up when it gave no overall figure.
    ([fig("MoD", 3, 1, actor="a"), fig("MoD", 4, 2, actor="b")],
     {"best": 7, "low": 7, "high": 7}),
    # An overall figure of a source wins over its per-actor ones.
    ([fig("MoD", 3, 1, actor="a"), fig("MoD", 10, 2)], {"best": 10, "low": 10, "high": 10}),
])
def test_incident_killed(figures, expected):
    got = incident_killed({str(i): f for i, f in enumerate(figures)})
    assert {k: got[k] for k in ("best", "low", "high")} == expected


def test_a_range_not_containing_best_is_kept_and_flagged():
    got = incident_killed({"x": fig("UCDP", 0, 1, low=0, high=20)})
    assert (got["best"], got["high"]) == (0, 20) and "flagged" not in got
    odd = incident_killed({"x": fig("UCDP", 9, 1, low=10, high=20)})
    assert (odd["best"], odd["low"], odd["high"]) == (9, 10, 20) and odd["flagged"]


def test_killed_by_actor_credits_involved_actors_when_no_figure_names_one():
    figures = {"x": fig("ACLED", 12, 1)}
    assert killed_by_actor(figures, ["a", "b"]) == {
        "a": {"best": 12, "low": 12, "high": 12}, "b": {"best": 12, "low": 12, "high": 12}}
    named = {"x": fig("MoD", 30, 1, actor="jnim")}
    assert killed_by_actor(named, ["france", "jnim"]) == {
        "france": {"best": 0, "low": 0, "high": 0}, "jnim": {"best": 30, "low": 30, "high": 30}}


def incident(country="Mali", admin1="Mopti", day="2020-11-13", figures=(), retracted=None):
    return {"id": "i", "details": {"date": day, "type": "battle",
                                   "location": {"country": country, "admin1": admin1},
                                   "actors": [{"actor": "jnim"}]},
            "figures": {str(i): f for i, f in enumerate(figures)}, "retracted": retracted,
            "sources": sorted({f["source"] for f in figures})}


def moved(before, after):
    """What the read model's fold does with an incident's states before and after."""
    return tally_changes(contributions(before), contributions(after))


def delta(best, low, high, incidents, civilians=None, wounded=None):
    """A tally's move: figures, civilians and wounded (and whether given), incidents."""
    return [best, low, high, civilians or 0, wounded or 0, int(civilians is not None),
            int(wounded is not None), incidents]


def test_a_new_incident_adds_one_incident_and_its_figure_to_each_dimension():
    changes = moved(None, incident(figures=[fig("MoD", 30, 1)]))
    assert changes[("country", "Mali")] == delta(30, 30, 30, 1)
    assert changes[("month", "2020-11")][-1] == 1
    assert changes[("actor", "jnim")][0] == 30


def test_a_corrected_region_moves_the_figure_between_rows_only():
    before = incident(figures=[fig("MoD", 30, 1)])
    after = incident(admin1="Menaka", figures=[fig("MoD", 30, 1)])
    changes = moved(before, after)
    # The admin1 rows (and the admin2 rows under them: no admin2 given) move; the
    # country's does not.
    assert set(changes) == {("admin1", "Mali / Mopti"), ("admin1", "Mali / Menaka"),
                            ("admin2", "Mali / Mopti / (unknown)"),
                            ("admin2", "Mali / Menaka / (unknown)")}
    assert changes[("admin1", "Mali / Mopti")] == delta(-30, -30, -30, -1)
    assert changes[("admin1", "Mali / Menaka")] == delta(30, 30, 30, 1)


def test_a_retraction_removes_everything_the_incident_added():
    before = incident(figures=[fig("MoD", 30, 1)])
    changes = moved(before, incident(figures=[fig("MoD", 30, 1)], retracted="wrong"))
    assert changes[("total", "all")] == delta(-30, -30, -30, -1)


def test_an_event_that_changes_no_figure_changes_no_tally():
    same = incident(figures=[fig("MoD", 30, 1)])
    assert moved(same, same) == {}


def test_civilians_and_wounded_come_from_the_source_whose_figure_is_best():
    figures = [dict(fig("UCDP", 10, 1), civilians=4), dict(fig("Wire", 12, 2), wounded=3)]
    changes = moved(None, incident(figures=figures))
    # The best source (Wire) gives wounded, not civilians: unknown, not zero.
    assert changes[("country", "Mali")] == delta(12, 10, 12, 1, wounded=3)
    only_ucdp = moved(None, incident(figures=figures[:1]))
    assert only_ucdp[("country", "Mali")] == delta(10, 10, 10, 1, civilians=4)


@pytest.mark.parametrize("figures, assessments", [
    ([fig("MoD", 30, 1, report="r1")], []),
    ([fig("MoD", 30, 1, report="r1"), fig("NGO", 45, 2, report="r2")], []),
    ([fig("MoD", 30, 1, report="r1")], [{"killed": 28, "low": None, "high": None,
                                        "report": "desk", "published": "2021-01-01",
                                        "seq": 3}]),
])
def test_the_quick_basis_is_the_basis_of_best(figures, assessments):
    from projections.incident_state import basis, killed

    state = {**incident(figures=figures), "assessments": assessments}
    assert basis(state) == killed(state)["basis"]
