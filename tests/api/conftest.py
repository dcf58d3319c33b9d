"""flaskr-style app/client fixtures, with small helpers in the style of Sourcery's
PublicApi/PrivateApi to keep multi-step tests readable."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from api import create_app


class OneErrorShapeClient(FlaskClient):
    """The test client, checking every error response of the suite: JSON, always
    {"code", "status", "message", "errors"} with errors a list of {field, message}."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        if response.status_code >= 400:
            body = response.get_json(silent=True)
            assert isinstance(body, dict), (response.status_code, response.data[:200])
            assert set(body) == {"code", "status", "message", "errors"}, body
            assert body["code"] == response.status_code, body
            assert isinstance(body["errors"], list), body
            for error in body["errors"]:
                assert {"field", "message"} <= set(error) <= {"field", "message", "fact"}, body
        return response


@pytest.fixture
def app(tmp_path):
    app = create_app({"TESTING": True,
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'events.sqlite'}",
                      "REDIS_URL": None})
    app.test_client_class = OneErrorShapeClient
    yield app
    app.extensions["tracker"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def tokens(app) -> dict[str, str]:
    tracker = app.extensions["tracker"].tracker
    return {role: tracker.issue_token(f"{role}-1", role)
            for role in ("reader", "reporter", "admin")}


class PublicApi:
    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(f"/api/v1{path}", **kw)


class ReporterApi(PublicApi):
    def __init__(self, client: Any, token: str) -> None:
        super().__init__(client)
        self.headers = {"Authorization": f"Bearer {token}"}

    def report(self, report: dict[str, Any]) -> Any:
        return self.client.post("/api/v1/reports", json=report, headers=self.headers)


@pytest.fixture
def public(client) -> PublicApi:
    return PublicApi(client)


@pytest.fixture
def reporter(client, tokens) -> ReporterApi:
    return ReporterApi(client, tokens["reporter"])


@pytest.fixture
def admin(client, tokens) -> ReporterApi:
    return ReporterApi(client, tokens["admin"])


@pytest.fixture
def seeded_api(app, admin):
    from seeds import load_seeds

    services = app.extensions["tracker"]
    load_seeds(services.tracker)
    services.after_write()
    return admin
