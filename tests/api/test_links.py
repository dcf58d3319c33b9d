"""GET /api/v1/links/candidates(.csv): the candidates `tracker link suggest` prints, read
only, with bad parameters refused in the one error shape (422)."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import quote

import pytest

from bench.synthetic_links import two_sources
from tests.linking_world import ACLED_JNIM, JNIM_ACLED, djibo_reports, link_actor


@pytest.fixture
def linked_api(app, admin):
    for report in two_sources(40, seed=3).reports:
        assert admin.report(report).status_code in (200, 201)
    return admin


def test_candidates_as_json_and_csv(linked_api):
    r = linked_api.get("/links/candidates")
    assert r.status_code == 200
    data = r.get_json()
    assert data["parameters"] == {"days": 1, "km": 25.0, "min_score": 0.7}
    assert data["candidates"] and all(
        set(c["reasons"]) == {"days", "km", "type", "actors", "killed"}
        for c in data["candidates"])
    r = linked_api.get("/links/candidates.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert [(x["incident"], x["other"]) for x in rows] == \
        [(c["incident"], c["other"]) for c in data["candidates"]]
    narrow = linked_api.get("/links/candidates?country=Mali&days=0&km=10&min_score=0.9")
    assert narrow.status_code == 200
    assert narrow.get_json()["filters"] == {"country": "Mali"}
    assert len(narrow.get_json()["candidates"]) < len(data["candidates"])


def test_candidates_are_written_in_the_shape_their_schema_declares(linked_api):
    """The candidates are written as the query builds them (api.schemas.BuiltList): each
    is exactly what the declared item schema writes, and what it would accept back."""
    from api.schemas import LinkCandidateSchema

    candidates = linked_api.get("/links/candidates?min_score=0").get_json()["candidates"]
    assert candidates and any(c["margin"] is None for c in candidates) \
        and any(c["margin"] is not None for c in candidates)
    schema = LinkCandidateSchema()
    for c in candidates:
        assert schema.dump(c) == c and schema.validate(c) == {}


@pytest.mark.parametrize("query, field", [
    ("days=-1", "days"), ("days=40", "days"), ("km=0", "km"), ("km=abc", "km"),
    ("min_score=1.5", "min_score"), ("from=2020-02-01&to=2020-01-01", "from"),
    ("nope=1", "nope"),
])
def test_bad_parameters_are_422_naming_the_field(linked_api, query, field):
    for path in ("/links/candidates", "/links/candidates.csv"):
        r = linked_api.get(f"{path}?{query}")
        assert r.status_code == 422, r.get_data(as_text=True)
        assert field in {e["field"] for e in r.get_json()["errors"]}, r.get_json()


def test_candidates_are_read_only(linked_api):
    r = linked_api.client.post("/api/v1/links/candidates", headers=linked_api.headers)
    assert r.status_code == 405


def test_operations_show_and_find_an_actor_linked_by_same_actor(admin):
    desk = {"name": "Desk", "kind": "analyst"}
    assert admin.report({"report": "ops", "source": desk, "facts": [
        {"fact": "actor", "id": "jnim", "name": "JNIM", "kind": "armed_group"},
        {"fact": "actor", "id": "acled-jnim", "name": "Group for Support of Islam and Muslims",
         "kind": "armed_group"},
        {"fact": "operation", "id": "op", "name": "Op", "lead": "acled-jnim"}]}
    ).status_code in (200, 201)
    r = admin.get("/operations?actor=JNIM")
    assert r.status_code == 200 and r.get_json()["operations"] == []
    linked = admin.report({"report": "link", "source": desk, "facts": [
        {"fact": "same_actor", "actor": "jnim", "same_as": "acled-jnim"}]})
    assert linked.status_code in (200, 201)
    for name in ("JNIM", "group for support of islam and muslims"):
        [op] = admin.get(f"/operations?actor={name}").get_json()["operations"]
        assert (op["id"], op["lead"]) == ("op", "jnim")
    r = admin.get("/operations?actor=nobody")
    assert r.status_code == 422 and r.get_json()["errors"][0]["field"] == "actor"


@pytest.fixture
def djibo_api(app: Any, admin: Any) -> Any:
    for report in djibo_reports():
        assert admin.report(report).status_code in (200, 201)
    return admin


@pytest.mark.parametrize("query, field", [("actor=nobody", "actor"),
                                          ("source=Nobody%20News", "source")])
def test_an_unknown_actor_or_source_is_a_422_naming_it_as_for_incidents(
        djibo_api: Any, query: str, field: str) -> None:
    listed = djibo_api.get(f"/incidents?{query}")
    assert listed.status_code == 422
    for path in ("/links/candidates", "/links/candidates.csv"):
        r = djibo_api.get(f"{path}?country=Burkina%20Faso&{query}")
        assert r.status_code == 422, r.get_data(as_text=True)
        assert r.get_json()["errors"] == listed.get_json()["errors"]
        assert [e["field"] for e in r.get_json()["errors"]] == [field]


def test_the_actor_filter_finds_the_records_of_an_actor_linked_by_same_actor(
        djibo_api: Any) -> None:
    base = "/links/candidates?country=Burkina%20Faso&min_score=0.3"

    def pairs(query: str = "") -> set[frozenset[str]]:
        r = djibo_api.get(base + query)
        assert r.status_code == 200, r.get_json()
        found = {frozenset((c["incident"], c["other"])) for c in r.get_json()["candidates"]}
        rows = csv.DictReader(io.StringIO(djibo_api.get(
            base.replace("candidates?", "candidates.csv?") + query).get_data(as_text=True)))
        assert {frozenset((x["incident"], x["other"])) for x in rows} == found
        return found

    everything = pairs()
    assert len(everything) == 3
    linked = djibo_api.report(link_actor("same_actor", "jnim", ACLED_JNIM, JNIM_ACLED))
    assert linked.status_code in (200, 201)
    for actor in ("JNIM", ACLED_JNIM):
        assert pairs(f"&actor={quote(actor)}") == everything, actor
