"""GET /, the dashboard's server-rendered first view: the figures a reader without
JavaScript sees, read with the API's own queries, and the JSON the script starts from.
(The page in a real browser: tests/api/test_live.py.)"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient


@pytest.fixture(params=["sqlite", "postgres"])
def app(request, tmp_path):
    """The app on each backend (the page reads the views as the API does)."""
    from api import create_app
    from tests.api.conftest import OneErrorShapeClient

    if request.param == "postgres":
        stores = {"DATABASE_URL": request.getfixturevalue("pg_database_url"),
                  "VIEWS_URL": request.getfixturevalue("pg_views_url")}
    else:
        stores = {"DATABASE_URL": f"sqlite:///{tmp_path / 'events.sqlite'}"}
    app = create_app({"TESTING": True, "REDIS_URL": None, **stores})
    app.test_client_class = OneErrorShapeClient
    yield app
    app.extensions["tracker"].close()


@pytest.fixture
def page(app, seeded_api):
    """GET / through the plain test client: the page answers a refused parameter with an
    HTML 422, not with the API's JSON error shape."""
    client = FlaskClient(app, app.response_class, use_cookies=False)

    def get(query: str = "") -> tuple[int, str]:
        response = client.get(f"/{query}")
        assert response.mimetype == "text/html"
        return response.status_code, response.get_data(as_text=True)
    return get


def initial(text: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="initial">(.*?)</script>', text, re.S)
    assert found, "no embedded first view"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def cells(text: str, table: str) -> list[list[str]]:
    """The text of each body row of the table with id `table`."""
    body = re.search(rf'<table id="{table}"[^>]*>(.*?)</table>', text, re.S)
    assert body, table
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
             for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows[1:]]


def test_the_first_view_is_rendered_from_the_apis_own_answers(page, public):
    status, text = page()
    assert status == 200
    assert cells(text, "by-country") == [["Mali", "35", "", "—", "4"]]
    assert "4 incidents match" in text
    first = initial(text)
    # The embedded JSON is exactly what the API answers for the same query.
    for key, path in (("by_country", "/casualties?by=country"),
                      ("by_admin1", "/casualties?by=admin1"),
                      ("by_month", "/casualties?by=month"),
                      ("incidents", "/incidents?limit=50")):
        assert first[key] == public.get(path).json, key
    assert first["count"] == 4 == len(first["incidents"]["incidents"])
    assert first["position"] == int(public.get("/casualties?by=country")
                                    .headers["X-Tracker-Position"])
    # Every incident of the first page is a row a reader without JavaScript sees.
    ids = re.findall(r'<tr data-id="([^"]+)"', text)
    assert ids == [i["id"] for i in first["incidents"]["incidents"]]


def test_the_filters_of_the_url_narrow_the_first_view_and_its_exports(page, public):
    status, text = page("?country=mali&type=Battles&min_killed=1")
    assert status == 200
    first = initial(text)
    api = public.get("/casualties?by=admin1&country=mali&type=Battles&min_killed=1").json
    assert first["by_admin1"] == api
    assert sorted(r[0] for r in cells(text, "by-admin1")) == ["Menaka", "Mopti"]
    assert first["count"] == 2 and "2 incidents match" in text
    # By country lists every country under the other filters (the choices of the select).
    assert first["by_country"] == public.get("/casualties?by=country&type=Battles"
                                             "&min_killed=1").json
    # The controls show the URL's filters; a dataset's label is kept as given.
    assert re.search(r'<option value="Battles" selected>', text)
    assert re.search(r'name="min_killed"[^>]*value="1"', text)
    # The exports are for exactly what is on screen.
    assert 'href="/api/v1/incidents.csv?country=mali&amp;type=Battles&amp;min_killed=1"' in text
    assert 'href="/api/v1/casualties.csv?by=admin1&amp;country=mali&amp;type=Battles' in text


def test_with_figures_from_the_count_is_the_lists_and_a_missing_figure_is_a_dash(page, public):
    """figures_from lists every incident its source reported on (as source= selects them)
    while its tally counts those it gave a figure for: the page counts the list; where the
    source gave no figure the row shows "—", never "None"."""
    for row in public.get("/sources").json["sources"]:
        name = row["name"]
        listed = public.get("/incidents", query_string={"figures_from": name}).json["incidents"]
        status, text = page("?" + urlencode({"figures_from": name}))
        assert status == 200
        assert initial(text)["count"] == len(listed), name
        assert f"{len(listed)} incident" in text
        shown = cells(text, "incidents")
        assert len(shown) == len(listed)
        for incident, cells_of in zip(listed, shown, strict=True):
            best = incident["killed"]["best"]
            assert cells_of[3].split()[0] == ("—" if best is None else str(best)), name
    # The seed's news article reported four incidents and gave no figure for any of them.
    assert any(all(i["killed"]["best"] is None for i in public.get(
        "/incidents", query_string={"figures_from": r["name"]}).json["incidents"])
        for r in public.get("/sources").json["sources"])
    # source= and figures_from= naming two sources: no tally counts what both reported on.
    status, text = page("?source=French+military+spokesman"
                        "&figures_from=French+Ministry+of+the+Armed+Forces")
    assert status == 200 and initial(text)["count"] is None


def test_the_first_view_as_of_a_past_moment(page):
    status, text = page("?as_of=2000-01-01")
    assert status == 200
    assert cells(text, "by-country") == [["No casualties known at that time."]]
    assert initial(text)["count"] == 0 and "0 incidents match" in text
    assert cells(text, "incidents") == [["No incident matches."]]


@pytest.mark.parametrize(("query", "named"), [
    ("?as_of=garbage", "as_of 'garbage' is not a date"),
    ("?actor=Nobody+Known", "unknown actor 'Nobody Known'"),
    ("?from=2020-12-01&to=2020-01-01", "from must not be after to"),
    ("?colour=red", "colour: Unknown field"),
])
def test_a_refused_parameter_renders_the_page_with_the_apis_message(page, public, query,
                                                                     named):
    status, text = page(query)
    assert status == 422
    message = public.get(f"/incidents{query}").json["message"]
    assert named in message
    # The page names the bad value with the API's own message, and still has its controls.
    problem = re.search(r'<div id="problem"[^>]*>(.*?)</div>', text, re.S)
    assert problem and html.unescape(problem.group(1)).strip() == message
    assert 'id="problem" class="problem" role="alert" hidden' not in text
    assert initial(text)["error"]["message"] == message
    assert '<form id="filters"' in text and "<tr data-key" not in text


def test_a_store_outage_renders_the_page_with_a_503_not_json():
    """A browser asking for the dashboard while the event store cannot be reached gets the
    page (HTML, 503, Retry-After) with the API's own message for the outage."""
    from api import create_app

    app = create_app({"TESTING": True, "REDIS_URL": None,
                      "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/test"})  # refused
    try:
        client = app.test_client()
        for _ in range(2):  # the outage seen, then the process's fail-fast answer
            answer = client.get("/", headers={"Accept": "text/html"})
            assert answer.status_code == 503 and answer.mimetype == "text/html"
            assert answer.headers["Retry-After"]
            text = answer.get_data(as_text=True)
            assert "unavailable" in initial(text)["error"]["message"]
            assert '<form id="filters"' in text
        assert client.get("/api/v1/casualties?by=country").mimetype == "application/json"
    finally:
        app.extensions["tracker"].close()


def test_empty_form_fields_mean_any(page):
    """The form submits every field (a reader without JavaScript): empty ones filter nothing."""
    status, text = page("?country=&type=&actor=&from=&to=&min_killed=&as_of=")
    assert status == 200 and "4 incidents match" in text


def test_the_embedded_json_cannot_end_its_script_element(page):
    # A subtype no incident has is an empty answer (a country no incident has is a 422,
    # below): the hostile text is embedded in the page's JSON.
    status, text = page("?subtype=%3C/script%3E%3Cscript%3Ealert(1)%3C/script%3E")
    assert status == 200
    assert "<script>alert(1)" not in text
    assert initial(text)["query"]["subtype"] == "</script><script>alert(1)</script>"
    assert initial(text)["count"] == 0
    status, text = page("?country=%3C/script%3E%3Cscript%3Ealert(1)%3C/script%3E")
    assert status == 422 and "unknown country" in text
    assert "<script>alert(1)" not in text


def test_other_api_filters_are_kept_as_removable_chips(page, public):
    status, text = page("?admin1=Mopti&operation=barkhane")
    assert status == 200
    assert initial(text)["count"] == 1
    assert re.search(r'data-filter="admin1">admin1: Mopti<input type="hidden" name="admin1" '
                     r'value="Mopti">', text)
    assert 'name="operation" value="barkhane"' in text


def test_reads_requiring_a_token_show_the_refusal_not_figures(app, seeded_api):
    app.config["READ_REQUIRES_TOKEN"] = True
    response = FlaskClient(app, app.response_class).get("/")
    assert response.status_code == 401
    text = response.get_data(as_text=True)
    assert "bearer token" in text and "<tr data-key" not in text
