"""Bearer tokens: none -> 401, wrong role -> 403, revoked -> 401."""

from tests.conftest import base_report


def test_no_token_is_401_with_a_challenge(client):
    response = client.post("/api/v1/reports", json=base_report())
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["code"] == 401


def test_an_unknown_token_is_401(client, tokens):
    response = client.post("/api/v1/reports", json=base_report(),
                           headers={"Authorization": f"Bearer {tokens['admin']}x"})
    assert response.status_code == 401


def test_a_reader_cannot_write(client, tokens):
    response = client.post("/api/v1/reports", json=base_report(),
                           headers={"Authorization": f"Bearer {tokens['reader']}"})
    assert response.status_code == 403
    assert "needs 'reporter'" in response.json["message"]


def test_retractions_need_admin(reporter, admin):
    reporter.report(base_report())
    retraction = {"report": "r-x", "source": {"name": "Desk", "kind": "analyst"},
                  "facts": [{"fact": "retraction", "target": {"report": "r-base"},
                             "reason": "wrong"}]}
    assert reporter.report(retraction).status_code == 403
    assert admin.report(retraction).status_code == 201


def test_a_revoked_token_is_401(app, client, tokens):
    app.extensions["tracker"].tracker.revoke_token("reporter-1")
    response = client.post("/api/v1/reports", json=base_report(),
                           headers={"Authorization": f"Bearer {tokens['reporter']}"})
    assert response.status_code == 401 and "revoked" in response.json["message"]


def test_verify_needs_admin(client, tokens):
    reporter = client.get("/api/v1/verify",
                          headers={"Authorization": f"Bearer {tokens['reporter']}"})
    assert reporter.status_code == 403
    admin = client.get("/api/v1/verify", headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert admin.status_code == 200 and admin.json["ok"] is True


def test_reads_can_require_a_token(app, client, tokens):
    assert client.get("/api/v1/operations").status_code == 200
    app.config["READ_REQUIRES_TOKEN"] = True
    assert client.get("/api/v1/operations").status_code == 401
    ok = client.get("/api/v1/operations", headers={"Authorization": f"Bearer {tokens['reader']}"})
    assert ok.status_code == 200


def test_the_stream_needs_a_reader_token_when_reads_do(app, client, tokens):
    """/stream says when and which views move: a read, refused like any other (401 or 403,
    JSON, before anything is streamed) when reads need a token."""
    app.config["STREAM_SECONDS"] = 0  # the stream says hello and ends
    assert client.get("/api/v1/stream").status_code == 200  # reads open: anyone
    app.config["READ_REQUIRES_TOKEN"] = True
    refused = client.get("/api/v1/stream")
    assert refused.status_code == 401 and refused.is_json and not refused.is_streamed
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    unknown = client.get("/api/v1/stream", headers={"Authorization": "Bearer nope"})
    assert unknown.status_code == 401 and unknown.is_json
    for role in ("reader", "reporter", "admin"):
        ok = client.get("/api/v1/stream",
                        headers={"Authorization": f"Bearer {tokens[role]}"})
        assert ok.status_code == 200 and ok.mimetype == "text/event-stream", role
        assert ok.get_data(as_text=True).startswith("retry: 1000\n\n")


def test_token_secrets_are_never_stored(app, tokens):
    tracker = app.extensions["tracker"].tracker
    stored = b"".join(n.state for n in tracker.recorder.select_notifications(0, 100))
    assert all(secret.encode() not in stored for secret in tokens.values())
