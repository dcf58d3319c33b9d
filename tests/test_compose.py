"""compose.yaml, checked as data (no Docker engine here): one image built once, the API
waiting for healthy stores, and the documented first-token command a real one."""

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from api.cli import main

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "compose.yaml"


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_the_image_is_built_once_and_the_follower_runs_it(services):
    builders = [name for name, s in services.items() if "build" in s]
    assert builders == ["api"]
    image = services["api"].get("image")
    assert image, "the service that builds the image tags it, for the others to use"
    runners = [name for name, s in services.items()
               if name != "api" and s.get("command", [""])[0] == "tracker"]
    assert "follower" in runners
    for name in runners:
        assert services[name]["image"] == image, name
        assert services[name].get("pull_policy") == "never", name  # no registry has it
        # started after `api`, so that `up` of this service alone builds the image first
        assert "api" in services[name]["depends_on"], name
    assert services["follower"]["command"][:2] == ["tracker", "project"]
    assert services["follower"]["environment"] == services["api"]["environment"]


def test_the_tracker_services_wait_for_healthy_stores(services):
    for name in ("api", "follower"):
        needs = services[name]["depends_on"]
        assert needs["postgres"] == {"condition": "service_healthy"}, name
        assert needs["redis"] == {"condition": "service_healthy"}, name


def test_every_service_waited_for_as_healthy_has_a_healthcheck(services):
    awaited = {store for s in services.values() for store, how in
               (s.get("depends_on") or {}).items() if how.get("condition") == "service_healthy"}
    assert awaited >= {"postgres", "redis"}
    for name in awaited:
        check = services[name].get("healthcheck") or {}
        assert not check.get("disable") and check.get("test"), name


def test_the_documented_first_token_command_creates_an_admin_token(tmp_path, monkeypatch):
    said = [COMPOSE.read_text(), (ROOT / "README.md").read_text()]
    commands = [re.search(r"docker compose exec api (tracker token create [^\n`]*)", text)
                for text in said]
    assert all(commands), "compose.yaml and the README say how to make the first token"
    args = shlex.split(commands[0].group(1))[1:]
    assert args == shlex.split(commands[1].group(1))[1:]
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'events.sqlite'}")
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    created = CliRunner().invoke(main, args)
    assert created.exit_code == 0, created.output
    listed = CliRunner().invoke(main, ["token", "list", "--json"])
    assert [(t["name"], t["role"]) for t in json.loads(listed.output)["tokens"]] == [
        (args[args.index("--name") + 1], "admin")]
