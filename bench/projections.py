"""Projection benchmark: plain replay vs. rebuild into SQLite and Redis views.

    python -m bench.projections [--events 200000] [--redis-url redis://127.0.0.1:6379/15]

Builds a synthetic log (fixed seed) in a temporary SQLite event store, then measures in one
run, each phase in its own process so peak memory (max RSS) is its own:
  replay   read + decode every event, no views
  sqlite   rebuild all four views into a fresh SQLite view store
  redis    rebuild all four views into Redis (a unique key prefix, deleted afterwards)
Each phase runs over the first half of the log and over all of it, to show whether
memory stays flat as the log grows. Prints events/s, ratio to plain replay, peak RSS.
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


def build_log(db: Path, events: int) -> int:
    from bench.synthetic import synthetic_reports
    from tracker.application import ConflictTracker
    from tracker.config import Settings

    tracker = ConflictTracker.from_settings(Settings(database_url=f"sqlite:///{db}"))
    started = time.perf_counter()
    for report in synthetic_reports(events):
        tracker.record_report(report, recorded_by="bench")
    head = tracker.max_position()
    print(f"built log: {head} events in {time.perf_counter() - started:.1f}s "
          f"({head / (time.perf_counter() - started):,.0f} events/s through record_report)")
    return head


def phase(kind: str, db: str, until: int, redis_url: str, views: str) -> dict:
    """One measurement, in this process."""
    from projections.views.redis import RedisViewStore

    from projections.runner import ProjectionRunner
    from projections.wiring import build_tracker, tune_gc_for_batch_work
    from tracker.config import Settings

    # As `tracker rebuild` runs: the orjson event codec and the batch GC settings, for the
    # plain replay too (so the ratio compares the views' work, not the settings).
    tune_gc_for_batch_work()
    tracker = build_tracker(Settings(database_url=f"sqlite:///{db}"))
    started = time.perf_counter()
    count = 0
    if kind == "replay":
        after = 0
        while after < until:
            batch = tracker.recorder.select_notifications(after, 1000, stop=until,
                                                          inclusive_of_start=False)
            if not batch:
                break
            for n in batch:
                tracker.mapper.to_domain_event(n)
            count += len(batch)
            after = batch[-1].id
    else:
        from projections.views.base import ViewStore

        store: ViewStore
        if kind == "sqlite":
            from projections.views.sqlite import SQLiteViewStore

            store = SQLiteViewStore(views)
        else:
            store = RedisViewStore(redis_url, prefix=f"bench:{uuid.uuid4().hex[:8]}")
        runner = ProjectionRunner(tracker, store)
        count = runner.catch_up(until_position=until)
        if isinstance(store, RedisViewStore):
            store.drop_everything()
    seconds = time.perf_counter() - started
    return {"phase": kind, "events": count, "seconds": seconds,
            "events_per_s": count / seconds if seconds else 0.0,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_phase(kind: str, db: Path, until: int, redis_url: str, tmp: Path) -> dict:
    views = tmp / f"views-{kind}-{until}.sqlite"
    out = subprocess.run(
        [sys.executable, "-m", "bench.projections", "--phase", kind, "--db", str(db),
         "--until", str(until), "--redis-url", redis_url, "--views", str(views)],
        check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--redis-url", default=os.environ.get(
        "TRACKER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"))
    parser.add_argument("--phase")
    parser.add_argument("--db")
    parser.add_argument("--until", type=int)
    parser.add_argument("--views")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.db, args.until, args.redis_url, args.views)))
        return

    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as tmpdir:
        tmp = Path(tmpdir)
        db = tmp / "events.sqlite"
        head = build_log(db, args.events)
        results = {}
        for until in (head // 2, head):
            for kind in ("replay", "sqlite", "redis"):
                results[(kind, until)] = run_phase(kind, db, until, args.redis_url, tmp)
        print()
        print(f"{'phase':<8} {'events':>9} {'seconds':>8} {'events/s':>10} "
              f"{'ratio':>6} {'peak RSS':>9}")
        for until in (head // 2, head):
            base = results[("replay", until)]["events_per_s"]
            for kind in ("replay", "sqlite", "redis"):
                r = results[(kind, until)]
                print(f"{kind:<8} {r['events']:>9,} {r['seconds']:>8.2f} "
                      f"{r['events_per_s']:>10,.0f} {r['events_per_s'] / base:>6.2f} "
                      f"{r['max_rss_mb']:>7.0f}MB")
        print()
        for kind in ("replay", "sqlite", "redis"):
            half, full = results[(kind, head // 2)], results[(kind, head)]
            print(f"{kind}: peak RSS at {head:,} events / at {head // 2:,} events = "
                  f"{full['max_rss_mb'] / half['max_rss_mb']:.2f}")
        print("targets: >= 40,000 events/s into each store, ratio >= 0.5, memory flat")


if __name__ == "__main__":
    main()
