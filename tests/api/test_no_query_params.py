"""The routes that take no query parameter (/healthz, /verify, /checkpoint, as /stream)
refuse one, as every route refuses a parameter it does not take: a JSON 422 naming it
(the one error shape), and answer as before without one."""

from __future__ import annotations

import pytest

ROUTES = ("/api/v1/healthz", "/api/v1/verify", "/api/v1/checkpoint")


@pytest.mark.parametrize("route", ROUTES)
def test_a_route_without_parameters_refuses_an_unknown_one(client, tokens, route):
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    for query in ("x=1", "verbose=", "size=3&x=2"):
        refused = client.get(f"{route}?{query}", headers=admin)
        assert refused.status_code == 422, (route, query, refused.data[:200])
        assert refused.is_json
        names = sorted(e["field"] for e in refused.json["errors"])
        assert names == sorted(p.split("=")[0] for p in query.split("&")), refused.json
        assert all(e["message"] == "Unknown field." for e in refused.json["errors"])
        assert refused.json["message"].startswith("invalid request: ")


def test_the_routes_answer_as_before_without_a_parameter(client, tokens):
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    assert client.get("/api/v1/healthz").json["status"] == "ok"
    assert client.get("/api/v1/verify", headers=admin).json["ok"] is True
    assert client.get("/api/v1/verify").status_code == 401
    assert client.get("/api/v1/checkpoint").status_code == 404  # none signed yet


def test_the_openapi_document_says_they_may_answer_422(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for route in ROUTES:
        responses = paths[route]["get"]["responses"]
        assert responses["422"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"}, route
