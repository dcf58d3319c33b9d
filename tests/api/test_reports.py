"""POST /api/v1/reports: 201, 200, 422, 409, 413, 415, and the principal on every event."""

import copy
import json

from tests.conftest import base_report
from tracker.facts import FACT_TYPES


def conflict_events(public):
    """The log without the token events the fixtures write first."""
    return [e for e in public.get("/events").json["events"] if e["entity"]["kind"] != "token"]


def test_a_new_report_is_201_with_positions_and_readable_at_once(reporter, public):
    response = reporter.report(base_report())
    assert response.status_code == 201
    body = response.json
    assert body == {"report": "r-base", "recorded": True, "events": 5,
                    "positions": [p for p in body["positions"]]}
    assert len(body["positions"]) == 5
    casualties = public.get(f"/casualties?by=country&min_position={body['positions'][-1]}")
    assert casualties.json["rows"][0]["killed"]["best"] == 30


def test_the_same_report_again_is_200_with_nothing_new(reporter):
    reporter.report(base_report())
    again = reporter.report(base_report())
    assert again.status_code == 200
    assert again.json == {"report": "r-base", "recorded": False, "events": 0, "positions": []}


def test_an_invalid_report_is_422_listing_fact_index_and_field(reporter, public):
    bad = copy.deepcopy(base_report())
    bad["facts"][3]["killed"] = -2
    bad["facts"].append({"fact": "rumour"})
    response = reporter.report(bad)
    assert response.status_code == 422
    body = response.json
    assert (body["code"], body["status"]) == (422, "Unprocessable Entity")
    assert [(e["fact"], e["field"]) for e in body["errors"]] == [(3, "killed"), (4, "fact")]
    assert conflict_events(public) == []


def test_an_unknown_entity_is_422_naming_the_field(reporter):
    response = reporter.report({"report": "r1", "source": {"name": "S", "kind": "media"},
                                "facts": [{"fact": "casualties", "incident": "x",
                                           "killed": 1}]})
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "incident"


def test_same_id_other_content_is_409_and_changes_nothing(reporter, public):
    reporter.report(base_report())
    changed = base_report()
    changed["facts"][3]["killed"] = 31
    response = reporter.report(changed)
    assert response.status_code == 409
    assert response.json["code"] == 409 and "r-base" in response.json["message"]
    assert len(conflict_events(public)) == 5


def test_an_oversized_body_is_413(app, reporter):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    big = base_report()
    big["notes"] = "x" * 2000
    response = reporter.report(big)
    assert response.status_code == 413
    assert response.json["code"] == 413


def test_a_body_that_is_not_json_is_415_or_400(client, tokens):
    headers = {"Authorization": f"Bearer {tokens['reporter']}"}
    text = client.post("/api/v1/reports", data="report", headers=headers,
                       content_type="text/plain")
    assert text.status_code == 415 and text.json["code"] == 415
    broken = client.post("/api/v1/reports", data="{not json", headers=headers,
                         content_type="application/json")
    assert broken.status_code == 400 and broken.json["code"] == 400


def test_a_body_that_is_not_json_names_the_line_and_column_as_the_cli_does(client, tokens):
    headers = {"Authorization": f"Bearer {tokens['reporter']}"}
    text = '{\n  "report": "r",\n  "facts": [\n    {"fact": "incident"}\n    {"x": 1}\n  ]\n}'
    broken = client.post("/api/v1/reports", data=text, headers=headers,
                         content_type="application/json")
    assert broken.status_code == 400
    assert broken.json["message"] == ("the body is not valid JSON: Expecting ',' delimiter: "
                                      "line 5 column 5 (char 61)")
    latin1 = client.post("/api/v1/reports", data='{"report": "caf\xe9"}'.encode("latin-1"),
                         headers=headers, content_type="application/json")
    assert latin1.status_code == 400
    assert latin1.json["message"] == ("the body is not valid JSON: not UTF-8 (byte 0xe9 at "
                                      "offset 15)")


def test_a_body_one_level_too_deep_is_the_same_422_as_a_very_deep_one(client, tokens):
    headers = {"Authorization": f"Bearer {tokens['reporter']}"}
    for levels in (33, 5000):
        body = "[" * levels + "]" * levels
        answer = client.post("/api/v1/reports", data=body, headers=headers,
                             content_type="application/json")
        assert answer.status_code == 422
        assert answer.json["message"].endswith(
            "the body nests deeper than 32 levels; a report is a few levels deep")


def test_civilians_on_a_casualties_fact_is_refused_pointing_at_breakdown(reporter):
    """DESIGN.md lists `civilians` on casualties; the format has breakdown.civilians, and
    the refusal said only `is not a known field`."""
    report = base_report()
    report["facts"][3]["civilians"] = 9
    answer = reporter.report(report)
    assert answer.status_code == 422
    assert answer.json["errors"] == [{"fact": 3, "field": "civilians", "message":
                                      'is not a known field; a count of civilians goes in '
                                      'breakdown: "breakdown": {"civilians": 9}'}]
    report["facts"][3]["breakdown"] = {"civilians": report["facts"][3].pop("civilians")}
    assert reporter.report(report).status_code == 201


def test_the_token_name_is_recorded_on_every_event(reporter, public):
    reporter.report(base_report())
    events = conflict_events(public)
    assert {e["provenance"]["recorded_by"] for e in events} == {"reporter-1"}


def _resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_each_fact_type_requires_what_the_openapi_document_marks_required(admin, public):
    # The document shows a fact as a oneOf of the catalogue's schemas, chosen by `fact`; for
    # each, posting {"fact": T} alone is refused naming exactly the fields it marks required.
    document = public.get("/openapi.json").json
    body = document["paths"]["/api/v1/reports"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    item = _resolve(document, _resolve(document, body)["properties"]["facts"])["items"]
    assert item["discriminator"]["propertyName"] == "fact"
    mapping = item["discriminator"]["mapping"]
    assert sorted(mapping) == sorted(FACT_TYPES)
    assert [a["$ref"] for a in item["oneOf"]] == list(mapping.values())
    for fact_type, ref in mapping.items():
        schema = _resolve(document, {"$ref": ref})
        assert schema["properties"]["fact"]["enum"] == [fact_type]
        required = set(schema["required"]) - {"fact"}
        report = {"report": f"only-{fact_type}", "facts": [{"fact": fact_type}],
                  "source": {"name": "Ministry", "kind": "official"}}
        response = admin.report(report)
        assert response.status_code == 422, fact_type
        named = {e["field"] for e in response.json["errors"]}
        assert all(e["fact"] == 0 for e in response.json["errors"])
        assert named == required, fact_type
        assert {e["message"] for e in response.json["errors"]} == {"is required"}


def duplicated(text: str, old: str, new: str) -> str:
    """`text` with `new` inserted right after the first `old`: a key given twice."""
    assert old in text
    return text.replace(old, old + new, 1)


def test_a_key_given_twice_is_422_naming_the_fact_and_field(client, tokens, public):
    """Not last-wins: {"killed": 30, "killed": 3000} is refused, naming where."""
    headers = {"Authorization": f"Bearer {tokens['reporter']}",
               "Content-Type": "application/json"}
    text = json.dumps(base_report())
    cases = [
        (duplicated(text, '"killed": 30', ', "killed": 3000'), 3, "killed"),
        (duplicated(text, '"country": "Mali"', ', "country": "Niger"'), 2, "location.country"),
        (duplicated(text, '"report": "r-base"', ', "report": "r-other"'), None, "report"),
        (duplicated(text, '"kind": "official"', ', "kind": "media"'), None, "source.kind"),
    ]
    for body, fact, field in cases:
        response = client.post("/api/v1/reports", data=body, headers=headers)
        assert response.status_code == 422, body
        assert [(e["fact"], e["field"]) for e in response.json["errors"]] == [(fact, field)]
        assert "twice" in response.json["message"]
    assert conflict_events(public) == []
    assert client.post("/api/v1/reports", data=text, headers=headers).status_code == 201


def test_date_end_before_date_is_422_naming_date_end(reporter, public):
    bad = base_report()
    bad["facts"][2]["date_end"] = "2020-11-11"
    response = reporter.report(bad)
    assert response.status_code == 422
    assert [(e["fact"], e["field"]) for e in response.json["errors"]] == [(2, "date_end")]
    assert "before date 2020-11-12" in response.json["errors"][0]["message"]
    bad["facts"][2]["date_end"] = "2020-11-12"
    assert reporter.report(bad).status_code == 201


def test_a_correction_cannot_put_date_end_before_date(reporter):
    report = base_report()
    report["facts"][2]["date_end"] = "2020-11-14"
    assert reporter.report(report).status_code == 201

    def correct(field, value, n):
        return reporter.report({"report": f"fix-{n}", "source": {"name": "S", "kind": "media"},
                                "facts": [{"fact": "correction", "target": {"incident": "niaki"},
                                           "field": field, "value": value, "reason": "typo"}]})

    moved = correct("date", "2020-11-15", 1)
    assert moved.status_code == 422
    assert [(e["fact"], e["field"]) for e in moved.json["errors"]] == [(0, "value")]
    assert "date_end 2020-11-14 before its date 2020-11-15" in moved.json["message"]
    assert correct("date_end", "2020-11-10", 2).status_code == 422
    assert correct("date_end", "2020-11-13", 3).status_code == 201
    assert correct("date", "2020-11-13", 4).status_code == 201


def test_one_report_may_move_both_dates_of_an_incident(reporter):
    """A dataset re-import corrects date and date_end together: judged as the report
    leaves them, not one at a time."""
    report = base_report()
    report["facts"][2]["date_end"] = "2020-11-14"
    assert reporter.report(report).status_code == 201
    both = {"report": "move", "source": {"name": "S", "kind": "dataset"}, "facts": [
        {"fact": "correction", "target": {"incident": "niaki"}, "field": field,
         "value": value, "reason": "re-import"}
        for field, value in (("date", "2020-12-01"), ("date_end", "2020-12-02"))]}
    assert reporter.report(both).status_code == 201
