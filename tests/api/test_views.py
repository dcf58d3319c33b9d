"""Read routes: success, filters, pagination, as_of, ETag/304, and their errors."""

import json

import pytest
from click.testing import CliRunner

from api.cli import main


def test_leadership(seeded_api, public):
    body = public.get("/groups/jnim/leadership").json
    assert body["leaders"][0]["name"] == "Iyad Ag Ghali"
    assert {e["reason"] for e in body["former"]} == {"killed"}
    assert public.get("/groups/nobody/leadership").status_code == 404


def test_casualties_filters_and_errors(seeded_api, public):
    body = public.get("/casualties?by=admin1&country=Mali&from=2020-11-01&to=2020-11-30").json
    assert {r["key"]: r["killed"]["best"] for r in body["rows"]} == {"Mali / Mopti": 30,
                                                                      "Mali / Menaka": 5}
    assert {r["name"] for r in body["rows"]} == {"Mopti", "Menaka"}
    assert body["filters"]["from"] == "2020-11-01"
    assert public.get("/casualties").status_code == 422
    bad = public.get("/casualties?by=planet")
    assert bad.status_code == 422 and "by" in json.dumps(bad.json["errors"])
    assert public.get("/casualties?by=country&from=yesterday").status_code == 422
    assert public.get("/casualties?by=country&as_of=soon").status_code == 422


@pytest.mark.parametrize(("url", "field", "value"), [
    ("/casualties?by=country&as_of=garbage", "as_of", "garbage"),    # not the form
    ("/casualties?by=country&as_of=2020-13-45", "as_of", "2020-13-45"),  # the form, no day
    ("/changes?from=soon&by=country", "from", "soon"),
    ("/changes?from=2020-01-01&to=2020-02-30&by=country", "to", "2020-02-30"),
])
def test_a_refused_knowledge_time_is_one_error_naming_its_field_and_value(
        seeded_api, public, url, field, value):
    answer = public.get(url)
    assert answer.status_code == 422
    assert answer.json["errors"] == [{"field": field, "message": (
        f"{field} {value!r} is not a date (YYYY-MM-DD) or an ISO datetime")}]


def test_a_knowledge_time_in_nanoseconds_is_truncated_to_microseconds(seeded_api, public):
    """`date +%N` prints nine fractional digits: the digits past the sixth are dropped
    (truncated, never rounded up), on as_of and on /changes' from and to."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    micro = now.strftime("%Y-%m-%dT%H:%M:%S.%f")
    nanos = micro + "999"  # rounding would move it to the next microsecond
    answer = public.get(f"/casualties?by=country&as_of={nanos}")
    assert answer.status_code == 200, answer.json
    same = public.get(f"/casualties?by=country&as_of={micro}").json
    assert answer.json["as_of"] == same["as_of"] == now.isoformat()
    assert answer.json["rows"] == same["rows"] != []
    zoned = public.get(f"/casualties?by=country&as_of={nanos}Z")
    assert zoned.status_code == 200 and zoned.json["as_of"] == now.isoformat()
    changes = public.get(f"/changes?from=2020-01-01T00:00:00.000000001&to={nanos}&by=country")
    assert changes.status_code == 200, changes.json
    assert changes.json["to"] == now.isoformat()
    assert changes.json["from"] == "2020-01-01T00:00:00+00:00"
    # Still refused: a fraction with no digit, or a wrong date however precise.
    for bad in ("2020-01-01T00:00:00.", "2020-13-01T00:00:00.123456789"):
        refused = public.get(f"/casualties?by=country&as_of={bad}")
        assert refused.status_code == 422 and refused.json["errors"][0]["field"] == "as_of"


def test_operations(seeded_api, public):
    ops = public.get("/operations").json["operations"]
    assert {o["id"]: o["status"] for o in ops} == {"barkhane": "active", "takuba": "active"}
    takuba = public.get("/operations/takuba").json
    assert takuba["history"][0]["status"] == "active"
    assert public.get("/operations/nothing").status_code == 404


def test_incidents_pagination_with_cursor_and_link(seeded_api, public):
    first = public.get("/incidents?limit=3")
    assert first.status_code == 200 and len(first.json["incidents"]) == 3
    link = first.headers["Link"]
    assert 'rel="next"' in link and "cursor=" in link
    second = public.get(link[1:link.index(">")].removeprefix("/api/v1"))
    assert [i["id"] for i in second.json["incidents"]] == ["mali-coup-2020"]
    assert second.json["next"] is None and "Link" not in second.headers
    assert public.get("/incidents?cursor=garbage").status_code == 422
    assert public.get("/incidents?limit=0").status_code == 422


def test_incident_detail_and_geojson(seeded_api, public):
    niaki = public.get("/incidents/niaki-battle-2020-11").json
    assert niaki["corrections"][0]["value"] == "2020-11-13"
    assert public.get("/incidents/nowhere").status_code == 404
    geo = public.get("/incidents.geojson?country=Mali")
    assert geo.status_code == 200 and geo.mimetype == "application/geo+json"
    assert geo.json["type"] == "FeatureCollection" and len(geo.json["features"]) == 4


def test_actor_and_as_of(seeded_api, public):
    cisse = public.get("/actors/soumaila-cisse").json
    assert cisse["title"] == "Leader of the opposition in Mali"
    assert (cisse["name"], cisse["kind"], cisse["country"]) == ("Soumaila Cisse", "person",
                                                                "Mali")
    assert cisse["fate"]["incident"] == "mali-prisoner-exchange-2020-10"
    assert public.get("/actors/nobody").status_code == 404
    before = public.get("/actors/soumaila-cisse?as_of=2000-01-01")
    assert before.status_code == 404
    assert public.get("/casualties?by=country&as_of=2000-01-01").json["rows"] == []


def test_history_and_events(seeded_api, public):
    history = public.get("/history/actor/frederic-barbry").json
    corrected = history["events"][-1]
    assert corrected["payload"]["previous"] == ["Frederic Barby"]
    assert corrected["payload"]["value"] == []
    assert public.get("/history/planet/earth").status_code == 404
    page = public.get("/events?after=5&limit=3").json
    assert [e["position"] for e in page["events"]] == [6, 7, 8] and page["next"] == 8
    token_event = public.get("/events?limit=1").json["events"][0]
    assert token_event["type"] == "TokenIssued" and "secret_hash" not in token_event["payload"]
    assert public.get("/events?limit=-1").status_code == 422
    assert public.get(f"/events?after={2**70}").status_code == 422


def test_etag_and_304_move_with_the_views(seeded_api, public):
    first = public.get("/casualties?by=country")
    etag = first.headers["ETag"]
    again = public.get("/casualties?by=country", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    seeded_api.report({"report": "r-more", "source": {"name": "Wire", "kind": "media"},
                       "facts": [{"fact": "casualties", "incident": "niaki-battle-2020-11",
                                  "killed": 31}]})
    moved = public.get("/casualties?by=country", headers={"If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["ETag"] != etag
    for path in ("/groups/jnim/leadership", "/operations", "/incidents", "/events"):
        tag = public.get(path).headers["ETag"]
        assert public.get(path, headers={"If-None-Match": tag}).status_code == 304


def test_unknown_route_and_method_are_json(public, client):
    missing = public.get("/nothing-here")
    assert missing.status_code == 404 and missing.json["code"] == 404
    wrong = client.delete("/api/v1/operations")
    assert wrong.status_code == 405 and wrong.json["code"] == 405


def test_an_unexpected_error_is_a_json_500_without_a_trace(app, public, monkeypatch):
    services = app.extensions["tracker"]
    monkeypatch.setattr(services.runner, "lag", lambda: 1 / 0)
    monkeypatch.setattr(type(services.tracker), "list_events",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    response = public.get("/events")
    assert response.status_code == 500
    assert response.json == {"code": 500, "status": "Internal Server Error",
                             "message": "internal error; it has been logged", "errors": []}


def test_min_position_beyond_the_log_is_422(public):
    response = public.get("/operations?min_position=999")
    assert response.status_code == 422 and "beyond the end of the log" in response.json["message"]


def test_views_behind_is_503(app, seeded_api, public, monkeypatch):
    app.config["MIN_POSITION_TIMEOUT"] = 0.05
    services = app.extensions["tracker"]
    services.settings = type(services.settings)(**{**services.settings.__dict__,
                                                    "inline": False})
    seeded_api.report({"report": "r-late", "source": {"name": "Wire", "kind": "media"},
                       "facts": [{"fact": "casualties", "incident": "niaki-battle-2020-11",
                                  "killed": 31}]})
    head = services.tracker.max_position()
    response = public.get(f"/operations?min_position={head}")
    assert response.status_code == 503 and response.json["code"] == 503


def test_healthz(seeded_api, public):
    body = public.get("/healthz").json
    assert body["status"] == "ok" and body["event_store"]["head"] >= 48
    assert body["behind"] == {"leadership": 0, "casualties": 0, "operations": 0,
                              "incidents": 0, "actors": 0, "sources": 0}


def test_an_unknown_history_kind_names_the_kinds_and_the_document_lists_them(public):
    """/history/widget/x answered `no widget with id 'x'`; the CLI names the kinds."""
    from api.cli import main
    from api.routes.audit import HISTORY_KINDS
    from tracker.application import AGGREGATES

    answer = public.get("/history/widget/x")
    assert answer.status_code == 404
    assert answer.json["message"] == ("no history of kind 'widget': the kinds are actor, "
                                      "incident, operation, report, link")
    assert set(HISTORY_KINDS) == set(AGGREGATES)
    (kind,) = [p for p in main.commands["history"].params if p.name == "kind"]
    assert tuple(kind.type.choices) == HISTORY_KINDS
    spec = public.get("/openapi.json").json
    parameters = spec["paths"]["/api/v1/history/{kind}/{entity_id}"]["get"]["parameters"] \
        + spec["paths"]["/api/v1/history/{kind}/{entity_id}"].get("parameters", [])
    (documented,) = [p for p in parameters if p["name"] == "kind"]
    assert documented["schema"]["enum"] == list(HISTORY_KINDS) and documented["in"] == "path"


def test_openapi_document_and_docs_page(public):
    spec = public.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/reports", "/api/v1/casualties", "/api/v1/groups/{group_id}/leadership",
                 "/api/v1/history/{kind}/{entity_id}", "/api/v1/healthz"):
        assert path in spec["paths"]
    assert '"#/components/schemas/Error"' in json.dumps(spec)
    assert public.get("/docs").status_code == 200


@pytest.mark.parametrize("path, args", [
    ("/groups/jnim/leadership", ["query", "leadership", "jnim"]),
    ("/casualties?by=country", ["query", "casualties", "--by", "country"]),
    ("/casualties?by=actor", ["query", "casualties", "--by", "actor"]),
    ("/operations", ["query", "operations"]),
    ("/operations/barkhane", ["query", "operations", "barkhane"]),
    ("/incidents", ["query", "incidents"]),
    ("/actors?q=jnim", ["query", "actors", "--q", "jnim"]),
    ("/actors/JNIM", ["query", "actor", "JNIM"]),
    ("/actors/bah-ag-moussa", ["query", "actor", "Bamoussa Diarra"]),
])
def test_the_api_json_equals_the_cli_json(app, seeded_api, public, monkeypatch, path, args):
    monkeypatch.setenv("TRACKER_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    cli = CliRunner().invoke(main, [*args, "--json"], catch_exceptions=False)
    assert json.loads(cli.output) == public.get(path).json


def test_changes_name_the_reports_behind_each_change_and_a_retraction_too(seeded_api, public):
    from datetime import UTC, datetime

    assert seeded_api.report({
        "report": "wire-1", "source": {"name": "Wire", "kind": "media"},
        "facts": [{"fact": "casualties", "incident": "menaka-raid-2020-11",
                   "killed": 12}]}).status_code == 201
    middle = datetime.now(UTC).isoformat()
    assert seeded_api.report({
        "report": "desk-1", "source": {"name": "Desk", "kind": "analyst"},
        "facts": [{"fact": "retraction", "target": {"report": "wire-1"},
                   "reason": "misread"}]}).status_code == 201
    everything = public.get("/changes?from=2000-01-01&by=admin1").json
    menaka = next(r for r in everything["rows"] if r["key"] == "Mali / Menaka")
    assert (menaka["country"], menaka["admin1"]) == ("Mali", "Menaka")
    assert (menaka["before"]["best"], menaka["after"]["best"]) == (0, 5)
    assert {c["report"] for c in menaka["causes"]} >= {"wire-1", "desk-1"}
    since = public.get("/changes", query_string={"from": middle, "by": "admin1"}).json
    assert [(r["key"], r["before"]["best"], r["after"]["best"]) for r in since["rows"]] == [
        ("Mali / Menaka", 12, 5)]
    assert [(c["report"], c["source"]) for c in since["rows"][0]["causes"]] == [
        ("desk-1", "Desk")]
    before = public.get("/changes", query_string={"from": "2000-01-01", "to": middle,
                                                  "by": "admin1"}).json
    assert {r["key"]: r["after"]["best"] for r in before["rows"]}["Mali / Menaka"] == 12
    assert public.get("/changes?from=2001-01-01&to=2000-01-01&by=country").status_code == 422
    assert public.get("/changes?from=2000-01-01&by=planet").status_code == 422
    assert public.get("/changes?by=country").status_code == 422


def test_incident_filters_and_actor_names(seeded_api, public):
    battles = public.get("/incidents?type=battle&admin1=Mopti").json["incidents"]
    assert [i["id"] for i in battles] == ["niaki-battle-2020-11"]
    by_alias = public.get("/incidents?actor=JNIM").json["incidents"]
    by_id = public.get("/incidents?actor=jnim").json["incidents"]
    assert by_alias == by_id and by_id
    assert public.get("/incidents?min_killed=10").json["incidents"][0]["killed"]["best"] >= 10
    assert public.get("/incidents?bbox=1,2,3").status_code == 422
    assert public.get("/groups/JNIM/leadership").json["group"] == "jnim"


def test_sources_lists_every_cited_source_with_its_incidents(reporter, public):
    for rid, source, incident in (("w1", "Wire", "a"), ("w2", "Wire", "b"), ("m1", "MoD", "a")):
        body = {"report": rid, "source": {"name": source, "kind": "media"},
                "facts": [{"fact": "incident", "id": incident, "date": "2021-03-01",
                           "type": "battle", "location": {"name": "X", "country": "Mali"}},
                          {"fact": "casualties", "incident": incident, "killed": 2}]}
        assert reporter.report(body).status_code == 201
    assert public.get("/sources").get_json()["sources"] == [
        {"name": "Wire", "incidents": 2}, {"name": "MoD", "incidents": 1}]
    assert public.get("/sources?as_of=2000-01-01").get_json()["sources"] == []


def test_linked_records_are_one_incident_in_lists_details_and_exports(reporter, public):
    for rid, source, incident, killed, ref in (
            ("a", "ACLED", "acled:1", 30, {"sources": "Le Faso.net; RFI"}),
            ("u", "UCDP", "ucdp:9", 28, {"office": "RFI;AFP"})):
        assert reporter.report({
            "report": rid, "source": {"name": source, "kind": "dataset"},
            "facts": [{"fact": "incident", "id": incident, "date": "2020-11-12",
                       "type": "battle", "location": {"name": "Niaki", "country": "Mali",
                                                      "latitude": 15.0, "longitude": -2.5},
                       "ref": {"dataset": source, **ref}},
                      {"fact": "casualties", "incident": incident, "killed": killed}]}
        ).status_code == 201
    linked = reporter.report({"report": "l", "source": {"name": "Desk", "kind": "analyst"},
                              "facts": [{"fact": "same_incident", "incident": "acled:1",
                                         "same_as": "ucdp:9", "score": 0.9}]})
    assert linked.status_code == 201
    [row] = public.get("/incidents").get_json()["incidents"]
    assert (row["id"], row["members"]) == ("acled:1", ["acled:1", "ucdp:9"])
    detail = public.get("/incidents/ucdp:9").get_json()
    assert (detail["id"], detail["members"]) == ("acled:1", ["acled:1", "ucdp:9"])
    csv_text = public.get("/incidents.csv?fields=id,members,sources,cited_sources").data
    assert csv_text.decode().splitlines() == [
        "id,members,sources,cited_sources",
        "acled:1,acled:1; ucdp:9,ACLED; UCDP,Le Faso.net; RFI; AFP"]
    features = public.get("/incidents.geojson").get_json()["features"]
    assert [f["properties"]["members"] for f in features] == ["acled:1; ucdp:9"]
    assert public.get("/casualties?by=country").get_json()["rows"][0]["incidents"] == 1


def test_type_takes_the_datasets_labels_and_refuses_unknown_words(seeded_api, public):
    ours = public.get("/incidents?type=battle").get_json()["incidents"]
    assert ours, "the seed has battles"
    for label in ("Battles", "BATTLES", "state-based conflict", "Battle"):
        assert public.get(f"/incidents?type={label}").get_json()["incidents"] == ours, label
    refused = public.get("/casualties?by=country&type=massacre")
    assert refused.status_code == 422
    message = refused.get_json()["errors"][0]["message"]
    assert "massacre" in message and "violence_against_civilians" in message and (
        "battles" in message)


def test_an_unknown_actor_is_a_422_not_an_empty_answer(seeded_api, public):
    for path in ("/incidents?actor=Nobody Known", "/casualties?by=country&actor=Nobody Known",
                 "/incidents.csv?actor=Nobody Known", "/incidents.geojson?actor=Nobody Known"):
        answer = public.get(path)
        assert answer.status_code == 422, path
        assert answer.get_json()["errors"][0]["field"] == "actor"
    assert public.get("/incidents?actor=JNIM").status_code == 200
