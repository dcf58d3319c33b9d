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
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    # Every uncaught error and unhandled rejection of the page, kept for the test to read.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        "window.uncaught = [];"
        "addEventListener('error', e => window.uncaught.push(String(e.message)));"
        "addEventListener('unhandledrejection', e => window.uncaught.push(String(e.reason)));")})
    return driver


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


# -- the dashboard: server-rendered first view, filters, paging, time axis, errors ------------


def headless_chromium(*args: str, timeout: float = 60) -> str:
    """The DOM a plain headless Chromium run prints (no Selenium): what a capture sees."""
    browser = shutil.which("chromium")
    if not browser:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is not installed (mandatory under CI=true)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    done = subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu",
                           "--disable-dev-shm-usage", *args], capture_output=True, text=True,
                          timeout=timeout)
    return done.stdout


def mali_row(dom: str) -> list[str]:
    import re

    row = re.search(r'<tr data-key="Mali">(.*?)</tr>', dom, re.S)
    assert row, dom[:2000]
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                  row.group(1), re.S)]


@pytest.mark.browser
def test_a_capture_shows_the_first_view_without_waiting_and_ends_with_the_stream_open(
        seeded_server):
    base, _ = seeded_server
    # At once, whatever the script does later: the server rendered the figures.
    dom = headless_chromium("--dump-dom", f"{base}/")
    assert mali_row(dom)[:2] == ["Mali", "35"]
    assert "4 incidents match" in dom
    # Waiting on virtual time ends although the page follows the live stream (it is held
    # by a worker), and the script has drawn what it fetches itself.
    started = time.monotonic()
    dom = headless_chromium("--virtual-time-budget=5000", "--dump-dom", f"{base}/", timeout=45)
    assert time.monotonic() - started < 45
    assert mali_row(dom)[:2] == ["Mali", "35"]
    assert "Iyad Ag Ghali" in dom and "Barkhane" in dom


def ready(driver, timeout: float = 15) -> None:
    """Until the page's last render has finished (body[data-ready] moved)."""
    before = driver.execute_script("return document.body.dataset.readyMark || ''")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = driver.execute_script("return document.body.dataset.ready || ''")
        if now and now != before:
            driver.execute_script("document.body.dataset.readyMark = document.body.dataset"
                                  ".ready")
            return
        time.sleep(0.05)
    raise AssertionError("the page never finished rendering")


def query_of(driver) -> dict[str, list[str]]:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(driver.current_url).query)


def rows(driver, css: str) -> int:
    return driver.execute_script(f"return document.querySelectorAll({css!r}).length")


@pytest.mark.browser
def test_with_figures_from_the_page_counts_its_list_and_shows_a_missing_figure_as_a_dash(
        seeded_server):
    """figures_from (a filter with no control: a chip) lists every incident its source
    reported on; the script counts that list when the filters change, as the server does
    for the first view, and a figure the source did not give is "—"."""
    from urllib.parse import quote

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, _ = seeded_server
    article = "News article: French forces kill senior JNIM commander Bah ag Moussa"
    driver = chromium()
    try:
        driver.get(f"{base}/?figures_from={quote(article)}")
        ready(driver)
        wait_text(driver, "#incident-count", "4 incidents match")
        Select(driver.find_element(By.ID, "type")).select_by_value("battle")
        wait_text(driver, "#incident-count", "2 incidents match")
        assert query_of(driver) == {"figures_from": [article], "type": ["battle"]}
        killed = driver.execute_script(
            "return [...document.querySelectorAll('#incidents tr[data-id]')]"
            ".map(r => r.cells[3].textContent.trim())")
        assert killed == ["—", "—"]
    finally:
        driver.quit()


@pytest.mark.browser
def test_the_dashboard_filters_live_in_the_url_and_narrow_what_it_shows(seeded_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    from tests.api.test_gunicorn import get

    base, _ = seeded_server
    driver = chromium()
    try:
        driver.get(f"{base}/")
        ready(driver)
        wait_text(driver, "#incident-count", "4 incidents match")
        assert rows(driver, "#incidents tr[data-id]") == 4

        # A filter: the URL says it, the count, table, tallies and exports narrow.
        Select(driver.find_element(By.ID, "type")).select_by_value("battle")
        wait_text(driver, "#incident-count", "2 incidents match")
        assert query_of(driver) == {"type": ["battle"]}
        assert rows(driver, "#incidents tr[data-id]") == 2
        assert sorted(driver.execute_script(
            "return [...document.querySelectorAll('#by-admin1 tr[data-key]')]"
            ".map(r => r.dataset.key)")) == ["Mali / Menaka", "Mali / Mopti"]
        assert driver.find_element(By.ID, "export-csv").get_attribute("href") == \
            f"{base}/api/v1/incidents.csv?type=battle"
        assert driver.find_element(By.ID, "export-geojson").get_attribute("href") == \
            f"{base}/api/v1/incidents.geojson?type=battle"

        # Back and forward move between the views.
        driver.back()
        wait_text(driver, "#incident-count", "4 incidents match")
        assert query_of(driver) == {}
        assert driver.find_element(By.ID, "type").get_attribute("value") == ""
        driver.forward()
        wait_text(driver, "#incident-count", "2 incidents match")

        # An actor no one is: the API's refusal, named; the rest of the page still works.
        actor = driver.find_element(By.ID, "actor")
        actor.send_keys("Nobody Known", Keys.ENTER)
        wait_text(driver, "#problem", "unknown actor 'Nobody Known'")
        assert query_of(driver) == {"type": ["battle"], "actor": ["Nobody Known"]}
        wait_text(driver, "#leaders .current", "Iyad Ag Ghali")
        assert rows(driver, "#incidents tr[data-id]") == 0

        # An actor by one of its names; then a reload keeps the view.
        actor.clear()
        actor.send_keys("JNIM", Keys.ENTER)
        status, expected = get(f"{base}/api/v1/incidents?type=battle&actor=JNIM&limit=1000")
        assert status == 200 and expected["incidents"]
        n = len(expected["incidents"])
        wait_text(driver, "#incident-count", f"{n} incident")
        assert driver.find_element(By.ID, "problem").is_displayed() is False
        driver.refresh()
        wait_text(driver, "#incident-count", f"{n} incident")
        assert driver.find_element(By.ID, "actor").get_attribute("value") == "JNIM"
        assert rows(driver, "#incidents tr[data-id]") == n

        # Dates and a minimum: the month chart and the tallies follow them.
        driver.get(f"{base}/?from=2020-11-01&min_killed=10")
        ready(driver)
        wait_text(driver, "#incident-count", "1 incident matches")
        assert driver.find_element(By.ID, "from").get_attribute("value") == "2020-11-01"
        assert driver.execute_script("return document.querySelector('#by-month').dataset"
                                     ".months") == "1"
        assert driver.execute_script("return window.uncaught") == []
    finally:
        driver.quit()


def many_incidents(n: int) -> dict:
    """A report of `n` incidents with coordinates (in Mali, November 2020)."""
    facts: list[dict] = []
    for i in range(n):
        facts.append({"fact": "incident", "id": f"many-{i}", "date": f"2020-11-{1 + i % 28:02d}",
                      "type": "battle", "location": {
                          "name": f"Place {i}", "admin1": "Gao", "country": "Mali",
                          "latitude": 15 + (i % 10) * 0.3, "longitude": -2 + (i // 10) * 0.3}})
        facts.append({"fact": "casualties", "incident": f"many-{i}", "killed": i % 4})
    return {"report": f"many-{n}", "source": {"name": "Many", "kind": "media",
                                              "published": "2020-11-30"}, "facts": facts}


@pytest.mark.browser
def test_the_dashboard_pages_through_every_incident_and_maps_every_one(seeded_server):
    from selenium.webdriver.common.by import By

    base, token = seeded_server
    assert post(f"{base}/api/v1/reports", token, many_incidents(61)) == 201
    driver = chromium()
    try:
        driver.get(f"{base}/")
        ready(driver)
        wait_text(driver, "#incident-count", "65 incidents match")
        wait_text(driver, "#page-label", "1–50 of 65")
        assert rows(driver, "#incidents tr[data-id]") == 50
        seen = set(driver.execute_script(
            "return [...document.querySelectorAll('#incidents tr[data-id]')]"
            ".map(r => r.dataset.id)"))
        driver.find_element(By.ID, "next").click()
        wait_text(driver, "#page-label", "51–65 of 65")
        assert rows(driver, "#incidents tr[data-id]") == 15
        assert not driver.find_element(By.ID, "next").is_enabled()
        seen |= set(driver.execute_script(
            "return [...document.querySelectorAll('#incidents tr[data-id]')]"
            ".map(r => r.dataset.id)"))
        assert len(seen) == 65  # every incident once, over the two pages
        driver.find_element(By.ID, "previous").click()
        wait_text(driver, "#page-label", "1–50 of 65")
        # The map draws every matching incident with coordinates, not one page of them.
        assert rows(driver, "#map circle[data-id]") == 61
        wait_text(driver, "#map-note", "4 matching incidents have no coordinates")
        assert driver.execute_script("return window.uncaught") == []
    finally:
        driver.quit()


@pytest.mark.browser
def test_the_month_chart_has_a_time_axis_the_detail_opens_in_view_and_a_bad_as_of_is_named(
        seeded_server):
    from selenium.webdriver.common.by import By

    base, _ = seeded_server
    driver = chromium()
    try:
        driver.get(f"{base}/")
        ready(driver)
        # Every month from the first to the last, an empty one at zero.
        months = driver.execute_script(
            "return [...document.querySelectorAll('#by-month rect.month')]"
            ".map(r => [r.dataset.month, Number(r.dataset.best)])")
        assert [m for m, _ in months] == ["2020-08", "2020-09", "2020-10", "2020-11"]
        assert dict(months)["2020-09"] == 0 and dict(months)["2020-11"] == 35
        # Tick labels that do not overlap, and a y axis with several round ticks.
        boxes = driver.execute_script(
            "return [...document.querySelectorAll('#by-month text.x-tick')].map(t => {"
            "const b = t.getBBox(); return [b.x, b.x + b.width]; })")
        assert len(boxes) >= 2
        assert all(a[1] <= b[0] for a, b in zip(boxes, boxes[1:], strict=False)), boxes
        ys = driver.execute_script("return [...document.querySelectorAll('#by-month "
                                   "text.y-tick')].map(t => Number(t.textContent))")
        assert len(ys) >= 3 and ys[0] == 0 and ys == sorted(ys) and ys[-1] >= 35
        assert rows(driver, "#by-month polygon.band") == 1

        # The map reads an export's features whether their properties are nested or flat.
        shapes = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "import('/dashboard/static/map.js').then(m => done([m.point({id: 'a', geometry: "
            "{type: 'Point', coordinates: [1, 2]}, properties: {id: 'a', date: '2020-01-01', "
            "killed: {best: 3}, location: {name: 'X', country: 'Mali'}}}), m.point({id: 'b', "
            "geometry: {type: 'Point', coordinates: [1, 2]}, properties: {id: 'b', killed_best: "
            "4, location: 'Y', country: 'Mali'}})]))")
        assert [(s["id"], s["killed"], s["where"], s["lon"], s["lat"]) for s in shapes] == [
            ("a", 3, "X, Mali", 1, 2), ("b", 4, "Y, Mali", 1, 2)]

        # The detail opens beside its row, in view, with no literal null anywhere.
        driver.execute_script("window.scrollTo(0, 0)")
        link = driver.find_elements(By.CSS_SELECTOR, "#incidents tr[data-id] a")[-1]
        driver.execute_script("arguments[0].click()", link)
        wait_text(driver, "#incident-detail", "history")
        detail = driver.find_element(By.ID, "incident-detail").text
        assert "null" not in detail and "undefined" not in detail, detail
        assert driver.execute_script(
            "const r = document.getElementById('incident-detail').getBoundingClientRect();"
            "return r.top < innerHeight && r.bottom > 0")
        assert driver.execute_script(
            "return document.getElementById('incident-detail').closest('tr')"
            ".previousElementSibling.dataset.id") == \
            link.find_element(By.XPATH, "./ancestor::tr").get_attribute("data-id")

        # A bad as_of: the API's message names it; the page renders what it can.
        driver.get(f"{base}/?as_of=garbage")
        wait_text(driver, "#problem", "as_of 'garbage' is not a date")
        wait_text(driver, "#operations", "Not shown")
        assert driver.execute_script(
            "return document.querySelectorAll('#map path.country').length") > 100
        assert driver.find_element(By.ID, "live").text == "past"
        assert driver.execute_script("return window.uncaught") == []
        # "Now" leaves it.
        driver.find_element(By.ID, "now").click()
        wait_text(driver, "#by-country tr[data-key='Mali']", "35")
        assert not driver.find_element(By.ID, "problem").is_displayed()
        assert "as_of" not in query_of(driver)
    finally:
        driver.quit()


@pytest.fixture
def acled_server(tmp_path, shared_data):
    """`tracker serve` over the seed and the ACLED Burkina Faso export."""
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'events.sqlite'}"}
    env.pop("TRACKER_REDIS_URL", None)
    cli(env, "seed")
    cli(env, "import", "acled", str(shared_data / "acled_Burkina_Faso.csv"))
    server, base = serve(env, [sys.executable, "-m", "api.cli", "serve", "--port", "PORT"])
    yield base
    server.terminate()
    server.wait(10)


@pytest.mark.browser
@pytest.mark.shared_data
def test_the_dashboard_bins_thousands_of_incidents_and_spans_years(acled_server):
    from tests.api.test_gunicorn import get

    base = acled_server
    _, countries = get(f"{base}/api/v1/casualties?by=country&country=Burkina%20Faso")
    [burkina] = countries["rows"]
    driver = chromium()
    try:
        driver.get(f"{base}/?country=Burkina%20Faso")
        ready(driver, timeout=30)
        wait_text(driver, "#incident-count", f"{burkina['incidents']:,} incidents match")
        # More than 2,000 points: grid bins, which together hold every incident placed.
        placed = int(driver.execute_script("return document.getElementById('map').dataset"
                                           ".points"))
        assert placed > 2000
        assert rows(driver, "#map circle[data-id]") == 0
        assert driver.execute_script(
            "return [...document.querySelectorAll('#map circle.bin')]"
            ".reduce((n, c) => n + Number(c.dataset.count), 0)") == placed
        # Decades of months: year ticks, apart; every month is a bar.
        ticks = driver.execute_script(
            "return [...document.querySelectorAll('#by-month text.x-tick')].map(t => {"
            "const b = t.getBBox(); return [t.textContent, b.x, b.x + b.width]; })")
        assert all(len(label) == 4 for label, _, _ in ticks), ticks
        assert all(a[2] <= b[1] for a, b in zip(ticks, ticks[1:], strict=False)), ticks
        months = driver.execute_script("return document.querySelectorAll('#by-month "
                                       "rect.month').length")
        _, by_month = get(f"{base}/api/v1/casualties?by=month&country=Burkina%20Faso")
        first, last = by_month["rows"][0]["key"], by_month["rows"][-1]["key"]
        span = (int(last[:4]) - int(first[:4])) * 12 + int(last[5:]) - int(first[5:]) + 1
        assert months == span > 120
        assert driver.execute_script("return window.uncaught") == []
    finally:
        driver.quit()
