"""The production server: gunicorn with 2 workers on loopback, as the README runs it."""

import http.client
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 5) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def start_gunicorn(gunicorn: str, env: dict) -> tuple[subprocess.Popen, str]:
    """gunicorn with 2 workers on a spare loopback port, answering: (process, API base)."""
    port = free_port()
    server = subprocess.Popen([gunicorn, "-c", "python:api.gunicorn_conf", "--workers", "2",
                               "--bind", f"127.0.0.1:{port}", "api:create_app()"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/api/v1"
    wait_until_serving(server, base)
    return server, base


# What a server that is starting (or a loaded machine) answers before it serves: refused or
# reset connections, a connect or read timeout (a bare TimeoutError when the request was
# sent and the answer is late), a connection closed before the status line.
NOT_YET = (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException)


def wait_until_serving(server: Any, base: str, deadline_s: float = 30,
                       per_try_s: float = 5) -> None:
    """Until `base`/healthz answers (any status, JSON); fails with the server's output and
    the last error if the server exits first or does not answer within `deadline_s`."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            get(f"{base}/healthz", timeout=per_try_s)
            return
        except NOT_YET as e:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail(f"the server did not start (last: {e!r}): "
                            f"{server.stderr.read().decode()}")
            time.sleep(0.1)


class FakeProcess:
    """Stands for the server process: running, or gone with an exit code."""

    def __init__(self, exited: int | None = None) -> None:
        self.exited, self.killed = exited, False
        self.stderr = io.BytesIO(b"the server's last words")

    def poll(self) -> int | None:
        return self.exited

    def kill(self) -> None:
        self.killed = True


def test_waiting_takes_a_late_answer_for_not_yet_and_retries():
    """A server under load accepts the connection and answers too late (the client's read
    times out: a bare TimeoutError); then it answers: the wait goes on to the answer."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []

    def serve() -> None:
        late, _ = listener.accept()     # the first request is never answered
        accepted.append(late)
        ok, _ = listener.accept()
        accepted.append(ok)
        ok.recv(65536)
        ok.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 2\r\n\r\n{}")
        ok.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        wait_until_serving(FakeProcess(), f"http://127.0.0.1:{port}", deadline_s=10,
                           per_try_s=0.3)
        thread.join(5)
        assert len(accepted) == 2
    finally:
        for s in accepted:
            s.close()
        listener.close()


def test_waiting_still_fails_when_nothing_answers_or_the_server_exits():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]        # closed again: connections are refused
    gone = FakeProcess(exited=1)
    with pytest.raises(pytest.fail.Exception, match="the server's last words"):
        wait_until_serving(gone, f"http://127.0.0.1:{port}")
    assert gone.killed
    silent = socket.create_server(("127.0.0.1", 0))   # accepts, never answers
    try:
        with pytest.raises(pytest.fail.Exception, match="did not start.*timed out"):
            wait_until_serving(FakeProcess(), f"http://127.0.0.1:{silent.getsockname()[1]}",
                               deadline_s=0.5, per_try_s=0.2)
    finally:
        silent.close()


def test_gunicorn_serves_the_app_factory(tmp_path: Path):
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    assert gunicorn, "gunicorn is a runtime dependency"
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'events.sqlite'}"}
    env.pop("TRACKER_REDIS_URL", None)
    subprocess.run([sys.executable, "-m", "api.cli", "seed"], env=env, check=True,
                   capture_output=True)
    server, base = start_gunicorn(gunicorn, env)
    try:
        status, health = get(f"{base}/healthz")
        assert status == 200 and health["status"] == "ok"
        status, body = get(f"{base}/casualties?by=country")
        assert status == 200 and body["rows"][0]["killed"]["best"] == 35
        status, body = get(f"{base}/groups/nobody/leadership")
        assert status == 404 and body["code"] == 404
    finally:
        server.terminate()
        server.wait(10)


def post(url: str, token: str, body: dict) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.mark.shared_data
def test_two_workers_concurrent_posts_and_an_import_end_exact(tmp_path: Path, shared_data):
    """2 gunicorn workers projecting inline, 4 clients posting 160 reports, and
    `tracker import acled` with its helper process, all at once on the embedded default:
    the totals equal the log's, and a rebuild from the log finds no difference."""
    import threading

    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'events.sqlite'}"}
    env.pop("TRACKER_REDIS_URL", None)

    def cli(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, check=True,
                              capture_output=True, text=True).stdout

    cli("seed")
    token = cli("token", "create", "--role", "reporter", "--name", "poster").strip()
    server, base = start_gunicorn(gunicorn, env)
    try:
        importer = subprocess.Popen([sys.executable, "-m", "api.cli", "import", "acled",
                                     str(shared_data / "acled_Burkina_Faso.csv")], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        statuses: list[int] = []

        def client(n: int) -> None:
            for i in range(40):
                statuses.append(post(f"{base}/reports", token, {
                    "report": f"post-{n}-{i}",
                    "source": {"name": f"Client {n}", "kind": "media"},
                    "facts": [{"fact": "incident", "id": f"post-{n}-{i}", "date": "2021-01-01",
                               "type": "battle", "location": {"name": "X", "country": "Mali"}},
                              {"fact": "casualties", "incident": f"post-{n}-{i}",
                               "killed": n + i}]}))

        clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for c in clients:
            c.start()
        for c in clients:
            c.join(timeout=300)
        assert importer.wait(300) == 0, importer.stderr.read().decode()
        assert statuses == [201] * 160
        posted = sum(n + i for n in range(4) for i in range(40))
        status, body = get(f"{base}/casualties?by=country")
        assert status == 200
        rows = {r["key"]: r["killed"]["best"] for r in body["rows"]}
        assert rows == {"Mali": 35 + posted, "Burkina Faso": 5242}
        assert body["total"]["best"] == 35 + posted + 5242
    finally:
        server.terminate()
        server.wait(10)
    verify = subprocess.run([sys.executable, "-m", "api.cli", "rebuild", "--verify"], env=env,
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr


def test_schemathesis_finds_no_broken_promise_on_a_live_server(tmp_path: Path):
    """The schemathesis command, as a user runs it against a served API with a reporter
    token: its examples, coverage and fuzzing phases find no 5xx and no answer outside the
    document (status, content type, schema)."""
    tools = Path(sys.executable).parent
    gunicorn = shutil.which("gunicorn", path=str(tools))
    schemathesis = shutil.which("schemathesis", path=str(tools))
    assert gunicorn and schemathesis, "both are installed by the dev extra"
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'events.sqlite'}"}
    env.pop("TRACKER_REDIS_URL", None)
    subprocess.run([sys.executable, "-m", "api.cli", "seed"], env=env, check=True,
                   capture_output=True)
    token = subprocess.run([sys.executable, "-m", "api.cli", "token", "create", "--role",
                            "reporter", "--name", "fuzzer"], env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    server, base = start_gunicorn(gunicorn, env)
    try:
        run = subprocess.run(
            [schemathesis, "run", f"{base}/openapi.json", "--phases",
             "examples,coverage,fuzzing", "--max-examples", "25", "--seed", "1",
             "-H", f"Authorization: Bearer {token}", "--checks",
             "not_a_server_error,status_code_conformance,content_type_conformance,"
             "response_schema_conformance"],
            env={**env, "NO_COLOR": "1"}, capture_output=True, text=True, timeout=300,
            cwd=tmp_path)  # its state (.schemathesis/) goes there, not into the clone
        failures = run.stdout[run.stdout.find("FAILURES"):][:6000]
        assert run.returncode == 0, failures
        assert "25/25" in run.stdout and " passed" in run.stdout
    finally:
        server.terminate()
        server.wait(10)


def test_gunicorn_lets_the_app_refuse_large_headers_in_json(tmp_path: Path):
    """Headers over 8 KiB were gunicorn's own HTML 431; now the app answers, JSON in the one
    error shape, up to gunicorn's raised bounds (a 60 KiB header line)."""
    import http.client

    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'events.sqlite'}"}
    env.pop("TRACKER_REDIS_URL", None)
    server, base = start_gunicorn(gunicorn, env)
    host, port = base.split("//")[1].split("/")[0].split(":")
    try:
        for headers in ({"X-Big": "a" * 9000}, {"X-Big": "a" * 60_000},
                        {f"X-Part-{i}": "a" * 8000 for i in range(8)}):
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            connection.request("GET", "/api/v1/healthz", headers=headers)
            response = connection.getresponse()
            body = response.read()
            connection.close()
            assert response.status == 431, body[:200]
            assert response.getheader("Content-Type") == "application/json", body[:200]
            answer = json.loads(body)
            assert answer["code"] == 431 and "bytes" in answer["message"]
            assert response.getheader("X-Content-Type-Options") == "nosniff"
        status, _ = get(f"{base}/healthz")
        assert status == 200
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_generated_valid_reports_are_accepted_and_every_answer_keeps_the_document(
        tmp_path: Path, backend: str, request: pytest.FixtureRequest):
    """The write path under schemathesis' checks: reports generated from the fact
    catalogue (tests/reports_strategy.py: every fact type but the amendments, every field
    from its declaration) POSTed to gunicorn are ACCEPTED (201), and each answer, and the
    views read back right after (incident, tallies, leadership, operation, actor search,
    exports), is no 5xx and matches the OpenAPI document."""
    import itertools

    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.api.test_openapi_properties import CHECKS
    from tests.reports_strategy import reports

    url = (request.getfixturevalue("pg_database_url") if backend == "postgres"
           else f"sqlite:///{tmp_path / 'events.sqlite'}")
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    env = {**os.environ, "TRACKER_DATABASE_URL": url}
    env.pop("TRACKER_REDIS_URL", None)
    token = subprocess.run([sys.executable, "-m", "api.cli", "token", "create", "--role",
                            "reporter", "--name", "fuzzer"], env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    server, base = start_gunicorn(gunicorn, env)
    root = base.removesuffix("/api/v1")
    headers = {"Authorization": f"Bearer {token}"}
    numbers = itertools.count(1)
    try:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")

        def checked(path: str, method: str = "GET", **kw: Any) -> Any:
            case = schema[path][method].Case(**kw)
            response = case.call(base_url=root, headers=headers, timeout=30)
            case.validate_response(response, checks=CHECKS)
            return response

        @settings(max_examples=25, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(data=st.data())
        def accepted(data: st.DataObject) -> None:
            n = next(numbers)
            report = data.draw(reports(n))
            posted = checked("/api/v1/reports", "POST", body=report,
                             media_type="application/json")
            assert posted.status_code == 201, posted.text
            at = {"min_position": posted.json()["positions"][-1]}
            assert checked("/api/v1/incidents/{incident_id}", path_parameters={
                "incident_id": f"i{n}"}, query=at).status_code == 200
            assert checked("/api/v1/groups/{group_id}/leadership", path_parameters={
                "group_id": f"g{n}"}, query=at).status_code == 200
            assert checked("/api/v1/operations/{operation_id}", path_parameters={
                "operation_id": f"o{n}"}, query=at).status_code == 200
            country = next(f for f in report["facts"]
                           if f["fact"] == "incident")["location"]["country"]
            for by in ("country", "actor", "operation", "month"):
                assert checked("/api/v1/casualties", query={**at, "by": by,
                                                            "country": country}
                               ).status_code == 200
            assert checked("/api/v1/actors", query={**at, "q": report["facts"][0]["name"]}
                           ).status_code == 200
            for export in ("/api/v1/incidents.csv", "/api/v1/incidents.geojson"):
                assert checked(export, query={**at, "country": country}).status_code == 200

        accepted()
        assert next(numbers) > 20  # the reports were generated and posted
    finally:
        server.terminate()
        server.wait(10)
