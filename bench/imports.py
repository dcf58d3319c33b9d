"""Import benchmark: end-to-end dataset import vs. plain CSV -> sqlite3, in one run.

    python -m bench.imports [--file AN_ACLED_EXPORT.csv] [--scale 10]

The ACLED export is copied `--scale` times into a temporary file (event ids suffixed so every
row is a new event; the copy is deleted afterwards). Then, each from a fresh store:
  baseline       csv.DictReader + one row per record into a plain sqlite3 table
  sqlite-serial  `Importer` into the SQLite event store, then the SQLite views caught up
  sqlite         the same as `tracker import` does it: a helper process folds events into
                 the views while the import writes (2 cores), then the import finishes it
  sqlite-again   the same file imported again into the `sqlite` run's store: every row
                 unchanged, nothing recorded (target: <= 0.25x the first import)
  postgres       `Importer` into PostgreSQL (own schema, dropped) with a follower process
                 folding into its PostgreSQL read model, as in production
Each import runs in a fresh Python process, as `tracker import` does, timed from its first
row to the views up to date (interpreter start-up and module imports excluded).
Each run is repeated `--repeat` times (default 3), each time from a fresh store, and the
median is reported (the best beside it): the machines this runs on are shared, and single
timings vary by 10-20%. Prints rows/s and events/s (views up to date), and each import's
ratio to the baseline: median over median, and best over best (the baseline is short, so a
slow moment of the machine weighs more on it; the two ratios bracket the truth).
Targets: >= 5,000 rows/s on SQLite; baseline/import ratio <= 10; PostgreSQL within 1.5x of
SQLite; an unchanged re-import <= 0.25x the first import.

A second table gives, per import (medians over the repeats), what the targets at scale need:
  first, last    rows/s (wall clock) over the first and the last 100,000 rows the importer
                 recorded (the first and last tenth of a file under 200,000 rows);
                 `last/first` their ratio (target >= 0.8), `cpu last/first` the same ratio
                 of rows per CPU second of the importing process: a rate that falls as the
                 store grows shows here
  write s        seconds from the first row to the importer's return (every row recorded)
  behind         how far the views were behind the log at that moment, in positions, and
  catch-up s     the seconds until they were caught up (target: a few seconds;
                 `sqlite-serial` folds only after writing, so there it is the whole log)
  cpu s          CPU seconds of the importing process + of the helper that folds alongside
                 (on a shared machine the steadier figure: wall time includes others' work)
  B/event        bytes per event (over the log's positions) of the event store (its events,
                 hash chain, Merkle tree and import fingerprints) and of the read model: for
                 SQLite the files' sizes after a checkpoint (so the -wal is empty), for
                 PostgreSQL pg_total_relation_size of every table of the schema (target:
                 the read model no bigger than the event store)
`--no-pace`: the imports with a helper write without waiting for the views (`tracker import`
paces itself to them: see Services.projecting_alongside). `--no-postgres` skips the
PostgreSQL import (its columns then read "-"); `--runs` names the
runs to make (default all; the baseline always runs: the ratios need it), e.g.
`--runs sqlite,sqlite-again` to leave out the long one-process run at scale.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tracker.wording import counted, word_for

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "acled_Burkina_Faso.csv"


def scaled_copy(source: Path, scale: int, target: Path) -> int:
    rows = 0
    with source.open(newline="", encoding="utf-8") as f, target.open("w", newline="",
                                                                     encoding="utf-8") as out:
        reader = csv.DictReader(f)
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        originals = list(reader)
        for copy in range(scale):
            for row in originals:
                writer.writerow({**row, "event_id_cnty": f"{row['event_id_cnty']}-{copy}"})
                rows += 1
    return rows


def baseline(path: Path, db: Path) -> float:
    started = time.perf_counter()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE events (id TEXT PRIMARY KEY, body TEXT)")
    with path.open(newline="", encoding="utf-8") as f:
        conn.executemany("INSERT INTO events VALUES (?, ?)",
                         ((row["event_id_cnty"], json.dumps(row)) for row in csv.DictReader(f)))
    conn.commit()
    conn.close()
    return time.perf_counter() - started


def tracker_import(path: Path, database_url: str, redis_url: str | None,
                   alongside: bool, views_url: str | None = None) -> dict[str, Any]:
    """One import in a fresh Python process, as `tracker import` runs: timed from the
    first row read to the views up to date (interpreter start-up and imports excluded)."""
    spec = json.dumps({"path": str(path), "database_url": database_url,
                       "redis_url": redis_url, "alongside": alongside, "views_url": views_url,
                       "pace": PACE})
    out = subprocess.run([sys.executable, "-m", "bench.imports", "--child", spec],
                         check=True, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def child(spec_json: str) -> None:
    from api.services import Services, tune_gc_for_batch_work
    from tracker.config import Settings
    from tracker.ingestion.importer import Importer

    spec = json.loads(spec_json)
    path = Path(spec["path"])
    settings = Settings(database_url=spec["database_url"], redis_url=spec["redis_url"],
                        redis_prefix=f"bench:{uuid.uuid4().hex[:8]}",
                        views_url=spec["views_url"] or (
                            f"sqlite:///{path.parent}/views-{uuid.uuid4().hex[:8]}.sqlite"
                            if spec["database_url"].startswith("sqlite") else None))
    tune_gc_for_batch_work()  # as `tracker import` does
    services = Services.from_settings(settings)
    # (rows recorded so far, wall, CPU) after each batch: the rate as the store grows.
    marks: list[tuple[int, float, float]] = []

    class Marked(Importer):
        def _record_batch(self, batch: list[Any], *args: Any, **kwargs: Any) -> None:
            super()._record_batch(batch, *args, **kwargs)
            marks.append(((marks[-1][0] if marks else 0) + len(batch),
                          time.perf_counter(), time.process_time()))

    helper_cpu = _children_cpu()
    started, cpu_started = time.perf_counter(), time.process_time()
    marks.append((0, started, cpu_started))
    if spec["alongside"]:
        with services.projecting_alongside() as pace:  # paced, as `tracker import` runs
            summary = Marked(services.tracker, "acled").run(
                path, pace=pace if spec.get("pace", True) else None)
            written, behind = _behind(services)
    else:
        summary = Marked(services.tracker, "acled").run(path)
        written, behind = _behind(services)
        services.runner.catch_up()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    assert max(services.runner.lag().values()) == 0, "the views are not up to date"
    head = services.tracker.max_position()
    services.close()
    print(json.dumps({"seconds": elapsed, "events": summary.events, "cpu": cpu,
                      "helper_cpu": _children_cpu() - helper_cpu,
                      "write_seconds": written - started, "behind": behind,
                      "catch_up_seconds": started + elapsed - written,
                      "marks": marks, "head": head,
                      "store_bytes": _store_bytes(settings.database_url),
                      "views_bytes": _store_bytes(settings.read_model_url())}))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _behind(services: Any) -> tuple[float, int]:
    """The moment the importer returned, and how many positions the views were behind."""
    written = time.perf_counter()
    return written, max(services.runner.lag().values())


def _store_bytes(url: str) -> int:
    """A store's size: a SQLite file after a checkpoint (its -wal then empty) plus what is
    left of the -wal; every table of a PostgreSQL schema, indexes and TOAST included."""
    from tracker.config import eventsourcing_env, sqlite_path

    if url.startswith("sqlite:///"):
        db = Path(sqlite_path(url))
        lite = sqlite3.connect(db)
        try:
            lite.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            lite.close()
        return sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())
    import psycopg

    env = eventsourcing_env(url)
    schema = env.get("POSTGRES_SCHEMA", "public")
    with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                         port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                         password=env["POSTGRES_PASSWORD"] or None, autocommit=True) as conn:
        row = conn.execute("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) "
                           "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE n.nspname = %s AND c.relkind IN ('r', 'm')",
                           (schema,)).fetchone()
    return int(row[0]) if row else 0


def span_of(rows: int) -> int:
    """The rows at each end whose rates are compared: 100,000 where the file has room for
    both windows (200,000 rows or more), else a tenth of it."""
    return 100_000 if rows >= 200_000 else max(1, rows // 10)


def windows(marks: list[list[float]], rows: int) -> dict[str, float]:
    """Rows/s over the first and the last `span_of(rows)` rows recorded, from the marks
    taken after each batch: wall clock and CPU time."""
    span = span_of(rows)
    total = marks[-1][0]
    first = next(m for m in marks if m[0] >= span)
    last = max((m for m in marks if m[0] <= total - span), key=lambda m: m[0])
    start, end = marks[0], marks[-1]
    return {"span": span,
            "first": first[0] / (first[1] - start[1]),
            "last": (total - last[0]) / (end[1] - last[1]),
            "first_cpu": first[0] / (first[2] - start[2]),
            "last_cpu": (total - last[0]) / (end[2] - last[2])}


RUNS = ("sqlite-serial", "sqlite", "sqlite-again", "postgres")
# --no-pace: the imports with a helper do not wait for the views (as before pacing).
PACE = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres-url", default=os.environ.get(
        "TRACKER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis-url", default=os.environ.get(
        "TRACKER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"))
    parser.add_argument("--no-postgres", action="store_true",
                        help="skip the PostgreSQL import")
    parser.add_argument("--runs", default=",".join(RUNS),
                        help=f"comma-separated runs to make, of {', '.join(RUNS)}")
    parser.add_argument("--no-pace", action="store_true",
                        help="imports with a helper write without waiting for the views "
                             "(to compare with the paced import `tracker import` runs)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global PACE
    PACE = not args.no_pace
    wanted = {r.strip() for r in args.runs.split(",") if r.strip()}
    if wanted - set(RUNS):
        unknown = sorted(wanted - set(RUNS))
        parser.error(f"unknown {word_for(len(unknown), 'run')} {', '.join(unknown)}; "
                     f"known: {', '.join(RUNS)}")
    if args.no_postgres:
        wanted.discard("postgres")
    if "sqlite-again" in wanted:
        wanted.add("sqlite")  # it imports into the `sqlite` run's store
    if args.child:
        child(args.child)
        return
    if not args.file.is_file():
        raise SystemExit(f"{args.file}: not found; pass --file with an ACLED export (CSV)")
    with tempfile.TemporaryDirectory(prefix="tracker-import-bench-") as tmp:
        tmpdir = Path(tmp)
        data = tmpdir / "scaled.csv"
        rows = scaled_copy(args.file, args.scale, data)
        runs: dict[str, list[dict[str, Any]]] = {}
        for attempt in range(args.repeat):
            # Each run starts with the previous runs' writes on disk (os.sync), so that none
            # pays for another's dirty pages.
            os.sync()
            runs.setdefault("baseline", []).append(
                {"seconds": baseline(data, tmpdir / f"baseline-{attempt}.sqlite"),
                 "events": rows})
            if "sqlite-serial" in wanted:
                os.sync()
                runs.setdefault("sqlite-serial", []).append(tracker_import(
                    data, f"sqlite:///{tmpdir}/serial-{attempt}.sqlite", None,
                    alongside=False))
            store = f"sqlite:///{tmpdir}/events-{attempt}.sqlite"
            views = f"sqlite:///{tmpdir}/views-{attempt}.sqlite"
            if "sqlite" in wanted:
                os.sync()
                runs.setdefault("sqlite", []).append(tracker_import(
                    data, store, None, alongside=True, views_url=views))
            if "sqlite-again" in wanted:
                os.sync()
                runs.setdefault("sqlite-again", []).append(tracker_import(
                    data, store, None, alongside=True, views_url=views))
            if "postgres" in wanted:
                os.sync()
                runs.setdefault("postgres", []).append(postgres_import(data, args))
    report(runs, rows, args)


def report(runs: dict[str, list[dict[str, Any]]], rows: int, args: argparse.Namespace
           ) -> None:
    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    base = median("baseline", "seconds")
    base_best = min(r["seconds"] for r in runs["baseline"])
    print(f"{rows:,} rows ({args.file.name} x {args.scale}, ids made unique); "
          f"median of {counted(args.repeat, 'run')} each")
    print(f"{'run':<14} {'seconds':>8} {'rows/s':>9} {'events/s':>9} {'baseline/run':>13} "
          f"{'best rows/s':>12} {'best/best':>10}")
    for name, results in runs.items():
        seconds = median(name, "seconds")
        events = results[0]["events"]
        best = min(r["seconds"] for r in results)
        events_rate = f"{events / seconds:>9,.0f}" if name != "baseline" else f"{'-':>9}"
        print(f"{name:<14} {seconds:>8.2f} {rows / seconds:>9,.0f} {events_rate} "
              f"{seconds / base:>13.1f} {rows / best:>12,.0f} {best / base_best:>10.1f}")
    def over_sqlite(name: str) -> str:
        if name not in runs or "sqlite" not in runs:
            return "-"
        return f"{median(name, 'seconds') / median('sqlite', 'seconds'):.2f}"

    print(f"unchanged re-import / first import: {over_sqlite('sqlite-again')}; "
          f"postgres / sqlite: {over_sqlite('postgres')}")
    print("targets: >= 5,000 rows/s on SQLite (views up to date); baseline/run ratio <= 10; "
          "re-import <= 0.25; postgres/sqlite <= 1.5")
    span = span_of(rows)
    print(f"\nat scale (first/last: rows/s over the first and last {span:,} rows recorded, "
          "wall | CPU; behind: the views when the importer returned)")
    print(f"{'run':<14} {'first':>7} {'last':>7} {'last/first':>10} {'cpu last/first':>14} "
          f"{'write s':>8} {'behind':>9} {'catch-up s':>10} {'cpu s: import+helper':>20} "
          f"{'store B/ev':>10} {'views B/ev':>10}")
    for name, results in runs.items():
        if name == "baseline":
            continue
        w = [windows(r["marks"], rows) for r in results if len(r["marks"]) > 1]

        def mid(key: str, w: list[dict[str, float]] = w) -> float:
            return statistics.median(x[key] for x in w) if w else float("nan")

        per_event = [(r["store_bytes"] / r["head"], r["views_bytes"] / r["head"])
                     for r in results if r["head"]]
        print(f"{name:<14} {mid('first'):>7,.0f} {mid('last'):>7,.0f} "
              f"{statistics.median(x['last'] / x['first'] for x in w) if w else 0:>10.2f} "
              f"{statistics.median(x['last_cpu'] / x['first_cpu'] for x in w) if w else 0:>14.2f} "
              f"{median(name, 'write_seconds'):>8.1f} {median(name, 'behind'):>9,.0f} "
              f"{median(name, 'catch_up_seconds'):>10.1f} "
              f"{median(name, 'cpu'):>13.1f}+{median(name, 'helper_cpu'):<6.1f} "
              f"{statistics.median(p[0] for p in per_event):>10,.0f} "
              f"{statistics.median(p[1] for p in per_event):>10,.0f}")
    print("targets: last/first >= 0.8; the views a few seconds behind at most when the "
          "import ends; views B/event <= store B/event")


def postgres_import(data: Path, args: argparse.Namespace) -> dict[str, Any]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    sep = "&" if "?" in args.postgres_url else "?"
    try:
        return tracker_import(data, f"{args.postgres_url}{sep}schema={schema}", args.redis_url,
                              alongside=True)
    finally:
        import psycopg
        from psycopg import sql

        from tracker.config import eventsourcing_env

        env = eventsourcing_env(args.postgres_url)
        with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                             port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                             password=env["POSTGRES_PASSWORD"] or None,
                             autocommit=True) as conn:
            for name in (schema, f"{schema}_views"):
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(name)))


if __name__ == "__main__":
    main()
