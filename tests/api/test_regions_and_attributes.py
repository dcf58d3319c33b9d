"""Country-qualified regions, the datasets' attribute filters and figures_from through the
API (JSON, CSV, GeoJSON) and the CLI, checked against the real exports in ../shared/data
where they are at hand."""

import collections
import csv
import io
import json

import pytest
from click.testing import CliRunner

from api.cli import main
from tests.conftest import base_report
from tests.projections.test_regions import two_sources
from tracker.ingestion.importer import Importer


def read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def datasets_api(app, public, shared_data):
    """The API over the real ACLED Burkina Faso export and the UCDP CAR sample."""
    services = app.extensions["tracker"]
    Importer(services.tracker, "acled").run(shared_data / "acled_Burkina_Faso.csv")
    Importer(services.tracker, "ucdp", release="23.1").run(
        shared_data / "ucdp_ged_CAR_sample.csv")
    services.after_write()
    return public


def csv_ids(api, query):
    response = api.get(f"/incidents.csv?fields=id&{query}")
    assert response.status_code == 200, response.json
    return [r["id"] for r in csv.DictReader(io.StringIO(response.data.decode()))]


def test_regions_and_attributes_match_the_real_exports(datasets_api, shared_data):
    acled = read_csv(shared_data / "acled_Burkina_Faso.csv")
    ucdp = read_csv(shared_data / "ucdp_ged_CAR_sample.csv")
    # admin1 and admin2 rows: the file's own counts per (country, admin1[, admin2]).
    by_admin1 = {r["key"]: r for r in datasets_api.get("/casualties?by=admin1").json["rows"]}
    expected = collections.Counter(f"Burkina Faso / {r['admin1']}" for r in acled)
    assert {k: r["incidents"] for k, r in by_admin1.items()
            if k.startswith("Burkina Faso / ")} == dict(expected)
    assert by_admin1["Burkina Faso / Centre"]["country"] == "Burkina Faso"
    car = collections.Counter(f"Central African Republic / {r['adm_1'] or '(unknown)'}"
                              for r in ucdp)
    assert {k: r["incidents"] for k, r in by_admin1.items()
            if k.startswith("Central African Republic / ")} == dict(car)
    by_admin2 = datasets_api.get("/casualties?by=admin2&country=Burkina Faso").json["rows"]
    assert {r["key"]: (r["incidents"], r["killed"]["best"]) for r in by_admin2} == {
        f"Burkina Faso / {a1} / {a2}": (n, sum(int(r["fatalities"]) for r in acled
                                              if (r["admin1"], r["admin2"]) == (a1, a2)))
        for (a1, a2), n in collections.Counter((r["admin1"], r["admin2"]) for r in acled
                                               ).items()}
    assert len(csv_ids(datasets_api, "admin2=Burkina Faso / Centre / Kadiogo")) == sum(
        1 for r in acled if (r["admin1"], r["admin2"]) == ("Centre", "Kadiogo"))
    # ACLED's interaction, as a code or as the importer reads its labels.
    for code, n in collections.Counter(r["interaction"] for r in acled).items():
        assert len(csv_ids(datasets_api, f"interaction={code}")) == n, code
    rebels_civilians = sum(1 for r in acled if r["interaction"] == "27")
    assert len(csv_ids(datasets_api, "interaction=Rebel group-Civilians")) == rebels_civilians
    tally = datasets_api.get("/casualties?by=country&interaction=27").json
    assert tally["total"]["best"] == sum(int(r["fatalities"]) for r in acled
                                         if r["interaction"] == "27")
    # UCDP's type_of_violence (a code or its label), dyad and conflict (an id or a name).
    for code, n in collections.Counter(r["type_of_violence"] for r in ucdp).items():
        assert len(csv_ids(datasets_api, f"type_of_violence={code}")) == n, code
        tally = datasets_api.get(f"/casualties?by=type&type_of_violence={code}").json
        assert tally["total"]["best"] == sum(int(r["best"]) for r in ucdp
                                             if r["type_of_violence"] == code)
    assert len(csv_ids(datasets_api, "type_of_violence=One-sided violence")) == sum(
        1 for r in ucdp if r["type_of_violence"] == "3")
    dyad_id, dyad_name = next((r["dyad_new_id"], r["dyad_name"]) for r in ucdp)
    by_dyad = sum(1 for r in ucdp if r["dyad_new_id"] == dyad_id)
    assert len(csv_ids(datasets_api, f"dyad={dyad_id}")) == by_dyad
    assert len(csv_ids(datasets_api, f"dyad={dyad_name.upper()}")) == by_dyad
    name = ucdp[0]["conflict_name"]
    assert len(csv_ids(datasets_api, f"conflict_name={name}")) == sum(
        1 for r in ucdp if r["conflict_name"] == name)
    # The same filters on the list and the GeoJSON.
    geo = datasets_api.get("/incidents.geojson?type_of_violence=2").json
    listed = datasets_api.get("/incidents?type_of_violence=2&limit=1000").json["incidents"]
    assert len(geo["features"]) == len(listed) == sum(
        1 for r in ucdp if r["type_of_violence"] == "2")


@pytest.mark.parametrize("query, field, words", [
    ("interaction=99", "interaction", ["10", "28", "88"]),
    ("interaction=Aliens-Civilians", "interaction", ["28"]),
    ("type_of_violence=4", "type_of_violence", ["1 (state-based conflict)",
                                                "3 (one-sided violence)"]),
    ("type_of_violence=massacre", "type_of_violence", ["one-sided violence"]),
    ("disorder_type=riots", "disorder_type", ["'Political violence'", "'Demonstrations'",
                                              "'Strategic developments'"]),
    ("civilian_targeting=yes", "civilian_targeting", ["'Civilian targeting'"]),
])
def test_an_unknown_value_of_a_closed_vocabulary_is_a_422_listing_it(public, query, field,
                                                                      words):
    for path in ("/incidents", "/casualties?by=country", "/incidents.csv"):
        response = public.get(f"{path}{'&' if '?' in path else '?'}{query}")
        assert response.status_code == 422
        assert [e["field"] for e in response.json["errors"]] == [field]
        for word in words:
            assert word in response.json["errors"][0]["message"]


def test_figures_from_and_source_through_the_api(app, public):
    services = app.extensions["tracker"]
    two_sources(services.tracker)
    services.after_write()
    source = public.get("/incidents?source=Human Rights Watch").json["incidents"]
    own = public.get("/incidents?figures_from=Human Rights Watch").json["incidents"]
    assert {i["id"]: i["killed"]["best"] for i in source} == {"djibo": 13, "kaya": 0}
    assert {i["id"]: i["killed"]["best"] for i in own} == {"djibo": 20, "kaya": None}
    rows = csv.DictReader(io.StringIO(public.get(
        "/incidents.csv?figures_from=Human Rights Watch&fields=id,killed_best,killed_high,"
        "basis_report").data.decode()))
    assert {r["id"]: (r["killed_best"], r["killed_high"], r["basis_report"]) for r in rows} == {
        "djibo": ("20", "25", "hrw-report"), "kaya": ("", "", "")}
    tally = public.get("/casualties?by=country&figures_from=Human Rights Watch").json
    assert tally["total"]["best"] == 20
    assert public.get("/casualties?by=country&source=Human Rights Watch").json[
        "total"]["best"] == 13
    # Any case names the source; a source no live report cites is a 422 naming the filter,
    # not an empty answer (it would say that source reported nothing).
    assert public.get("/casualties?by=country&source=human rights WATCH").json[
        "total"]["best"] == 13
    for field in ("source", "figures_from"):
        for path in ("/incidents", "/casualties?by=country", "/incidents.csv",
                     "/incidents.geojson"):
            refused = public.get(f"{path}{'&' if '?' in path else '?'}{field}=Nobody Known")
            assert refused.status_code == 422, (path, field)
            assert refused.json["errors"] == [{"field": field, "message": (
                "unknown source 'Nobody Known': no live report cites it (list them with "
                "/sources)")}]
    # A citation proves the evidence rules' figures, not one source's.
    cite = public.get("/cite?view=casualties&by=country&figures_from=Human Rights Watch")
    assert cite.status_code == 422 and cite.json["errors"][0]["field"] == "figures_from"


def test_casualties_csv_carries_the_regions_names(reporter, public):
    from tests.projections.test_regions import region_report

    assert reporter.report(region_report()).status_code == 201
    rows = list(csv.DictReader(io.StringIO(public.get(
        "/casualties.csv?by=admin2").data.decode())))
    kadiogo = next(r for r in rows if r["key"] == "Burkina Faso / Centre / Kadiogo")
    assert (kadiogo["name"], kadiogo["country"], kadiogo["admin1"], kadiogo["admin2"],
            kadiogo["killed_best"]) == ("Kadiogo", "Burkina Faso", "Centre", "Kadiogo", "7")
    unknown = next(r for r in rows if r["key"] == "Cameroon / (unknown) / (unknown)")
    assert (unknown["country"], unknown["admin1"], unknown["admin2"]) == ("Cameroon", "", "")


def test_the_openapi_document_lists_the_new_parameters(public):
    spec = public.get("/openapi.json").json
    wanted = {"admin2", "interaction", "disorder_type", "civilian_targeting",
              "type_of_violence", "dyad", "conflict_name", "figures_from"}
    for path in ("/api/v1/incidents", "/api/v1/incidents.csv", "/api/v1/incidents.geojson",
                 "/api/v1/casualties", "/api/v1/casualties.csv"):
        params = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        assert wanted <= set(params), path
    by = {p["name"]: p for p in spec["paths"]["/api/v1/casualties"]["get"]["parameters"]}["by"]
    assert "admin2" in by["schema"]["enum"]


def test_the_cli_takes_the_same_filters_and_says_what_is_wrong(app, reporter, public,
                                                               monkeypatch):
    from tests.projections.test_regions import region_report

    assert reporter.report(region_report()).status_code == 201
    monkeypatch.setenv("TRACKER_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    result = CliRunner().invoke(main, ["query", "casualties", "--by", "admin2", "--admin1",
                                       "Burkina Faso / Centre", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == public.get(
        "/casualties?by=admin2&admin1=Burkina Faso / Centre").json
    assert {r["key"] for r in json.loads(result.output)["rows"]} == {
        "Burkina Faso / Centre / Kadiogo", "Burkina Faso / Centre / (unknown)"}
    text = CliRunner().invoke(main, ["query", "casualties", "--by", "admin1"])
    assert "Cameroon / Centre" in text.output and "Burkina Faso / Centre" in text.output
    bad = CliRunner().invoke(main, ["query", "incidents", "--interaction", "99"])
    assert bad.exit_code == 1
    assert bad.output.count("\n") == 1 and "--interaction" in bad.output
    assert "Traceback" not in bad.output


def test_a_place_no_incident_was_ever_recorded_at_is_a_422_naming_it(reporter, public):
    """`?country=Burkina` answered {"incidents": []} and `--admin1 "Centre Nord"` a total of
    0, while a misspelt actor or source is refused; a place an as_of read finds then (the
    incident moved by a correction since) is still accepted."""
    import time

    assert reporter.report(base_report()).status_code == 201
    recorded = public.get("/history/incident/niaki").json["events"][-1]["recorded"]
    corrected = {"report": "move", "source": {"name": "Desk", "kind": "analyst",
                                              "published": "2020-11-20"},
                 "facts": [{"fact": "correction", "target": {"incident": "niaki"},
                            "field": "location.admin1", "value": "Segou",
                            "reason": "the village is in Segou"}]}
    time.sleep(0.01)
    assert reporter.report(corrected).status_code == 201
    for path, field, value in (("/incidents?country=Mal", "country", "Mal"),
                               ("/casualties?by=admin1&admin1=Mopt", "admin1", "Mopt"),
                               ("/incidents.csv?admin2=Nowhere", "admin2", "Nowhere"),
                               ("/incidents.geojson?country=mali&admin1=Mali / Mopt",
                                "admin1", "Mali / Mopt")):
        answer = public.get(path)
        assert answer.status_code == 422, path
        assert [e["field"] for e in answer.json["errors"]] == [field]
        assert answer.json["message"].startswith(f"unknown {field} {value!r}: no incident "
                                                 "was ever recorded "), answer.json
    assert public.get("/incidents?admin1=Mali / Mopt").json["message"] == (
        "unknown admin1 'Mali / Mopt': no incident was ever recorded in an admin1 named "
        "'Mopt' (list them with /casualties?by=admin1)")
    # Any case, as the filter reads it; a key whose names exist but not together is empty.
    assert [i["id"] for i in public.get("/incidents?country=MALI").json["incidents"]] == [
        "niaki"]
    assert public.get("/incidents?admin1=Niger / Segou").status_code == 422  # no Niger
    assert public.get("/incidents?country=Mali&admin1=Segou").json["incidents"] != []
    # Mopti held the incident until the correction: known now (no incident there now) and
    # as of then (the incident).
    assert public.get("/incidents?admin1=Mopti").json["incidents"] == []
    then = public.get("/incidents", query_string={"admin1": "Mopti", "as_of": recorded})
    assert [i["id"] for i in then.json["incidents"]] == ["niaki"]


def test_the_cli_refuses_a_place_no_incident_was_recorded_at(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'events.sqlite'}")
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    runner = CliRunner()
    path = tmp_path / "r.json"
    path.write_text(json.dumps(base_report()))
    assert runner.invoke(main, ["report", str(path)]).exit_code == 0
    refused = runner.invoke(main, ["query", "casualties", "--by", "admin1", "--admin1",
                                   "Centre Nord"])
    assert refused.exit_code == 1
    assert refused.stderr == ("error: unknown admin1 'Centre Nord': no incident was ever "
                              "recorded there (list them with /casualties?by=admin1)\n")
    found = runner.invoke(main, ["query", "incidents", "--country", "mali", "--json"])
    assert found.exit_code == 0 and json.loads(found.stdout)["incidents"][0]["id"] == "niaki"
