"""Projection benchmark: rebuilding the read model vs. reading and decoding the log.

    python -m bench.projections [--events 1000000] [--postgres URL] [--no-postgres]

Uses the synthetic log of about --events events (fixed seed; built once and cached, see
bench.synthetic.cached_log), then measures in one run, each phase in its own process so
its peak memory (max RSS) is its own:
  json      read every stored event + json.loads (stdlib): the floor of any replay
  orjson    read every stored event + orjson.loads
  mapper    read every stored event + the library's decode into event objects
  sqlite    `tracker rebuild`'s work: every view in one pass into a new SQLite read model
  postgres  the same into a PostgreSQL read model (a schema of its own, dropped after)
Each phase runs over the first half of the log and over all of it, to show whether time
and memory grow with the log. Prints events/s, each rebuild's time over the json floor,
and peak RSS.
Targets (issue "Read model v2"): SQLite rebuild >= 30,000 events/s and <= 3x the time of
reading + json-decoding the same log; memory flat in log size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("json", "orjson", "mapper", "sqlite", "postgres")


def read_all(tracker: object, until: int, decode: object) -> int:
    recorder = tracker.recorder  # type: ignore[attr-defined]
    after, count = 0, 0
    while after < until:
        batch = recorder.select_notifications(after, 2000, stop=until,
                                              inclusive_of_start=False)
        if not batch:
            break
        for n in batch:
            decode(n)  # type: ignore[operator]
        count += len(batch)
        after = batch[-1].id
    return count


def phase(kind: str, db_url: str, until: int, views_url: str) -> dict:
    """One measurement, in this process."""
    import orjson

    from api.services import build_tracker, tune_gc_for_batch_work
    from projections.readmodel.store import ReadModelStore
    from projections.runner import LARGE_BATCH, Projector
    from tracker.config import Settings

    tune_gc_for_batch_work()  # as `tracker rebuild` runs, for every phase
    tracker = build_tracker(Settings(database_url=db_url))
    started = time.perf_counter()
    if kind == "json":
        count = read_all(tracker, until, lambda n: json.loads(n.state))
    elif kind == "orjson":
        count = read_all(tracker, until, lambda n: orjson.loads(n.state))
    elif kind == "mapper":
        count = read_all(tracker, until, tracker.mapper.to_domain_event)
    else:
        store = ReadModelStore(views_url)
        store.setup()
        # As `tracker rebuild` folds (a process of batch work: LARGE_BATCH while behind).
        projector = Projector(tracker, store, max_batch=LARGE_BATCH)
        gen = store.new_generation()
        count = projector.catch_up(gen=gen, until_position=until, bulk=True)
        store.create_indexes(gen)
        store.close()
    seconds = time.perf_counter() - started
    return {"phase": kind, "events": count, "seconds": seconds,
            "events_per_s": count / seconds if seconds else 0.0,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_phase(kind: str, db_url: str, until: int, views_url: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.projections", "--phase", kind, "--db", db_url,
         "--until", str(until), "--views", views_url],
        check=True, capture_output=True, text=True, cwd=ROOT)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def drop_schema(url: str, schema: str) -> None:
    import psycopg

    from tracker.config import eventsourcing_env

    env = eventsourcing_env(url)
    with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                         port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                         password=env["POSTGRES_PASSWORD"] or None, autocommit=True) as c:
        c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get(
        "TRACKER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--phase")
    parser.add_argument("--db")
    parser.add_argument("--until", type=int)
    parser.add_argument("--views")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.db, args.until, args.views)))
        return

    from bench.synthetic import cached_log

    db_url = cached_log(args.events)
    head = int(Path(db_url[len("sqlite:///"):]).with_suffix(".done").read_text())
    kinds = [k for k in PHASES if not (k == "postgres" and args.no_postgres)]
    results = {}
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as tmp:
        for until in (head // 2, head):
            for kind in kinds:
                schema = f"bench_{uuid.uuid4().hex[:8]}"
                views = (f"{args.postgres}?schema={schema}" if kind == "postgres"
                         else f"sqlite:///{tmp}/views-{until}.sqlite")
                try:
                    results[(kind, until)] = run_phase(kind, db_url, until, views)
                finally:
                    if kind == "postgres":
                        drop_schema(args.postgres, schema)
                r = results[(kind, until)]
                print(f"  {kind:<8} {r['events']:>9,} events {r['seconds']:>7.2f}s", flush=True)
    print()
    print(f"{'phase':<9} {'events':>9} {'seconds':>8} {'events/s':>10} {'x json':>7} "
          f"{'peak RSS':>9}")
    for until in (head // 2, head):
        floor = results[("json", until)]["seconds"]
        for kind in kinds:
            r = results[(kind, until)]
            print(f"{kind:<9} {r['events']:>9,} {r['seconds']:>8.2f} {r['events_per_s']:>10,.0f} "
                  f"{r['seconds'] / floor:>7.2f} {r['max_rss_mb']:>7.0f}MB")
    print()
    for kind in kinds:
        half, full = results[(kind, head // 2)], results[(kind, head)]
        print(f"{kind}: at {head:,} / at {head // 2:,} events: peak RSS "
              f"{full['max_rss_mb'] / half['max_rss_mb']:.2f}, events/s "
              f"{full['events_per_s'] / half['events_per_s']:.2f}")
    print("targets: sqlite >= 30,000 events/s and <= 3x json; memory flat")


if __name__ == "__main__":
    main()
