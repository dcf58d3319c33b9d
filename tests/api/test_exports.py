"""The read API as analysts use it: CSV and GeoJSON exports, filters by name, actor search,
docs without internet, ETags everywhere, hostile bodies refused cleanly."""

import csv
import io
import json
import re

import pytest
from click.testing import CliRunner

from api.cli import main
from api.exports import INCIDENT_COLUMNS
from tracker.ingestion.importer import Importer


@pytest.fixture
def acled_api(app, public, shared_data):
    """The API over the real ACLED Burkina Faso export."""
    services = app.extensions["tracker"]
    Importer(services.tracker, "acled").run(shared_data / "acled_Burkina_Faso.csv")
    services.after_write()
    return public


def acled_rows(shared_data):
    with open(shared_data / "acled_Burkina_Faso.csv", newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def test_incidents_csv_has_every_incident_and_parses_with_csv_and_pandas(acled_api,
                                                                         shared_data):
    import pandas

    response = acled_api.get("/incidents.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    text = response.data.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(INCIDENT_COLUMNS)
    assert len(rows) == 2980
    assert sum(int(r["killed_best"]) for r in rows) == 5242
    frame = pandas.read_csv(io.StringIO(text))
    assert len(frame) == 2980 and int(frame["killed_best"].sum()) == 5242


def test_csv_quotes_commas_and_quotes_as_rfc_4180_says(reporter, public):
    # A name is one line of text (the format's limits refuse line breaks in it), so
    # commas and quotes are what a row's fields need quoting for.
    name = 'Niaki, "the ford"; north bank'
    assert reporter.report({"report": "q", "source": {"name": "Wire, Inc.", "kind": "media"},
                            "facts": [{"fact": "incident", "id": "q-1", "date": "2021-01-01",
                                       "type": "battle", "location": {
                                           "name": name, "country": "Mali"}}]}
                           ).status_code == 201
    raw = public.get("/incidents.csv?fields=id,location,sources").data.decode("utf-8")
    assert '"Niaki, ""the ford""; north bank"' in raw and raw.endswith("\r\n")
    [row] = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert (row["location"], row["sources"]) == (name, "Wire, Inc.")


def test_fields_select_and_order_columns_and_filters_match_the_file(acled_api, shared_data):
    response = acled_api.get("/incidents.csv?fields=killed_best,id,admin1&type=battle"
                             "&admin1=Sahel")
    lines = response.data.decode().splitlines()
    assert lines[0] == "killed_best,id,admin1"
    expected = sum(1 for r in acled_rows(shared_data)
                   if r["event_type"] == "Battles" and r["admin1"] == "Sahel")
    assert len(lines) - 1 == expected > 0
    assert acled_api.get("/incidents.csv?fields=id,planet").status_code == 422


def test_the_actor_filter_by_the_exports_name_equals_the_filter_by_id(acled_api):
    name = "JNIM: Group for Support of Islam and Muslims"
    found = acled_api.get("/actors", query_string={"q": name}).json["actors"]
    [actor] = [a for a in found if a["name"] == name]
    by_name = acled_api.get("/incidents.csv", query_string={"actor": name.upper()}).data
    by_id = acled_api.get("/incidents.csv", query_string={"actor": actor["id"]}).data
    assert by_name == by_id and len(by_id.splitlines()) - 1 >= 349
    tally = acled_api.get("/casualties", query_string={"by": "actor"}).json["rows"]
    assert next(r for r in tally if r["key"] == actor["id"])["name"] == name


def test_geojson_streams_every_matching_feature(acled_api):
    body = json.loads(acled_api.get("/incidents.geojson").data)
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 2980
    assert all(f["geometry"]["type"] == "Point" for f in body["features"])


def test_the_incidents_csv_names_actors_and_carries_the_rows_own_columns(acled_api,
                                                                       shared_data):
    text = acled_api.get("/incidents.csv").data.decode("utf-8")
    exported = {r["id"]: r for r in csv.DictReader(io.StringIO(text, newline=""))}
    checked = 0
    for row in acled_rows(shared_data):
        out = exported[f"acled:{row['event_id_cnty']}"]
        names = [n for n in (row["actor1"], *row["assoc_actor_1"].split(";"), row["actor2"],
                             *row["assoc_actor_2"].split(";")) if n.strip()]
        assert out["actors"].split("; ") == list(dict.fromkeys(n.strip() for n in names))
        ids = out["actor_ids"].split("; ")
        assert len(ids) == len(out["actors"].split("; ")) and all(
            i.startswith("acled:") for i in ids)
        assert (out["admin2"], out["admin3"], out["source_scale"], out["notes"]) == (
            row["admin2"], row["admin3"], row["source_scale"], row["notes"].strip())
        assert out["members"] == out["id"] and out["sources"] == "ACLED"
        assert out["cited_sources"].split("; ") == [s.strip() for s in row["source"].split(";")]
        checked += 1
    assert checked == len(exported) == 2980
    # An id of the column finds the actor its name says.
    first = next(iter(exported.values()))
    found = acled_api.get(f"/actors/{first['actor_ids'].split('; ')[0]}").json
    assert found["name"] == first["actors"].split("; ")[0]


def test_the_ucdp_rows_own_sources_and_regions_reach_the_csv(app, public, shared_data):
    services = app.extensions["tracker"]
    Importer(services.tracker, "ucdp", release="23.1").run(
        shared_data / "ucdp_ged_CAR_sample.csv")
    services.after_write()
    text = public.get("/incidents.csv?fields=id,admin1,admin2,admin3,cited_sources,actors,"
                      "date,date_end").data.decode("utf-8")
    exported = {r["id"]: r for r in csv.DictReader(io.StringIO(text, newline=""))}
    with open(shared_data / "ucdp_ged_CAR_sample.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(exported) == len(rows) == 250
    for row in rows:
        out = exported[f"ucdp-ged:{row['id']}"]
        assert (out["admin1"], out["admin2"], out["admin3"]) == (row["adm_1"], row["adm_2"], "")
        assert out["cited_sources"].split("; ") == [
            s.strip() for s in row["source_office"].split(";") if s.strip()] or [""]
        assert out["actors"] == f"{row['side_a']}; {row['side_b']}"
        start, end = row["date_start"][:10], row["date_end"][:10]
        assert (out["date"], out["date_end"]) == (start, "" if end == start else end)
    assert any(r["date_end"] for r in exported.values())


def test_naming_actors_costs_queries_per_page_not_per_row(acled_api, app, monkeypatch):
    store = app.extensions["tracker"].store
    calls: list[str] = []
    run = store.rows
    # Every read statement (SQLAlchemy Core, run by `rows`).
    monkeypatch.setattr(store, "rows", lambda *a, **kw: calls.append(str(a[1])) or run(*a, **kw))
    rows = acled_api.get("/incidents.csv?fields=id,actors").data.decode().splitlines()
    assert len(rows) - 1 == 2980
    named = [sql for sql in calls if "_docs.id IN" in sql]  # the actors' names, by id
    assert 1 <= len(named) <= 3  # one per page of 1,000 incidents, whatever their actors
    assert len(calls) < 20


def test_notes_with_commas_quotes_and_line_breaks_survive_the_csv(reporter, public):
    notes = 'First line, with a comma;\nsecond "quoted" line\r\nthird\tline'
    assert reporter.report({"report": "n", "source": {"name": "Wire", "kind": "media"},
                            "facts": [{"fact": "incident", "id": "n-1", "date": "2021-01-01",
                                       "type": "battle", "notes": notes,
                                       "location": {"name": "P", "country": "Mali"}}]}
                           ).status_code == 201
    raw = public.get("/incidents.csv?fields=notes,id").data.decode("utf-8")
    [row] = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert (row["notes"], row["id"]) == (notes, "n-1")
    geo = public.get("/incidents.geojson?fields=notes,actors,admin3").json
    # No actors and no admin3: null in the GeoJSON, an empty field in the CSV.
    assert geo["features"][0]["properties"] == {"notes": notes, "actors": None, "admin3": None}


def test_geojson_properties_are_the_csv_columns_and_flat(acled_api):
    import pandas

    body = json.loads(acled_api.get("/incidents.geojson").data)
    features = body["features"]
    assert len(features) == 2980
    for f in features:
        assert list(f["properties"]) == list(INCIDENT_COLUMNS)
        assert not any(isinstance(v, (dict, list)) for v in f["properties"].values()), f
        assert f["geometry"]["coordinates"] == [f["properties"]["longitude"],
                                                f["properties"]["latitude"]]
    text = acled_api.get("/incidents.csv").data.decode()
    frame = pandas.read_csv(io.StringIO(text), keep_default_na=False, dtype=str)
    by_id = {f["id"]: f["properties"] for f in features}
    for record in frame.to_dict("records")[:200]:
        props = by_id[record["id"]]
        assert {k: "" if v is None else str(v) for k, v in props.items()
                if not isinstance(v, float)} == {k: v for k, v in record.items()
                                                 if not isinstance(props[k], float)}


def test_fields_select_and_order_geojson_properties(acled_api):
    geo = acled_api.get("/incidents.geojson?fields=killed_best,actors,id&admin1=Sahel"
                        "&type=battle")
    assert geo.status_code == 200 and geo.json["features"]
    for f in geo.json["features"]:
        assert list(f["properties"]) == ["killed_best", "actors", "id"]
        assert f["geometry"]["type"] == "Point" and f["id"] == f["properties"]["id"]
    csv_ids = acled_api.get("/incidents.csv?fields=id&admin1=Sahel&type=battle"
                            ).data.decode().split()[1:]
    assert [f["id"] for f in geo.json["features"]] == csv_ids
    bad = acled_api.get("/incidents.geojson?fields=id,killed")
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "fields"
    assert "killed" in bad.json["message"] and "killed_best" in bad.json["message"]


def test_casualties_csv_and_the_cli_csv_are_the_same_bytes(seeded_api, public, app,
                                                           monkeypatch):
    api_csv = public.get("/casualties.csv?by=admin1").data.decode()
    assert api_csv.splitlines()[0] == ("key,name,killed_best,killed_low,killed_high,"
                                       "civilians_best,wounded_best,incidents,"
                                       "country,admin1,admin2")
    assert "Mali / Mopti,Mopti,30,30,30,,,1,Mali,Mopti," in api_csv.splitlines()
    monkeypatch.setenv("TRACKER_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    result = CliRunner().invoke(main, ["query", "casualties", "--by", "admin1", "--csv"])
    assert result.exit_code == 0 and result.output.replace("\r\n", "\n") == \
        api_csv.replace("\r\n", "\n")
    incidents = CliRunner().invoke(main, ["query", "incidents", "--csv", "--fields", "id"])
    assert incidents.output.split() == public.get("/incidents.csv?fields=id").data.decode(
    ).split()
    # --limit given: the first rows only (the header, then as many as asked).
    every = incidents.output.split()
    assert len(every) > 3
    first = CliRunner().invoke(main, ["query", "incidents", "--csv", "--fields", "id",
                                      "--limit", "2"])
    assert first.output.split() == every[:3]


def test_actor_search_and_lookup_by_alias(seeded_api, public):
    found = public.get("/actors?q=jnim").json
    assert [a["id"] for a in found["actors"]] == ["jnim"]
    assert found["actors"][0]["incidents"] >= 1
    assert public.get("/actors/JNIM").json["id"] == "jnim"
    # One actor shape: the detail is the list's row, plus what the record holds beyond it.
    detail = public.get("/actors/JNIM").json
    row = found["actors"][0]
    assert {k: detail[k] for k in row} == row and row["incidents"] == detail["incidents"]
    assert detail["affiliations"] == [{"parent": "al-qaeda", "relation": "branch_of",
                                       "since": None}]
    assert not any(isinstance(v, dict) and "name" in v for v in detail.values())
    # Every key the contract lists, for an actor whose record says none of them.
    bare = public.get("/actors/france").json
    assert {k: bare[k] for k in ("title", "notes", "affiliations", "sanctions")} == {
        "title": None, "notes": None, "affiliations": [], "sanctions": []}
    assert bare["former_roles"] == []
    # Roles that ended (the seed's commander, killed) stay on the record as former ones.
    moussa = public.get("/actors/bah-ag-moussa").json
    assert moussa["roles"] == {}
    assert [(r["group"], r["role"], r["reason"]) for r in moussa["former_roles"]] == [
        ("jnim", "deputy", "killed"), ("jnim", "military_commander", "killed")]
    assert {r["until"] for r in moussa["former_roles"]} == {moussa["fate"]["date"]}
    first = public.get("/actors?limit=2").json
    second = public.get(f"/actors?limit=2&cursor={first['next']}").json
    assert not {a["id"] for a in first["actors"]} & {a["id"] for a in second["actors"]}


def test_the_docs_page_loads_nothing_from_another_host(public):
    page = public.get("/docs")
    assert page.status_code == 200
    html = page.data.decode()
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(ref.startswith("/") and not ref.startswith("//") for ref in refs)
    assert "http://" not in html and "https://" not in html
    for ref in refs:
        assert public.client.get(ref).status_code == 200, ref


def test_every_get_has_an_etag_with_weak_and_star_comparison(seeded_api, public):
    for path in ("/actors/jnim", "/actors?q=j", "/history/actor/jnim", "/openapi.json",
                 "/incidents.csv", "/casualties?by=country"):
        response = public.get(path)
        tag = response.headers["ETag"]
        assert public.get(path, headers={"If-None-Match": tag}).status_code == 304, path
        assert public.get(path, headers={"If-None-Match": f"W/{tag}"}).status_code == 304
        assert public.get(path, headers={"If-None-Match": "*"}).status_code == 304
        assert public.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_history_as_of_shows_the_events_recorded_by_then(seeded_api, public):
    everything = public.get("/history/incident/niaki-battle-2020-11").json["events"]
    first_at = everything[0]["recorded"]
    early = public.get("/history/incident/niaki-battle-2020-11",
                       query_string={"as_of": first_at}).json["events"]
    assert 0 < len(early) < len(everything)
    assert public.get("/history/incident/niaki-battle-2020-11?as_of=2000-01-01"
                      ).status_code == 404


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_hostile_bodies_are_refused_with_a_clear_4xx(reporter, client, tokens):
    headers = {"Authorization": f"Bearer {tokens['reporter']}",
               "Content-Type": "application/json"}
    nested = client.post("/api/v1/reports", data=deep(10_000), headers=headers)
    assert nested.status_code == 422 and "nests deeper" in nested.json["message"]
    base = {"report": "geo", "source": {"name": "X", "kind": "media"}, "facts": [
        {"fact": "incident", "id": "i", "date": "2021-01-01", "type": "battle",
         "location": {"name": "P", "country": "Mali", "latitude": 200, "longitude": -500}}]}
    out_of_range = reporter.report(base)
    assert out_of_range.status_code == 422
    fields = {e["field"] for e in out_of_range.json["errors"]}
    assert fields == {"location.latitude", "location.longitude"}
    base["facts"][0]["location"] = {"name": "P", "country": "Mali", "latitude": 12.0}
    unpaired = reporter.report(base)
    assert unpaired.status_code == 422
    assert unpaired.json["errors"][0]["field"] == "location.longitude"


def test_bad_query_parameters_are_422_in_the_one_shape(public):
    for path in ("/incidents?from=2021-02-01&to=2021-01-01", "/incidents?planet=earth",
                 "/casualties?by=country&as_of=soon", "/incidents?cursor=garbage",
                 "/incidents?bbox=0,0,200,10", "/actors?limit=0"):
        response = public.get(path)
        assert response.status_code == 422, path
        assert response.json["errors"] and response.json["errors"][0]["field"]


def test_a_knowledge_time_whose_plus_arrived_as_a_space_says_how_to_send_it(public):
    """A `recorded` time pasted into ?as_of= unencoded: its '+' reads as a space, and the
    answer said only that it is not a date."""
    for path, name in (("/incidents?as_of=2026-12-01T12:46:20.965796+00:00", "as_of"),
                       ("/changes?by=country&from=2026-12-01T12:46+05:30", "from")):
        response = public.get(path)
        assert response.status_code == 422, path
        (error,) = response.json["errors"]
        assert error["field"] == name
        offset = path[-5:]
        assert error["message"].endswith(
            f"is not a date (YYYY-MM-DD) or an ISO datetime; a '+' in a URL's query reads as "
            f"a space: send the offset as %2B{offset} (or a UTC time ending in Z)"), error
    sent = public.get("/incidents?as_of=2026-12-01T12:46:20.965796%2B00:00")
    assert sent.status_code == 200
    assert sent.json["as_of"] == "2026-12-01T12:46:20.965796+00:00"
    plain = public.get("/incidents?as_of=soon").json["errors"][0]["message"]
    assert "%2B" not in plain  # the hint only where a '+' was lost


def test_the_page_hint_of_actor_ids_is_only_a_hint(seeded_api, public, monkeypatch):
    import orjson

    from projections.readmodel.fold import dumps
    from projections.views import incidents

    # Read off the text as stored (sorted keys), past a correction that names actors.
    doc = {"corrections": [{"field": "actors", "value": [{"actor": "other", "side": "a"}]}],
           "details": {"actors": [{"actor": "a-1", "side": "a"}, {"actor": "b:2", "side": "b"}],
                       "date": "2021-01-01"}, "id": "x"}
    assert incidents.listed_actors(dumps(doc)) == ["a-1", "b:2"]
    assert incidents.listed_actors(orjson.dumps({"id": "x"}).decode()) == []
    expected = public.get("/incidents.csv?fields=id,actors,actor_ids").data
    # When it misses every id, each row names its own actors: the same export.
    monkeypatch.setattr(incidents, "listed_actors", lambda text: [])
    assert public.get("/incidents.csv?fields=id,actors,actor_ids").data == expected
    assert b"French Armed Forces; Jama'at Nusrat al-Islam wal-Muslimin,france; jnim" in expected


def test_a_column_asked_for_twice_is_refused_on_every_export(seeded_api, public):
    """fields=id,id would give a CSV two id columns and a GeoJSON feature one property: the
    same request must not mean two things, so it is a 422 naming the column."""
    for path in ("/incidents.csv?fields=id,date,id", "/incidents.geojson?fields=id,date,id",
                 "/casualties.csv?by=country&fields=key,name,key"):
        refused = public.get(path)
        assert refused.status_code == 422, path
        assert refused.json["errors"][0]["field"] == "fields"
        assert "twice" in refused.json["message"] and (
            "id" in refused.json["message"] or "key" in refused.json["message"])
    assert public.get("/incidents.csv?fields=id,date").status_code == 200


def test_the_refused_columns_are_named_singular_for_one(seeded_api, public):
    """"unknown column planet", "unknown columns planet, moon": never "column(s)"."""
    messages = {query: public.get(f"/incidents.csv?fields={query}").json["message"]
                for query in ("id,planet", "planet,id,moon", "id,date,id", "id,date,id,date")}
    assert "fields: unknown column planet; known: id," in messages["id,planet"]
    assert "fields: unknown columns planet, moon; known: " in messages["planet,id,moon"]
    assert "fields: column asked for twice: id" in messages["id,date,id"]
    assert "fields: columns asked for twice: id, date" in messages["id,date,id,date"]
    assert not any("(s)" in m for m in messages.values()), messages
