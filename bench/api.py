"""API benchmark: gunicorn (2 workers) on loopback, load from a second process.

    python -m bench.api [--sizes 10000,1000000] [--requests 600] [--concurrency 4]
                        [--views-url postgresql://…]   # PostgreSQL read model
                        [--links 25000]                # first link that many pairs

For each synthetic log size (built once and cached, see bench.synthetic.cached_log; its
views are folded once beside it), starts gunicorn on 127.0.0.1 on the embedded default (no
Redis: every answer is read from the read model), then a separate load process sends a
bounded number of requests per endpoint (stopping after 60 s whatever happens):
  casualties         /casualties?by=country
  casualties_early   … as_of a moment 10% into the log's recording
  casualties_late    … as_of a moment 90% into it
  leadership         /groups/syn-group-0/leadership
  incidents_first    /incidents (first page of 50)
  incidents_deep     /incidents?cursor=… (a page 90% of the way down the list)
  incidents_as_of    /incidents?as_of=… (50% into the recording)
  changes_slice      /changes?by=country over 1% of the log's recording span
  incident_member    /incidents/{a linked record}: answered with its cluster
  actors_search      /actors?q=group
  incidents_csv      one download of /incidents.csv: every incident, streamed (req/s
                     column: rows per second)
Prints requests/s, p50 and p99 latency per endpoint and size, p99 ratios between the
largest and the smallest log, and the workers' peak RSS.
Targets (issue "Read model v2"): p99 < 50 ms for each; p99 at 1M <= 2x p99 at 10k;
worker RSS < 300 MB; /incidents.csv >= 50,000 rows/s with flat worker memory.
With --links N, a copy of each log first records N `same_incident` links (pairs of
synthetic incidents, in reports of 1,000 facts), so every read runs over clusters
(issue "Many sources, one picture": reads after 25k links keep p99 < 50 ms at 1M).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]


def views_url_for(db_url: str, views_url: str | None) -> str:
    return views_url or db_url.replace(".sqlite", "-views.sqlite")


def prepare(db_url: str, views_url: str) -> dict[str, str]:
    """Folds the views once (cached beside the log) and picks the probe paths."""
    from sqlalchemy import func, select

    from api.services import build_tracker, tune_gc_for_batch_work
    from projections.readmodel.queries import encode_cursor
    from projections.readmodel.store import ReadModelStore
    from projections.runner import Projector
    from tracker.config import Settings

    tune_gc_for_batch_work()
    tracker = build_tracker(Settings(database_url=db_url, views_url=views_url))
    store = ReadModelStore(views_url)
    started = time.perf_counter()
    projector = Projector(tracker, store, batch_size=5000)
    store.setup()
    gens = store.generations()
    if not any(status == "active" and position >= tracker.max_position()
               for status, position in gens.values()):
        projector.rebuild()  # one bulk pass, indexes after: as `tracker rebuild` does
        print(f"  folded the views in {time.perf_counter() - started:.0f}s", flush=True)
    gen = store.ensure_active()
    units, inc = store.tables(gen)["units"], store.tables(gen)["incidents"]
    live = (inc.c.valid_to.is_(None), inc.c.live == 1)
    with store.reading() as conn:
        lo, hi = store.rows(conn, select(func.min(units.c.known_at),
                                         func.max(units.c.known_at)))[0]
        count = store.rows(conn, select(func.count()).select_from(inc).where(*live))[0][0]
        day, key = store.rows(conn, select(inc.c.date, inc.c.key).where(*live).order_by(
            inc.c.date.desc(), inc.c.key.asc()).limit(1).offset(int(count * 0.9)))[0]
    store.close()
    tracker.close()

    def at(fraction: float) -> str:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
            microseconds=int(lo + (hi - lo) * fraction))
        return quote(moment.isoformat())

    return {
        "casualties": "/api/v1/casualties?by=country",
        "casualties_early": f"/api/v1/casualties?by=country&as_of={at(0.1)}",
        "casualties_late": f"/api/v1/casualties?by=country&as_of={at(0.9)}",
        "leadership": "/api/v1/groups/syn-group-0/leadership",
        "incidents_first": "/api/v1/incidents",
        "incidents_deep": f"/api/v1/incidents?cursor={encode_cursor((day, key))}",
        "incidents_as_of": f"/api/v1/incidents?as_of={at(0.5)}",
        "changes_slice": f"/api/v1/changes?by=country&from={at(0.5)}&to={at(0.51)}",
        "incident_member": "/api/v1/incidents/syn-inc-1",
        "actors_search": "/api/v1/actors?q=group",
    }


def with_links(db_url: str, links: int) -> str:
    """A copy of the cached log with `links` same_incident links recorded (cached too)."""
    import shutil as sh

    from api.services import build_tracker
    from tracker.config import Settings

    path = Path(db_url[len("sqlite:///"):])
    linked = path.with_name(f"{path.stem}-links-{links}.sqlite")
    done = linked.with_suffix(".done")
    if not done.exists():
        for stale in path.parent.glob(f"{linked.stem}*"):
            stale.unlink()
        sh.copy(path, linked)
        tracker = build_tracker(Settings(database_url=f"sqlite:///{linked}"))
        started = time.perf_counter()
        pairs = [(f"syn-inc-{2 * i}", f"syn-inc-{2 * i + 1}") for i in range(links)]
        for n, start in enumerate(range(0, len(pairs), 1000)):
            tracker.record_report({
                "report": f"bench-links-{n}", "source": {"name": "Bench desk",
                                                         "kind": "analyst"},
                "facts": [{"fact": "same_incident", "incident": a, "same_as": b}
                          for a, b in pairs[start:start + 1000]]}, recorded_by="bench")
        tracker.close()
        done.write_text("ok")
        print(f"  recorded {links:,} links in {time.perf_counter() - started:.0f}s",
              flush=True)
    return f"sqlite:///{linked}"


def load(port: int, path: str, requests: int, concurrency: int, limit_s: float) -> dict:
    """Runs in the load process: keep-alive connections, one per thread."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + limit_s
    per_thread = requests // concurrency

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for _ in range(per_thread):
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                with lock:
                    errors[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(latencies), "errors": errors[0], "rps": len(latencies) / elapsed,
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))]}


def stream_csv(port: int) -> dict:
    """One full /incidents.csv download: rows per second, from the first byte asked to the
    last received."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.request("GET", "/api/v1/incidents.csv")
    response = conn.getresponse()
    rows = -1  # the header
    while chunk := response.read(1 << 16):
        rows += chunk.count(b"\r\n")
    elapsed = time.perf_counter() - started
    return {"requests": 1, "errors": int(response.status != 200), "rps": rows / elapsed,
            "p50_ms": 1000 * elapsed, "p99_ms": 1000 * elapsed, "rows": rows}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pids: list[int]) -> float:
    peak = 0.0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return peak


def serve_and_measure(db_url: str, views_url: str, paths: dict[str, str],
                      args: argparse.Namespace) -> tuple[dict, float]:
    port = free_port()
    env = {**os.environ, "TRACKER_DATABASE_URL": db_url, "TRACKER_VIEWS_URL": views_url}
    env.pop("TRACKER_REDIS_URL", None)
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    server = subprocess.Popen([gunicorn, "-c", "python:api.gunicorn_conf", "--workers", "2",
                               "--bind", f"127.0.0.1:{port}",
                               "api:create_app()"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/api/v1/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.1)
        results = {}
        for name, path in paths.items():
            for requests in (100, args.requests):  # warm-up, then the measurement
                out = subprocess.run(
                    [sys.executable, "-m", "bench.api", "--load", str(port), "--path", path,
                     "--requests", str(requests), "--concurrency", str(args.concurrency)],
                    cwd=ROOT, capture_output=True, text=True, check=True)
            results[name] = json.loads(out.stdout.strip().splitlines()[-1])
        results["incidents_csv"] = stream_csv(port)
        children = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True,
                                  text=True).stdout.split()
        return results, peak_rss_mb([int(p) for p in children])
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--views-url", default=None,
                        help="a PostgreSQL read model (?schema=…; one per size is made)")
    parser.add_argument("--links", type=int, default=0,
                        help="record this many same_incident links first (on a copy)")
    parser.add_argument("--load", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(load(args.load, args.path, args.requests, args.concurrency, 60.0)))
        return
    from bench.synthetic import cached_log

    sizes = [int(s) for s in args.sizes.split(",")]
    results, rss = {}, {}
    for events in sizes:
        db_url = cached_log(events)
        if args.links:
            db_url = with_links(db_url, min(args.links, events // 10))
        views = views_url_for(db_url, args.views_url and
                              f"{args.views_url}{'&' if '?' in args.views_url else '?'}"
                              f"schema=bench_views_{events}")
        paths = prepare(db_url, views)
        results[events], rss[events] = serve_and_measure(db_url, views, paths, args)
        print(f"measured {events:,} events", flush=True)
    print()
    print(f"{'endpoint':<18} {'events':>9} {'requests':>9} {'req/s':>8} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'errors':>6}")
    for events, by_endpoint in results.items():
        for name, r in by_endpoint.items():
            print(f"{name:<18} {events:>9,} {r['requests']:>9} {r['rps']:>8.0f} "
                  f"{r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['errors']:>6}")
    small, large = sizes[0], sizes[-1]
    print()
    for name in results[small]:
        if name == "incidents_csv":
            continue
        ratio = results[large][name]["p99_ms"] / results[small][name]["p99_ms"]
        print(f"{name:<18} p99 {large:,} / {small:,} = {ratio:.2f}")
    for events in sizes:
        print(f"worker peak RSS at {events:,} events: {rss[events]:.0f} MB")
    print("targets: p99 < 50 ms; p99 ratio <= 2; worker RSS < 300 MB; csv >= 50,000 rows/s")


if __name__ == "__main__":
    main()
