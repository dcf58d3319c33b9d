"""A link recorded by a process that has not read the linked records' links yet (a fresh
`tracker link accept`, a restarted follower) is counted like one recorded by a warm one: the
fold reads both ends' links from the rows before changing them. On SQLite and PostgreSQL."""

from __future__ import annotations

from projections.readmodel.queries import open_views
from projections.runner import Projector


def record(incident: str, source: str, killed: int) -> dict:
    return {"report": f"{source}-{incident}", "source": {"name": source, "kind": "dataset"},
            "facts": [{"fact": "incident", "id": incident, "date": "2020-11-12",
                       "type": "battle", "location": {"name": "Niaki", "country": "Mali"}},
                      {"fact": "casualties", "incident": incident, "killed": killed}]}


def incidents(read_model) -> int:
    with open_views(read_model) as v:
        return v.casualties("country")["rows"][0]["incidents"]


def test_a_link_folded_by_a_fresh_projector_counts_the_cluster_once(database_url,
                                                                     make_tracker,
                                                                     read_model):
    tracker = make_tracker(database_url)
    for r in (record("a:1", "A", 3), record("b:1", "B", 4), record("c:1", "C", 5)):
        tracker.record_report(r)
    Projector(tracker, read_model).catch_up()
    assert incidents(read_model) == 3
    tracker.record_report({"report": "l1", "source": {"name": "Desk", "kind": "analyst"},
                           "facts": [{"fact": "same_incident", "incident": "a:1",
                                      "same_as": "b:1"}]})
    Projector(tracker, read_model).catch_up()  # a new process: nothing read yet
    assert incidents(read_model) == 2
    tracker.record_report({"report": "l2", "source": {"name": "Desk", "kind": "analyst"},
                           "facts": [{"fact": "same_incident", "incident": "b:1",
                                      "same_as": "c:1"}]})
    Projector(tracker, read_model).catch_up()
    assert incidents(read_model) == 1  # transitively, across fresh processes
    tracker.record_report({"report": "undo", "source": {"name": "Desk", "kind": "analyst"},
                           "facts": [{"fact": "retraction", "target": {"report": "l1"},
                                      "reason": "not the same"}]})
    Projector(tracker, read_model).catch_up()
    assert incidents(read_model) == 2
