"""Every wait has a bound (issue 18), on servers of the tests' own: PostgreSQL paused 30 s
(SIGSTOP of that cluster's processes only), stopped and started three times in a row.
Each asserts the time bound of the answers, the JSON 503 with Retry-After, that nothing
answered 201 is lost (log and views), and the views catching up after recovery, with
gunicorn and a `tracker project --follow` as in production."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.faults.conftest import Production, report, wait_until
from tests.faults.test_outages import env_for, started

pytestmark = pytest.mark.fault

ANSWER_BOUND = 10.0      # any request, whatever PostgreSQL does
FIRST_503_BOUND = 2.0    # after a stop
SERVE_AGAIN_BOUND = 2.0  # after the server is back
CATCH_UP_BOUND = 5.0     # the views, after the server is back


def call(method: str, url: str, body: Any = None, token: str | None = None
         ) -> tuple[int, dict[str, Any], dict[str, str], float]:
    """(status, JSON body, headers, seconds taken); the client waits far longer than the
    bound under test, so a slow answer is measured, not cut."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    started_at = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return (response.status, json.loads(response.read()), dict(response.headers),
                    time.monotonic() - started_at)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), dict(e.headers), time.monotonic() - started_at


def assert_outage_answer(status: int, body: dict[str, Any], headers: dict[str, str],
                         what: str) -> None:
    assert status == 503, (what, status, body)
    assert set(body) == {"code", "status", "message", "errors"} and body["code"] == 503, body
    assert int(headers["Retry-After"]) >= 1, headers
    assert "Secret" not in body["message"]


class Ledger:
    """The reports the API accepted (201/200), to check that none is lost."""

    def __init__(self, prod: Production, token: str) -> None:
        self.prod, self.token = prod, token
        self.accepted: dict[str, int] = {}
        self.last_position = 0
        self._lock = threading.Lock()
        self._next = 100

    def post(self) -> tuple[int, dict[str, Any], dict[str, str], float]:
        with self._lock:
            self._next += 1
            n = self._next
        status, body, headers, seconds = call("POST", f"{self.prod.base}/reports",
                                              report(n, n), self.token)
        if status in (200, 201):
            with self._lock:
                self.accepted[f"fault-{n}"] = n
                self.last_position = max([self.last_position, *body["positions"]])
        return status, body, headers, seconds

    def check_nothing_lost(self) -> None:
        """Every accepted report is in the log, and the views total exactly what the log
        holds (a refused report may only be in both or in neither)."""
        listed = self.prod.cli("log", "--json", "--limit", "10000")
        assert listed.returncode == 0, listed.stderr
        logged = {e["provenance"].get("report") for e in json.loads(listed.stdout)["events"]}
        missing = set(self.accepted) - logged
        assert not missing, f"answered 201 but not in the log: {sorted(missing)}"
        expected = sum(int(r.split("-")[1]) for r in logged if r and r.startswith("fault-"))
        status, tally, _, _ = call("GET", f"{self.prod.base}/casualties?by=country"
                                          f"&min_position={self.last_position}")
        assert status == 200, tally
        assert {r["key"]: r["killed"]["best"] for r in tally["rows"]}["Niger"] == expected


def serves_again(ledger: Ledger) -> float:
    """Seconds until a write is accepted again (a request every 0.1 s)."""
    back = time.monotonic()
    wait_until(lambda: ledger.post()[0] == 201, 20, "a write to be accepted", every=0.1)
    return time.monotonic() - back


def views_caught_up(ledger: Ledger, since: float) -> float:
    """Seconds from `since` until the views hold the last accepted write."""
    def caught_up() -> bool:
        status, _, _, _ = call("GET", f"{ledger.prod.base}/casualties?by=country"
                                      f"&min_position={ledger.last_position}")
        return status == 200

    wait_until(caught_up, 20, "the views to catch up", every=0.1)
    return time.monotonic() - since


def test_postgres_paused_30s_every_request_answers_503_within_10s(own_postgres, own_redis):
    env = env_for(f"{own_postgres.url}?schema=tracker", own_redis.url, "paused")
    env["TRACKER_MIN_POSITION_TIMEOUT"] = "4"
    prod, token = started(env)
    ledger = Ledger(prod, token)
    try:
        assert ledger.post()[0] == 201
        views_caught_up(ledger, time.monotonic())

        own_postgres.pause()
        paused_at = time.monotonic()
        answers: list[tuple[str, int, dict[str, Any], dict[str, str], float]] = []

        def client(kind: str) -> None:
            while time.monotonic() - paused_at < 30:
                if kind == "write":
                    status, body, headers, seconds = ledger.post()
                else:
                    path = {"read": "/casualties?by=country",
                            "wait": f"/casualties?by=country&min_position="
                                    f"{ledger.last_position}",
                            "health": "/healthz"}[kind]
                    status, body, headers, seconds = call("GET", f"{prod.base}{path}")
                answers.append((kind, status, body, headers, seconds))

        clients = [threading.Thread(target=client, args=(kind,))
                   for kind in ("write", "read", "wait", "health")]
        for t in clients:
            t.start()
        for t in clients:
            t.join(60)
        own_postgres.resume()
        resumed = time.monotonic()
        serve_seconds = serves_again(ledger)
        catch_up_seconds = views_caught_up(ledger, resumed)

        slowest = max(seconds for *_, seconds in answers)
        by_kind = {kind: max(s for k, *_, s in answers if k == kind)
                   for kind in ("write", "read", "wait", "health")}
        print(f"paused 30 s: {len(answers)} answers, slowest {slowest:.2f} s "
              + ", ".join(f"{k} {v:.2f}" for k, v in by_kind.items())
              + f"; served again after {serve_seconds:.2f} s; views after "
              f"{catch_up_seconds:.2f} s")
        assert slowest < ANSWER_BOUND, f"an answer took {slowest:.1f} s"
        assert len(answers) >= 12, answers  # every client answered several times
        for kind, status, body, headers, _ in answers:
            if kind == "health":
                assert status == 503 and body["status"] == "unavailable", body
            else:
                assert_outage_answer(status, body, headers, kind)
        assert serve_seconds < SERVE_AGAIN_BOUND, f"served again after {serve_seconds:.1f} s"
        assert catch_up_seconds < CATCH_UP_BOUND, f"views after {catch_up_seconds:.1f} s"
        ledger.check_nothing_lost()
        assert prod.alive(), "no process had to be restarted"
    finally:
        own_postgres.resume()
        prod.stop()


def test_postgres_stopped_and_started_three_times_first_503_within_2s(own_postgres,
                                                                      own_redis):
    prod, token = started(env_for(f"{own_postgres.url}?schema=tracker", own_redis.url,
                                  "restarts"))
    ledger = Ledger(prod, token)
    try:
        assert ledger.post()[0] == 201
        views_caught_up(ledger, time.monotonic())
        for outage in range(3):
            own_postgres.stop()
            stopped = time.monotonic()
            status, body, headers, _ = ledger.post()
            first_503 = time.monotonic() - stopped
            assert_outage_answer(status, body, headers, f"write, outage {outage + 1}")
            assert first_503 < FIRST_503_BOUND, f"first 503 after {first_503:.1f} s"
            status, body, headers, seconds = call("GET", f"{prod.base}/casualties?by=country")
            assert_outage_answer(status, body, headers, f"read, outage {outage + 1}")
            assert seconds < FIRST_503_BOUND
            time.sleep(3)  # a short outage: the follower fails and backs off meanwhile

            own_postgres.start()
            back = time.monotonic()
            serve_seconds = serves_again(ledger)
            print(f"outage {outage + 1}: first 503 after {first_503:.2f} s; served again "
                  f"after {serve_seconds:.2f} s")
            assert serve_seconds < SERVE_AGAIN_BOUND, \
                f"outage {outage + 1}: served again after {serve_seconds:.1f} s"
            catch_up_seconds = views_caught_up(ledger, back)
            print(f"outage {outage + 1}: views after {catch_up_seconds:.2f} s")
            assert catch_up_seconds < CATCH_UP_BOUND, \
                f"outage {outage + 1}: views after {catch_up_seconds:.1f} s"
        ledger.check_nothing_lost()
        assert prod.alive(), "no process had to be restarted"
    finally:
        prod.stop()


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs of the test's own (needs root: mount)."""
    import os
    import shutil
    import subprocess

    from tests.conftest import need

    def check() -> None:
        if os.geteuid() != 0 or not shutil.which("mount"):
            raise PermissionError("mounting a small tmpfs needs root")

    need("a small tmpfs", check)
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        need("a small tmpfs", lambda: (_ for _ in ()).throw(OSError(mounted.stderr)))
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk, leave: int) -> Any:
    """Fills `disk` but for `leave` bytes; returns the filler file (delete it to free)."""
    import os

    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, free - leave))
    return filler


def embedded_app(events: str, views: str) -> Any:
    from api import create_app

    return create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{events}",
                       "VIEWS_URL": f"sqlite:///{views}", "REDIS_URL": None})


def post_until_full(app: Any, token: str, first: int) -> list[tuple[int, int, dict[str, Any]]]:
    """Posts reports until the disk is full, then a few more: (n, status, body) each."""
    client = app.test_client()
    answers: list[tuple[int, int, dict[str, Any]]] = []
    full_since = None
    for n in range(first, first + 3000):
        response = client.post("/api/v1/reports", json=report(n, n),
                               headers={"Authorization": f"Bearer {token}"})
        body = response.get_json()
        answers.append((n, response.status_code, body))
        if response.status_code != 201 or "warning" in body:
            full_since = full_since if full_since is not None else n
        if full_since is not None and n - full_since >= 5:
            break
    assert full_since is not None, "the disk never filled up"
    return answers


def niger(client: Any) -> int:
    rows = client.get("/api/v1/casualties?by=country").get_json()["rows"]
    return {r["key"]: r["killed"]["best"] for r in rows}.get("Niger", 0)


def logged_reports(services: Any) -> set[str]:
    page = services.tracker.list_events(after=0, limit=100_000)
    return {e["provenance"].get("report") for e in page["events"]}


@pytest.mark.parametrize("where", ["everything", "views"])
def test_disk_full_is_named_and_the_answer_matches_what_was_recorded(small_disk, tmp_path,
                                                                     where):
    """SQLite on a full 3 MB tmpfs: the event store and the views on it ("everything", as
    the issue found it), or the views only (so that reports land and folds fail)."""
    events = (small_disk if where == "everything" else tmp_path) / "events.sqlite"
    app = embedded_app(str(events), str(small_disk / "views.sqlite"))
    services = app.extensions["tracker"]
    client = app.test_client()
    try:
        token = services.tracker.issue_token("disk", "reporter")
        assert client.get("/api/v1/casualties?by=country").status_code == 200
        filler = fill(small_disk, leave=400_000)
        answers = post_until_full(app, token, first=1)

        refused = {f"fault-{n}" for n, status, _ in answers if status != 201}
        warned = {f"fault-{n}" for n, status, body in answers
                  if status == 201 and "warning" in body}
        for n, status, body in answers:
            assert status in (201, 503), (n, status, body)
            if status == 503:
                assert "disk is full" in body["message"], body
                assert "nothing was recorded" in body["message"], body
            if "warning" in body:
                assert "disk full" in body["warning"], body
        print(f"disk full ({where}): {len(answers)} reports, {len(refused)} refused, "
              f"{len(warned)} recorded with the views behind")
        logged = logged_reports(services)
        accepted = {f"fault-{n}" for n, status, _ in answers if status == 201}
        assert accepted <= logged, "answered 201, not recorded"
        assert not refused & logged, "answered 503, but recorded"
        if where == "views":
            assert warned, "the views never failed to fold"
        if where == "everything":
            # The CLI says it in one line too, and exits 3.
            import os
            import subprocess
            import sys

            from tests.faults.conftest import ROOT

            (tmp_path / "r.json").write_text(json.dumps(report(5000, 1)))
            env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
            env.update(TRACKER_DATABASE_URL=f"sqlite:///{events}",
                       TRACKER_VIEWS_URL=f"sqlite:///{small_disk / 'views.sqlite'}")
            done = subprocess.run([sys.executable, "-m", "api.cli", "report",
                                   str(tmp_path / "r.json")], env=env, cwd=ROOT,
                                  capture_output=True, text=True, timeout=60)
            if done.returncode == 3:  # nothing recorded
                assert done.stderr.strip().splitlines() == [
                    f"tracker: the event store at sqlite:///{events} is full (disk full); "
                    "free space, then try again"], done.stderr[-2000:]
            else:  # recorded, the views behind: it says so
                assert done.returncode == 0, done.stderr[-2000:]
                assert "warning: recorded, but the views could not be brought up to date " \
                       "(disk full)" in done.stderr, done.stderr[-2000:]
        if warned:
            health = client.get("/api/v1/healthz").get_json()
            assert health["status"] == "degraded", health
            assert "disk full" in health["view_store"]["error"], health

        filler.unlink()  # space is back: the next read catches the views up
        assert niger(client) == sum(int(r.split("-")[1]) for r in logged
                                    if r and r.startswith("fault-"))
        health = client.get("/api/v1/healthz").get_json()
        assert health["status"] == "ok" and set(health["behind"].values()) == {0}, health
        after = client.post("/api/v1/reports", json=report(9999, 1),
                            headers={"Authorization": f"Bearer {token}"})
        assert after.status_code == 201 and "warning" not in after.get_json()
    finally:
        services.close()
