"""The live feed (/api/v1/stream) and the dashboard (/), on real servers: a development
server on the embedded default, gunicorn on PostgreSQL with a follower, headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.api.test_gunicorn import free_port, post, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
FIGURE = {"report": "live-1", "source": {"name": "Live wire", "kind": "media",
                                         "published": "2020-11-20"},
          "facts": [{"fact": "incident", "id": "live-incident", "date": "2020-11-19",
                     "type": "battle", "location": {"name": "Gao", "admin1": "Gao",
                                                    "country": "Mali",
                                                    "latitude": 16.27, "longitude": -0.04}},
                    {"fact": "casualties", "incident": "live-incident", "killed": 7}]}


def cli(env: dict, *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, cwd=ROOT,
                          check=True, capture_output=True, text=True).stdout.strip()


def serve(env: dict, command: list[str]) -> tuple[subprocess.Popen, str]:
    """`command` (PORT in it replaced by a spare port), answering: (process, base URL)."""
    port = free_port()
    server = subprocess.Popen([part.replace("PORT", str(port)) for part in command], env=env,
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(server, f"{base}/api/v1")
    return server, base


class StreamReader(threading.Thread):
    """Reads /api/v1/stream, keeping each event with the time it arrived."""

    def __init__(self, url: str, last_event_id: str | None = None) -> None:
        super().__init__(daemon=True)
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.request = urllib.request.Request(url, headers=headers)
        self.events: list[tuple[float, dict]] = []
        self.comments = 0
        self.content_type = ""
        self.connected = threading.Event()

    def run(self) -> None:
        with urllib.request.urlopen(self.request, timeout=60) as response:
            self.content_type = response.headers["Content-Type"]
            self.connected.set()
            fields: dict = {}
            for raw in response:
                line = raw.decode().rstrip("\n")
                if not line:
                    if "data" in fields:
                        self.events.append((time.monotonic(), {
                            "id": fields.get("id"), "event": fields.get("event"),
                            "data": json.loads(fields["data"])}))
                    fields = {}
                elif line.startswith(":"):
                    self.comments += 1
                else:
                    key, _, value = line.partition(": ")
                    fields[key] = value

    def wait_for(self, count: int, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return [e for _, e in self.events]


def check_stream(base: str, token: str) -> None:
    reader = StreamReader(f"{base}/api/v1/stream")
    reader.start()
    assert reader.connected.wait(10)
    [hello] = reader.wait_for(1, 5)
    assert reader.content_type.startswith("text/event-stream")
    assert hello["event"] == "position" and hello["id"] == str(hello["data"]["position"])
    posted = time.monotonic()
    assert post(f"{base}/api/v1/reports", token, FIGURE) == 201
    events = reader.wait_for(2, 10)
    assert len(events) >= 2, "no event after the report"
    arrived = reader.events[1][0]
    assert arrived - posted < 2.0, f"the event came {arrived - posted:.2f} s after the POST"
    moved = events[1]["data"]
    assert moved["position"] > hello["data"]["position"]
    assert {"casualties", "incidents"} <= set(moved["views"])
    # A client that reconnects with the last id it saw hears of nothing it already knows;
    # one that is behind hears the current position at once.
    behind = StreamReader(f"{base}/api/v1/stream", last_event_id=hello["id"])
    behind.start()
    assert behind.wait_for(1, 5)[0]["data"]["position"] == moved["position"]


@pytest.fixture
def seeded_server(tmp_path):
    """`tracker seed`, a reporter token, and `tracker serve` on the embedded default."""
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'events.sqlite'}"}
    env.pop("TRACKER_REDIS_URL", None)
    cli(env, "seed")
    token = cli(env, "token", "create", "--role", "reporter", "--name", "live")
    server, base = serve(env, [sys.executable, "-m", "api.cli", "serve", "--port", "PORT"])
    yield base, token
    server.terminate()
    server.wait(10)


def test_the_stream_announces_a_report_within_two_seconds_on_the_embedded_default(
        seeded_server):
    check_stream(*seeded_server)
def test_the_stream_announces_a_report_with_gunicorn_on_postgresql(pg_database_url,
                                                                   pg_views_url):
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    env = {**os.environ, "TRACKER_DATABASE_URL": pg_database_url,
           "TRACKER_VIEWS_URL": pg_views_url, "TRACKER_INLINE_PROJECTION": "0",
           "TRACKER_STREAM_SECONDS": "6"}  # streams end, so gunicorn can stop gracefully
    env.pop("TRACKER_REDIS_URL", None)
    cli(env, "seed")
    token = cli(env, "token", "create", "--role", "reporter", "--name", "live")
    # The views include everything before the stream opens (the token's unit too), so the
    # first position the stream announces after the hello is the report's.
    cli(env, "project")
    follower = subprocess.Popen([sys.executable, "-m", "api.cli", "project", "--follow"],
                                env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    server, base = serve(env, [gunicorn, "-c", "python:api.gunicorn_conf", "--bind",
                               "127.0.0.1:PORT", "api:create_app()"])
    try:
        check_stream(base, token)
    finally:
        server.terminate()
        follower.terminate()
        server.wait(30)
        follower.wait(10)


# -- the dashboard in a real browser ----------------------------------------------------------


def chromium():
    """Selenium driving the system's headless Chromium (under CI=true: required)."""
    driver_path, browser = shutil.which("chromedriver"), shutil.which("chromium")
    if not driver_path or not browser:
        message = "Chromium and chromedriver are not installed (apt-get install chromium " \
                  "chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (mandatory under CI=true)")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,1600", "--disable-gpu"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(driver_path), options=options)


def wait_text(driver, css: str, text: str, timeout: float = 10) -> str:
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        try:
            seen = driver.find_element(By.CSS_SELECTOR, css).text
        except Exception:  # noqa: BLE001 - not there yet
            seen = ""
        if text in seen:
            return seen
        time.sleep(0.1)
    raise AssertionError(f"{css!r} never showed {text!r}; it shows {seen!r}")


@pytest.mark.browser
def test_the_dashboard_shows_the_seed_the_past_and_a_new_report_live(seeded_server):
    base, token = seeded_server
    driver = chromium()
    try:
        driver.get(f"{base}/")
        row = wait_text(driver, "#by-country tr[data-key='Mali']", "Mali")
        assert row.split()[1] == "35", row
        wait_text(driver, "#leaders .current", "Iyad Ag Ghali")
        wait_text(driver, "#leaders .former", "killed")
        wait_text(driver, "#operations", "Barkhane")
        # Country outlines drawn from the shipped Natural Earth file.
        assert driver.execute_script(
            "return document.querySelectorAll('#map path.country').length") > 100

        # A report posted elsewhere shows without a reload.
        marker = driver.execute_script("window.notReloaded = true; return 1")
        assert post(f"{base}/api/v1/reports", token, FIGURE) == 201
        wait_text(driver, "#by-country tr[data-key='Mali']", "42", timeout=5)
        assert driver.execute_script("return window.notReloaded === true") and marker
        wait_text(driver, "#incidents", "Gao")
        assert driver.execute_script("return document.querySelectorAll('#map circle').length") == 1
        if os.environ.get("TRACKER_SCREENSHOTS"):  # docs/dashboard.png is made this way
            time.sleep(0.5)
            driver.save_screenshot(os.environ["TRACKER_SCREENSHOTS"] + "/dashboard.png")

        # As known before the seed: nothing.
        driver.get(f"{base}/?as_of=2000-01-01")
        wait_text(driver, "#by-country", "No casualties known at that time.")
        wait_text(driver, "#live", "past")

        # The page asked no other host for anything.
        hosts = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
            ".concat([location.href])")
        assert hosts and all(h.startswith(base) for h in hosts), hosts
    finally:
        driver.quit()


CSP_WATCH = ("window.cspViolations = [];"
             "document.addEventListener('securitypolicyviolation', e => window.cspViolations"
             ".push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile));")


@pytest.mark.browser
def test_the_dashboard_and_the_docs_page_work_under_the_content_security_policy(
        seeded_server):
    """Both pages the app serves draw themselves with the CSP on (script-src 'self', no
    inline script, nothing from another host), the browser reports no violation, and
    Swagger UI runs with validatorUrl null."""
    base, _ = seeded_server
    with urllib.request.urlopen(f"{base}/") as response:
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    driver = chromium()
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_WATCH})
        driver.get(f"{base}/")
        wait_text(driver, "#by-country tr[data-key='Mali']", "Mali")
        wait_text(driver, "#operations", "Barkhane")
        assert driver.execute_script(
            "return document.querySelectorAll('#map path.country').length") > 100
        assert driver.execute_script("return window.cspViolations") == []

        driver.get(f"{base}/api/v1/docs")
        wait_text(driver, ".swagger-ui .info .title", "Conflict tracker API", timeout=20)
        wait_text(driver, ".swagger-ui", "/api/v1/casualties")
        assert driver.execute_script("return window.ui.getConfigs().validatorUrl") is None
        assert driver.execute_script("return window.cspViolations") == []
        hosts = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
        assert hosts and all(h.startswith(base) for h in hosts), hosts
    finally:
        driver.quit()
