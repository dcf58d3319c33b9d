"""The production server: gunicorn with 2 workers on loopback, as the README runs it."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_gunicorn_serves_the_app_factory(tmp_path: Path):
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    assert gunicorn, "gunicorn is a runtime dependency"
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'events.sqlite'}"}
    env.pop("TRACKER_REDIS_URL", None)
    subprocess.run([sys.executable, "-m", "api.cli", "seed"], env=env, check=True,
                   capture_output=True)
    port = free_port()
    server = subprocess.Popen([gunicorn, "--workers", "2", "--bind", f"127.0.0.1:{port}",
                               "api:create_app()"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, health = get(f"{base}/healthz")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"gunicorn did not start: {server.stderr.read().decode()}")
                time.sleep(0.1)
        assert status == 200 and health["status"] == "ok"
        status, body = get(f"{base}/casualties?by=country")
        assert status == 200 and body["rows"][0]["killed"]["best"] == 35
        status, body = get(f"{base}/groups/nobody/leadership")
        assert status == 404 and body["code"] == 404
    finally:
        server.terminate()
        server.wait(10)
