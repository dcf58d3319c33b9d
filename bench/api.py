"""API benchmark: gunicorn (2 workers) on loopback, load from a second process.

    python -m bench.api [--requests 2000] [--concurrency 4]

For a log of 10k and of 100k synthetic events (embedded SQLite store and views), starts
gunicorn on 127.0.0.1, then a separate load process sends a bounded number of requests
(and stops after 60 s whatever happens) to
  GET /api/v1/casualties?by=country
  GET /api/v1/groups/{id}/leadership
and prints requests/s, p50 and p99 latency, and the 100k/10k latency ratio.
Targets: p99 < 20 ms; 100k/10k ratio <= 1.5.
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
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATHS = {"casualties": "/api/v1/casualties?by=country",
         "leadership": "/api/v1/groups/syn-group-0/leadership"}


def build(db_url: str, events: int) -> None:
    from bench.synthetic import synthetic_reports
    from projections.wiring import Services
    from tracker.config import Settings

    services = Services.from_settings(Settings(database_url=db_url))
    for report in synthetic_reports(events):
        services.tracker.record_report(report, recorded_by="bench")
    services.runner.catch_up()
    services.close()


def load(port: int, path: str, requests: int, concurrency: int, limit_s: float) -> dict:
    """Runs in the load process: keep-alive connections, one per thread."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + limit_s
    per_thread = requests // concurrency

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_and_measure(db_url: str, args: argparse.Namespace) -> dict:
    port = free_port()
    env = {**os.environ, "TRACKER_DATABASE_URL": db_url}
    env.pop("TRACKER_REDIS_URL", None)
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    server = subprocess.Popen([gunicorn, "--workers", "2", "--bind", f"127.0.0.1:{port}",
                               "api:create_app()"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
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
        for name, path in PATHS.items():
            warm = subprocess.run(
                [sys.executable, "-m", "bench.api", "--load", str(port), "--path", path,
                 "--requests", "200", "--concurrency", str(args.concurrency)],
                cwd=ROOT, capture_output=True, text=True, check=True)
            del warm
            out = subprocess.run(
                [sys.executable, "-m", "bench.api", "--load", str(port), "--path", path,
                 "--requests", str(args.requests), "--concurrency", str(args.concurrency)],
                cwd=ROOT, capture_output=True, text=True, check=True)
            results[name] = json.loads(out.stdout.strip().splitlines()[-1])
        return results
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--load", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        print(json.dumps(load(args.load, args.path, args.requests, args.concurrency, 60.0)))
        return
    results = {}
    with tempfile.TemporaryDirectory(prefix="tracker-api-bench-") as tmp:
        for events in (10_000, 100_000):
            db_url = f"sqlite:///{tmp}/events-{events}.sqlite"
            started = time.perf_counter()
            build(db_url, events)
            print(f"built a log of ~{events:,} events in {time.perf_counter() - started:.1f}s")
            results[events] = serve_and_measure(db_url, args)
    print()
    print(f"{'endpoint':<12} {'events':>8} {'requests':>9} {'req/s':>8} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'errors':>6}")
    for events, by_endpoint in results.items():
        for name, r in by_endpoint.items():
            print(f"{name:<12} {events:>8,} {r['requests']:>9} {r['rps']:>8.0f} "
                  f"{r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['errors']:>6}")
    for name in PATHS:
        ratio = results[100_000][name]["p99_ms"] / results[10_000][name]["p99_ms"]
        p50 = results[100_000][name]["p50_ms"] / results[10_000][name]["p50_ms"]
        print(f"{name}: latency 100k/10k: p50 {p50:.2f}, p99 {ratio:.2f}")
    print("targets: p99 < 20 ms; 100k/10k latency ratio <= 1.5")


if __name__ == "__main__":
    main()
