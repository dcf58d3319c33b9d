"""One group, one actor: `same_actor` (or an alias that is a dataset's name for an actor
already imported) makes every view count and find the linked actors as one, under the
actor the fact names; retracting the report splits them again and withdraws its aliases.
On SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from projections.readmodel.queries import IncidentFilter, QueryError, open_views
from projections.runner import Projector
from tests.conftest import base_report
from tracker.ingestion.rows import actor_key

NAME = "JNIM: Group for Support of Islam and Muslims"
DATASET_KEY = actor_key("acled", NAME)


def imported(n: int = 3) -> dict:
    """What an ACLED import records: the dataset's own actor and its incidents."""
    return {"report": "acled-import", "source": {"name": "ACLED", "kind": "dataset"},
            "facts": [{"fact": "actor", "id": DATASET_KEY, "name": NAME, "kind": "armed_group"},
                      *[{"fact": "incident", "id": f"acled:{i}", "date": f"2021-01-0{i + 1}",
                         "type": "battle", "location": {"name": "X", "country": "Burkina Faso"},
                         "actors": [{"actor": DATASET_KEY, "side": "a"}]} for i in range(n)],
                      *[{"fact": "casualties", "incident": f"acled:{i}", "killed": i + 1}
                        for i in range(n)]]}


def desk(report: str, *facts: dict) -> dict:
    return {"report": report, "source": {"name": "Desk", "kind": "analyst"},
            "facts": list(facts)}


@pytest.fixture
def world(database_url, make_tracker, read_model):
    tracker = make_tracker(database_url)
    projector = Projector(tracker, read_model)

    def record(*reports: dict) -> None:
        for r in reports:
            tracker.record_report(r)
        projector.catch_up()

    record(base_report("r1"), imported())
    return record, read_model, projector


def picture(store) -> tuple:
    with open_views(store) as v:
        by_actor = {r["key"]: (r["incidents"], r["killed"]["best"])
                    for r in v.casualties("actor")["rows"]}
        found = {name: len(v.incidents(IncidentFilter(actor=name))["incidents"])
                 for name in ("JNIM", NAME)}
        listed = sorted((a["id"], a["incidents"]) for a in v.actors("jnim")["actors"])
    return by_actor, found, listed


APART = ({"jnim": (1, 30), DATASET_KEY: (3, 6), "france": (1, 0)}, {"JNIM": 1, NAME: 3},
         sorted([("jnim", 1), (DATASET_KEY, 3)]))
TOGETHER = ({"jnim": (4, 36), "france": (1, 0)}, {"JNIM": 4, NAME: 4}, [("jnim", 4)])


def test_same_actor_counts_and_finds_them_as_one_until_retracted(world):
    record, store, projector = world
    assert picture(store) == APART
    record(desk("link", {"fact": "same_actor", "actor": "jnim", "same_as": DATASET_KEY}))
    assert picture(store) == TOGETHER
    with open_views(store) as v:
        [row] = v.actors("group for support")["actors"]
        assert (row["id"], row["linked"]) == ("jnim", [DATASET_KEY]) and NAME in row["aliases"]
        assert v.leadership(NAME)["group"] == "jnim"
    assert projector.verify() == []
    record(desk("undo", {"fact": "retraction", "target": {"report": "link"},
                         "reason": "a different faction"}))
    assert picture(store) == APART
    projector.rebuild()
    assert picture(store) == APART


def test_an_alias_that_is_a_dataset_name_reattributes_what_was_imported(world):
    record, store, _ = world
    record(desk("alias", {"fact": "alias", "actor": "jnim", "alias": NAME}))
    assert picture(store) == TOGETHER
    # Retracting the report withdraws the alias and the link it made.
    record(desk("undo", {"fact": "retraction", "target": {"report": "alias"},
                         "reason": "wrong group"}))
    assert picture(store) == APART
    with open_views(store) as v:
        assert NAME not in v.actors("jnim")["actors"][0]["aliases"]


def test_an_actor_corrected_out_of_an_incident_is_no_longer_found_by_it(world):
    record, store, _ = world
    record(desk("fix", {"fact": "correction", "target": {"incident": "acled:0"},
                        "field": "actors", "value": [], "reason": "actor unknown"}))
    with open_views(store) as v:
        assert len(v.incidents(IncidentFilter(actor=NAME))["incidents"]) == 2


def operations_of(store, as_of=None) -> tuple:
    """Each operation's (lead, partners), and the operations each name of the group finds."""
    with open_views(store, as_of) as v:
        rows = {o["id"]: (o["lead"], o["partners"]) for o in v.operations()["operations"]}
        found = {name: [o["id"] for o in v.operations(actor=name)["operations"]]
                 for name in ("JNIM", NAME)}
    return rows, found


def test_operations_show_and_find_linked_actors_as_one(world):
    record, store, _ = world
    record(desk("ops",
                {"fact": "operation", "id": "op-dataset", "name": "A", "lead": DATASET_KEY},
                {"fact": "operation", "id": "op-partner", "name": "B", "lead": "france",
                 "partners": ["jnim"]},
                {"fact": "operation", "id": "op-both", "name": "C", "lead": "jnim",
                 "partners": [DATASET_KEY, "france"]},
                {"fact": "operation", "id": "op-other", "name": "D", "lead": "france"}))
    apart = ({"op-dataset": (DATASET_KEY, []), "op-partner": ("france", ["jnim"]),
              "op-both": ("jnim", [DATASET_KEY, "france"]), "op-other": ("france", [])},
             {"JNIM": ["op-both", "op-partner"], NAME: ["op-both", "op-dataset"]})
    together = ({"op-dataset": ("jnim", []), "op-partner": ("france", ["jnim"]),
                 "op-both": ("jnim", ["france"]), "op-other": ("france", [])},
                {name: ["op-both", "op-dataset", "op-partner"] for name in ("JNIM", NAME)})
    assert operations_of(store) == apart
    time.sleep(0.01)
    before = datetime.now(UTC)
    record(desk("link", {"fact": "same_actor", "actor": "jnim", "same_as": DATASET_KEY}))
    assert operations_of(store) == together
    with open_views(store) as v:
        assert v.operations("op-dataset")["lead"] == "jnim"
    assert operations_of(store, as_of=before) == apart
    time.sleep(0.01)
    linked = datetime.now(UTC)
    record(desk("undo", {"fact": "retraction", "target": {"report": "link"},
                         "reason": "a different faction"}))
    assert operations_of(store) == apart
    assert operations_of(store, as_of=linked) == together


def test_an_operations_filter_naming_no_actor_is_refused(world):
    _, store, _ = world
    with open_views(store) as v, pytest.raises(QueryError) as refused:
        v.operations(actor="nobody at all")
    assert refused.value.field == "actor"


def exported(store, **as_of) -> dict:
    from api.exports import incident_record

    with open_views(store, **as_of) as v:
        return {r["id"]: (r["actors"], r["actor_ids"])
                for r in map(incident_record, v.iter_incidents(summary=False))}


def test_exports_name_linked_actors_by_the_actor_they_are_counted_under(world):
    from datetime import UTC, datetime

    record, store, _ = world
    assert exported(store)["acled:0"] == (NAME, DATASET_KEY)
    before = datetime.now(UTC)
    record(desk("link", {"fact": "same_actor", "actor": "jnim", "same_as": DATASET_KEY}))
    with open_views(store) as v:
        jnim = v.actors("jnim")["actors"][0]["name"]
    assert jnim != NAME
    rows = exported(store)
    assert rows["acled:0"] == (jnim, "jnim")
    # Both records in one incident are one actor, named once.
    record(desk("fix", {"fact": "correction", "target": {"incident": "acled:1"},
                        "field": "actors", "value": [{"actor": DATASET_KEY, "side": "a"},
                                                     {"actor": "jnim", "side": "b"}],
                        "reason": "both named"}))
    assert exported(store)["acled:1"] == (jnim, "jnim")
    # As of before the link, the records are apart again.
    assert exported(store, as_of=before)["acled:0"] == (NAME, DATASET_KEY)
    # The detail of either record is the list's row of the actor they are counted under.
    with open_views(store) as v:
        [row] = v.actors("group for support")["actors"]
        assert v.actor(DATASET_KEY) == v.actor("JNIM") == row
        assert row["linked"] == [DATASET_KEY] and row["incidents"] == 4
