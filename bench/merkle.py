"""The Merkle tree's benchmark: proofs at a million events, and what the tree adds to writing.

    python -m bench.merkle [--events 1000000] [--proofs 2000] [--file ACLED.csv --scale 10]

1. The write path: `--write-events` stored events (each ~400 bytes of JSON, as an
   incident's figure) written through the chained SQLite recorder in batches of 2,000
   (what an import sends), without the tree and with it, alternately, each into a fresh
   store, median of `--repeat`: events/s and the tree's share.
2. Proofs at `--events` (a store of that size written with the tree, as in 1):
   `--proofs` inclusion proofs of random positions against the whole
   tree (what GET /proof/inclusion does: the tree's head, the leaf index, the nodes, in
   read transactions of their own) and as many consistency proofs between random sizes:
   p50/p99/max in ms. Then the migration of an older store: the tree tables emptied, the
   tree rebuilt from the log (events/s).
3. A dataset import (`--file`, copied `--scale` times as bench.imports does), views caught
   up, with and without the tree, each in a fresh process from a fresh store, in ABBA
   order, median of `--repeat`: the tree's share of an import.
Targets: proof p99 < 20 ms at 1M events; the tree adds <= 10% to an import.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tracker.tlog import TreeStorage

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "acled_Burkina_Faso.csv"
TOPIC = "tracker.domain.incident:Incident.CasualtiesReported"


@contextmanager
def tree_disabled() -> Iterator[None]:
    """The write path as it was before the tree: the chain entries alone (no leaf hashes),
    and no tree rows."""
    import tracker.integrity as integrity

    def chain_only(previous: str, ids: Any, events: Any) -> tuple[Any, list[bytes]]:
        return integrity.chain_entries(previous, ids, events), []

    original, combined = TreeStorage.append_tree, integrity.chain_and_leaves
    TreeStorage.append_tree = lambda *a, **k: None  # type: ignore[method-assign]
    integrity.chain_and_leaves = chain_only  # type: ignore[assignment]
    try:
        yield
    finally:
        TreeStorage.append_tree = original  # type: ignore[method-assign]
        integrity.chain_and_leaves = combined


def stored_events(n: int, batch: int) -> Iterator[list[Any]]:
    from eventsourcing.persistence import StoredEvent

    rng = random.Random(7)
    for start in range(0, n, batch):
        out = []
        for i in range(start, min(n, start + batch)):
            state = json.dumps({
                "source": f"source-{rng.randrange(50)}", "actor": None,
                "killed": rng.randrange(100), "low": None, "high": None, "extra": {},
                "provenance": {"report": f"r-{i}", "recorded_by": "bench",
                               "recorded_at": "2026-12-01T00:00:00+00:00",
                               "source": {"name": "bench", "kind": "dataset",
                                          "published": "2020-11-13"}},
                "timestamp": {"_type_": "datetime_iso", "_data_": "2026-12-01T00:00:00"},
                "originator_topic": "tracker.domain.incident:Incident"}).encode()
            out.append(StoredEvent(uuid.uuid4(), 1, TOPIC, state))
        yield out


def write(url: str, n: int, batch: int = 2000) -> tuple[float, Any, float]:
    from tracker.application import ConflictTracker
    from tracker.config import Settings

    tracker = ConflictTracker.from_settings(Settings(database_url=url))
    elapsed = cpu = 0.0
    for events in stored_events(n, batch):
        started, started_cpu = time.perf_counter(), time.process_time()
        tracker.recorder.insert_events(events)
        elapsed += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
    return elapsed, tracker, cpu


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def proofs(tracker: Any, count: int) -> dict[str, Any]:
    from tracker.transparency import Transparency

    tp = Transparency(tracker.recorder)
    size, last = tp.head()
    rng = random.Random(11)
    inclusion, consistency = [], []
    for _ in range(count):
        position = rng.randrange(1, last + 1)
        started = time.perf_counter()
        tp.inclusion(position, size)
        inclusion.append((time.perf_counter() - started) * 1000)
    for _ in range(count):
        first = rng.randrange(1, size)
        started = time.perf_counter()
        tp.consistency(first, size)
        consistency.append((time.perf_counter() - started) * 1000)
    return {"size": size, **{f"{name}_{label}": round(pct(v, q), 2)
                             for name, v in (("inclusion", inclusion),
                                             ("consistency", consistency))
                             for label, q in (("p50", 0.5), ("p99", 0.99), ("max", 1.0))}}


def migrate(tracker: Any, path: Path) -> tuple[float, int]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        for suffix in ("_tree", "_tree_head", "_tree_gaps"):
            conn.execute(f"DELETE FROM stored_events{suffix}")
    started = time.perf_counter()
    added = tracker.recorder.build_tree()
    return time.perf_counter() - started, added


def import_once(data: Path, folder: Path, with_tree: bool) -> tuple[float, float]:
    """One import in a fresh Python process (as `tracker import` runs), views caught up."""
    import subprocess
    import sys

    spec = json.dumps({"data": str(data), "folder": str(folder), "tree": with_tree})
    out = subprocess.run([sys.executable, "-m", "bench.merkle", "--import-child", spec],
                         check=True, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return float(result["seconds"]), float(result["cpu"])


def import_child(spec_json: str) -> None:
    from api.services import Services, tune_gc_for_batch_work
    from tracker.config import Settings
    from tracker.ingestion.importer import Importer

    spec = json.loads(spec_json)
    folder, name = Path(spec["folder"]), uuid.uuid4().hex[:8]
    settings = Settings(database_url=f"sqlite:///{folder / f'events-{name}.sqlite'}",
                        views_url=f"sqlite:///{folder / f'views-{name}.sqlite'}")
    tune_gc_for_batch_work()
    services = Services.from_settings(settings)
    started, started_cpu = time.perf_counter(), time.process_time()
    if spec["tree"]:
        Importer(services.tracker, "acled").run(Path(spec["data"]))
    else:
        with tree_disabled():
            Importer(services.tracker, "acled").run(Path(spec["data"]))
    services.runner.catch_up()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    services.close()
    print(json.dumps({"seconds": elapsed, "cpu": cpu}))


def postgres_write_path(base: str, n: int, repeat: int) -> None:
    import psycopg
    from psycopg import sql

    from tracker.config import eventsourcing_env

    runs: dict[bool, list[float]] = {False: [], True: []}
    cpus: dict[bool, list[float]] = {False: [], True: []}
    for i in range(repeat):
        for with_tree in ((False, True) if i % 2 == 0 else (True, False)):
            schema = f"bench_merkle_{uuid.uuid4().hex[:8]}"
            url = f"{base}{'&' if '?' in base else '?'}schema={schema}"
            try:
                if with_tree:
                    seconds, t, cpu = write(url, n)
                else:
                    with tree_disabled():
                        seconds, t, cpu = write(url, n)
                t.close()
            finally:
                env = eventsourcing_env(url)
                with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                                     port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                                     password=env["POSTGRES_PASSWORD"] or None,
                                     autocommit=True) as conn:
                    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
                                 .format(sql.Identifier(schema)))
            runs[with_tree].append(seconds)
            cpus[with_tree].append(cpu)
    without, with_tree_s = statistics.median(runs[False]), statistics.median(runs[True])
    c0, c1 = statistics.median(cpus[False]), statistics.median(cpus[True])
    print(f"write path, {n:,} events in batches of 2,000 (PostgreSQL, median of {repeat}):")
    print(f"  without the tree {without:7.1f} s  {n / without:9,.0f} events/s")
    print(f"  with the tree    {with_tree_s:7.1f} s  {n / with_tree_s:9,.0f} events/s"
          f"  (+{(with_tree_s / without - 1) * 100:.1f}%); CPU {c0:.1f} s -> {c1:.1f} s "
          f"(+{(c1 / c0 - 1) * 100:.1f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--write-events", type=int, default=200_000)
    parser.add_argument("--proofs", type=int, default=2000)
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--postgres-url", default=None,
                        help="Also compare the write path on PostgreSQL (own schemas, dropped).")
    parser.add_argument("--import-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.import_child:
        import_child(args.import_child)
        return
    from api.services import tune_gc_for_batch_work

    tune_gc_for_batch_work()
    with tempfile.TemporaryDirectory(prefix="bench-merkle-") as tmp:
        folder = Path(tmp)
        n = args.write_events
        runs: dict[bool, list[float]] = {False: [], True: []}
        cpus: dict[bool, list[float]] = {False: [], True: []}
        for i in range(args.repeat):
            # ABBA order: neither variant always runs first (warm caches, a busy machine).
            for with_tree in ((False, True) if i % 2 == 0 else (True, False)):
                url = f"sqlite:///{folder / f'w-{i}-{with_tree}.sqlite'}"
                if with_tree:
                    seconds, t, cpu = write(url, n)
                else:
                    with tree_disabled():
                        seconds, t, cpu = write(url, n)
                t.close()
                runs[with_tree].append(seconds)
                cpus[with_tree].append(cpu)
        without, with_tree_s = statistics.median(runs[False]), statistics.median(runs[True])
        print(f"write path, {n:,} events in batches of 2,000 (SQLite, median of "
              f"{args.repeat}):")
        print(f"  without the tree {without:7.1f} s  {n / without:9,.0f} events/s")
        print(f"  with the tree    {with_tree_s:7.1f} s  {n / with_tree_s:9,.0f} events/s"
              f"  (+{(with_tree_s / without - 1) * 100:.1f}%)")
        c0, c1 = statistics.median(cpus[False]), statistics.median(cpus[True])
        print(f"  CPU time: {c0:.1f} s -> {c1:.1f} s (+{(c1 / c0 - 1) * 100:.1f}%; wall time "
              "on a shared machine varies more than the tree costs)")
        if args.postgres_url:
            postgres_write_path(args.postgres_url, n, args.repeat)
        path = folder / "tree.sqlite"
        built, tracker, _ = write(f"sqlite:///{path}", args.events)
        print(f"a store of {args.events:,} events written with the tree in {built:.1f} s")
        result = proofs(tracker, args.proofs)
        print(f"proofs at {result['size']:,} leaves ({args.proofs:,} each, ms):")
        for name in ("inclusion", "consistency"):
            print(f"  {name:<12} p50 {result[f'{name}_p50']:6.2f}  p99 "
                  f"{result[f'{name}_p99']:6.2f}  max {result[f'{name}_max']:6.2f}")
        seconds, added = migrate(tracker, path)
        print(f"migration of an older store: {added:,} events in {seconds:.1f} s "
              f"({added / seconds:,.0f} events/s)")
        tracker.close()
        if args.skip_import or not args.file.is_file():
            return
        from bench.imports import scaled_copy

        data = folder / "scaled.csv"
        rows = scaled_copy(args.file, args.scale, data)
        timings: dict[bool, list[float]] = {False: [], True: []}
        cpu_times: dict[bool, list[float]] = {False: [], True: []}
        for i in range(args.repeat):
            for with_tree in ((False, True) if i % 2 == 0 else (True, False)):
                seconds, cpu = import_once(data, folder, with_tree)
                timings[with_tree].append(seconds)
                cpu_times[with_tree].append(cpu)
        plain, tree = statistics.median(timings[False]), statistics.median(timings[True])
        cplain, ctree = statistics.median(cpu_times[False]), statistics.median(cpu_times[True])
        print(f"import of {rows:,} ACLED rows, views caught up (SQLite, median of "
              f"{args.repeat}):")
        print(f"  without the tree {plain:6.1f} s   with the tree {tree:6.1f} s  "
              f"(+{(tree / plain - 1) * 100:.1f}%)")
        print(f"  CPU time: {cplain:.1f} s -> {ctree:.1f} s (+{(ctree / cplain - 1) * 100:.1f}%)")


if __name__ == "__main__":
    main()
