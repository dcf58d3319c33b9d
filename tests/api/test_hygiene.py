"""Input and HTTP hygiene, whatever the route: control characters in parameters, header
sizes, security headers (api.hygiene); on SQLite and on real PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api import create_app
from tests.api.conftest import OneErrorShapeClient


@pytest.fixture
def any_app(database_url: str):
    """The app on the embedded SQLite store and on real PostgreSQL, seeded."""
    from seeds import load_seeds

    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "REDIS_URL": None})
    app.test_client_class = OneErrorShapeClient
    services = app.extensions["tracker"]
    load_seeds(services.tracker)
    services.after_write()
    yield app
    services.close()


def sample(name: str, schema: dict[str, Any]) -> str:
    """A valid-looking value for a parameter, so that only the bad one is refused."""
    if "enum" in schema:
        return str(schema["enum"][0])
    if schema.get("type") == "integer":
        return "1"
    return {"from": "2020-01-01", "to": "2021-01-01", "bbox": "-10,0,10,20"}.get(name, "x")


def get_routes(spec: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Each GET route with its parameters (those of the path item and of the operation)."""
    return [(path, [*item.get("parameters", []), *op.get("parameters", [])])
            for path, item in spec["paths"].items()
            for method, op in item.items() if method == "get"]


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x1f", "\x7f"])
def test_a_control_character_in_any_parameter_is_a_422_naming_it(any_app, bad):
    """Every query parameter and every path parameter of every GET route in the OpenAPI
    document, with a control character in its value: a JSON 422 naming that parameter
    (PostgreSQL cannot hold NUL in text: it was a 500, or a CSV/GeoJSON export cut off)."""
    client = any_app.test_client()
    spec = client.get("/api/v1/openapi.json").json
    tried = set()
    for path, params in get_routes(spec):
        path_params = {p["name"] for p in params if p["in"] == "path"}
        query = [p for p in params if p["in"] == "query"]
        required = {p["name"]: sample(p["name"], p["schema"]) for p in query
                    if p.get("required")}
        concrete = path
        for name in path_params:
            concrete = concrete.replace("{" + name + "}", "actor" if name == "kind" else "jnim")
        for p in query:
            args = {**required, p["name"]: f"a{bad}b"}
            response = client.get(concrete, query_string=args)
            assert response.status_code == 422, (concrete, p["name"], response.data[:300])
            assert [e["field"] for e in response.json["errors"]] == [p["name"]], response.json
            assert "control character" in response.json["message"]
            tried.add(p["name"])
        for name in path_params:
            value = "actor" if name == "kind" else "jnim"
            hostile = path
            for other in path_params:
                hostile = hostile.replace("{" + other + "}",
                                          f"a{bad}b" if other == name else value)
            response = client.get(hostile, query_string=required)
            assert response.status_code == 422, (hostile, response.data[:300])
            assert [e["field"] for e in response.json["errors"]] == [name], response.json
            tried.add(name)
    assert {"country", "admin1", "subtype", "operation", "source", "actor", "q", "group_id",
            "actor_id", "as_of", "cursor", "fields"} <= tried
    # The exports answer JSON before streaming anything.
    for export in ("/api/v1/incidents.csv", "/api/v1/incidents.geojson",
                   "/api/v1/casualties.csv?by=country"):
        response = client.get(f"{export}{'&' if '?' in export else '?'}country=%00")
        assert response.status_code == 422 and response.is_json, export
    # A parameter's name is checked too, and a clean request still answers.
    assert client.get("/api/v1/incidents", query_string={"a\x00": "1"}).status_code == 422
    assert client.get("/api/v1/incidents?country=Mali").status_code == 200
    assert client.get("/api/v1/actors?q=Ja%27ama").status_code == 200


def test_headers_over_the_bounds_are_a_json_431_naming_them(client):
    big = client.get("/api/v1/healthz", headers={"X-Big": "a" * 8200})
    assert big.status_code == 431
    assert big.json["errors"] == [{"field": "X-Big", "message": "8207 bytes, over 8190"}]
    many = client.get("/api/v1/healthz", headers={f"X-Part-{i}": "a" * 4000 for i in range(9)})
    assert many.status_code == 431 and "in all" in many.json["message"]
    assert client.get("/api/v1/healthz", headers={"X-Fine": "a" * 8000}).status_code == 200


def test_every_response_carries_the_security_headers(client):
    for path in ("/", "/api/v1/docs", "/api/v1/docs/assets/docs.js", "/api/v1/openapi.json",
                 "/api/v1/healthz", "/api/v1/nothing", "/dashboard/static/dashboard.js",
                 "/api/v1/incidents.csv"):
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["X-Frame-Options"] == "DENY", path
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, path
        assert "unsafe" not in policy and "http" not in policy, path


def test_the_docs_page_runs_no_inline_script_and_no_outside_validator(client):
    """CSP script-src 'self' holds for the docs page: its only scripts are files of this
    origin, and Swagger UI is started with validatorUrl null (never validator.swagger.io),
    whatever host name serves the page."""
    page = client.get("/api/v1/docs", base_url="https://tracker.example.org").data.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all(re.search(r'src="/', attrs) and not body.strip()
                           for attrs, body in scripts)
    start = client.get("/api/v1/docs/assets/docs.js").data.decode()
    assert "validatorUrl: null" in start
