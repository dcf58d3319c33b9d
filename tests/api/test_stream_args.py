"""/api/v1/stream refuses a query parameter it does not take, as every route does (a JSON
422 naming it, before anything is streamed), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from api import create_app
from tests.api.conftest import OneErrorShapeClient


@pytest.fixture
def app(database_url: str):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "REDIS_URL": None,
                      "STREAM_SECONDS": 0})  # the stream says hello and ends
    app.test_client_class = OneErrorShapeClient
    yield app
    app.extensions["tracker"].close()


def test_the_stream_refuses_an_unknown_parameter_before_streaming(app):
    client = app.test_client()
    for query in ("x=1", "after=3", "lastEventId=3&x="):
        refused = client.get(f"/api/v1/stream?{query}")
        assert refused.status_code == 422, (query, refused.data[:200])
        assert refused.is_json and not refused.is_streamed
        names = sorted(e["field"] for e in refused.json["errors"])
        assert names == sorted(p.split("=")[0] for p in query.split("&")), refused.json
        assert all(e["message"] == "Unknown field." for e in refused.json["errors"])
    # The same route with no parameter (a reconnection sends a header) still streams.
    for headers in ({}, {"Last-Event-ID": "0"}):
        ok = client.get("/api/v1/stream", headers=headers)
        assert ok.status_code == 200 and ok.mimetype == "text/event-stream"
        assert ok.get_data(as_text=True).startswith("retry: 1000\n\n")
