"""An actor's history by any recorded name or alias, as /actors/{id} takes it, on SQLite and
PostgreSQL, through the API and the CLI: the answer says which record it is (`id`), and
a record linked to another by same_actor keeps its own history."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner

from api import create_app
from api.cli import main
from seeds import load_seeds
from tests.api.conftest import OneErrorShapeClient

DESK = {"name": "Desk", "kind": "analyst"}
# A dataset's record of JNIM under its own name, then linked to ours.
ACLED_JNIM = {"report": "acled-jnim", "source": DESK, "facts": [
    {"fact": "actor", "id": "acled-jnim",
     "name": "JNIM: Group for Support of Islam and Muslims", "kind": "armed_group"}]}
LINK = {"report": "link-jnim", "source": DESK, "facts": [
    {"fact": "same_actor", "actor": "jnim", "same_as": "acled-jnim"}]}
ALIAS = {"report": "alias-jnim", "source": DESK, "facts": [
    {"fact": "alias", "actor": "jnim", "alias": "Nusrat al-Islam"}]}


@pytest.fixture
def app(database_url: str) -> Any:
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "REDIS_URL": None})
    app.test_client_class = OneErrorShapeClient
    services = app.extensions["tracker"]
    load_seeds(services.tracker)
    for report in (ACLED_JNIM, LINK):
        services.record_report(report, "test")
    services.after_write()
    yield app
    services.close()


def history(client: Any, name: str, **query: str) -> Any:
    return client.get(f"/api/v1/history/actor/{name}", query_string=query)


def test_an_actors_history_by_a_name_or_an_alias_on_the_api(app):
    client = app.test_client()
    by_id = history(client, "jnim")
    assert by_id.status_code == 200 and by_id.json["id"] == "jnim"
    assert by_id.json["events"]
    # /actors/{id} takes the alias, and now /history too, saying which record it is.
    assert client.get("/api/v1/actors/JNIM").json["id"] == "jnim"
    for name in ("JNIM", "Jama'at Nusrat al-Islam wal-Muslimin",
                 "jama'at nusrat al-islam wal-muslimin", "JnIm"):
        answer = history(client, name)
        assert answer.status_code == 200, (name, answer.json)
        assert answer.json == {**by_id.json, "id": "jnim"}, name
    # The dataset's record by its name: its own history, not the cluster's it is
    # counted under (/actors answers with the cluster: jnim).
    assert client.get("/api/v1/actors/acled-jnim").json["id"] == "jnim"
    named = history(client, "jnim: group for support of islam and muslims")
    assert named.status_code == 200 and named.json["id"] == "acled-jnim"
    assert named.json["events"] == history(client, "acled-jnim").json["events"]
    assert {e["provenance"]["report"] for e in named.json["events"]} == {"acled-jnim"}
    unknown = history(client, "nobody")
    assert unknown.status_code == 404
    assert unknown.json["message"] == "no actor with id 'nobody'"
    # Only actors have names: an incident is named by its id.
    assert client.get("/api/v1/history/incident/NIAKI-BATTLE-2020-11").status_code == 404


def test_an_alias_names_an_actor_in_its_history_from_when_it_was_recorded(app):
    client = app.test_client()
    before = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    services = app.extensions["tracker"]
    services.record_report(ALIAS, "test")
    services.after_write()
    now = history(client, "nusrat al-islam")
    assert now.status_code == 200 and now.json["id"] == "jnim"
    assert "alias-jnim" in {e["provenance"]["report"] for e in now.json["events"]}
    then = history(client, "nusrat al-islam", as_of=before)
    assert then.status_code == 404, then.json
    # The id itself, as of then: the events recorded by then.
    assert history(client, "jnim", as_of=before).status_code == 200


def test_tracker_history_takes_a_name_or_an_alias(app, database_url, monkeypatch):
    monkeypatch.setenv("TRACKER_DATABASE_URL", database_url)
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    runner = CliRunner()
    expected = history(app.test_client(), "jnim").json
    by_alias = runner.invoke(main, ["history", "actor", "JNIM", "--json"])
    assert by_alias.exit_code == 0, by_alias.output
    assert json.loads(by_alias.output) == json.loads(json.dumps(expected))
    text = runner.invoke(main, ["history", "actor", "JNIM"])
    assert text.exit_code == 0, text.output
    assert text.output.splitlines()[0] == "actor jnim (named 'JNIM')"
    assert len(text.output.splitlines()) == 1 + len(expected["events"])
    named = runner.invoke(main, ["history", "actor",
                                 "JNIM: Group for Support of Islam and Muslims", "--json"])
    assert named.exit_code == 0 and json.loads(named.output)["id"] == "acled-jnim"
    unknown = runner.invoke(main, ["history", "actor", "nobody"])
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "error: no actor with id 'nobody'"
