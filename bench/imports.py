"""Import benchmark: end-to-end dataset import vs. plain CSV -> sqlite3, in one run.

    python -m bench.imports [--file ../shared/data/acled_Burkina_Faso.csv] [--scale 10]

The ACLED export is copied `--scale` times into a temporary file (event ids suffixed so every
row is a new event; the copy is deleted afterwards). Then, each from a fresh store:
  baseline       csv.DictReader + one row per record into a plain sqlite3 table
  sqlite-serial  `Importer` into the SQLite event store, then the SQLite views caught up
  sqlite         the same as `tracker import` does it: a helper process folds events into
                 the views while the import writes (2 cores), then the import finishes it
  postgres       `Importer` into PostgreSQL (own schema, dropped) with a follower process
                 folding into Redis views, as in production
Prints rows/s and events/s (views up to date), and each import's ratio to the baseline.
Targets: >= 5,000 rows/s on SQLite; baseline/import ratio <= 10.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

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
                   alongside: bool) -> tuple[float, int]:
    from projections.wiring import Services, tune_gc_for_batch_work
    from tracker.config import Settings
    from tracker.ingestion.importer import Importer

    settings = Settings(database_url=database_url, redis_url=redis_url,
                        redis_prefix=f"bench:{uuid.uuid4().hex[:8]}",
                        views_path=f"{tempfile.mkdtemp()}/views.sqlite")
    tune_gc_for_batch_work()  # as `tracker import` does
    services = Services.from_settings(settings)
    started = time.perf_counter()
    if alongside:
        with services.projecting_alongside():
            summary = Importer(services.tracker, "acled").run(path)
    else:
        summary = Importer(services.tracker, "acled").run(path)
        services.runner.catch_up()
    elapsed = time.perf_counter() - started
    assert max(services.runner.lag().values()) == 0, "the views are not up to date"
    if redis_url:
        services.store.drop_everything()  # type: ignore[attr-defined]
    services.close()
    return elapsed, summary.events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--postgres-url", default=os.environ.get(
        "TRACKER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis-url", default=os.environ.get(
        "TRACKER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"))
    args = parser.parse_args()
    if not args.file.is_file():
        raise SystemExit(f"{args.file}: not found (the real exports live in ../shared/data)")
    with tempfile.TemporaryDirectory(prefix="tracker-import-bench-") as tmp:
        tmpdir = Path(tmp)
        data = tmpdir / "scaled.csv"
        rows = scaled_copy(args.file, args.scale, data)
        base = baseline(data, tmpdir / "baseline.sqlite")
        results = {"baseline": (base, rows)}
        results["sqlite-serial"] = tracker_import(
            data, f"sqlite:///{tmpdir}/serial.sqlite", None, alongside=False)
        results["sqlite"] = tracker_import(
            data, f"sqlite:///{tmpdir}/events.sqlite", None, alongside=True)
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        sep = "&" if "?" in args.postgres_url else "?"
        try:
            results["postgres"] = tracker_import(
                data, f"{args.postgres_url}{sep}schema={schema}", args.redis_url,
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
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(schema)))
    print(f"{rows:,} rows ({args.file.name} x {args.scale}, ids made unique)")
    print(f"{'run':<14} {'seconds':>8} {'rows/s':>9} {'events/s':>9} {'baseline/run':>13}")
    for name, (seconds, events) in results.items():
        ratio = (rows / base) / (rows / seconds)
        events_rate = f"{events / seconds:>9,.0f}" if name != "baseline" else f"{'-':>9}"
        print(f"{name:<14} {seconds:>8.2f} {rows / seconds:>9,.0f} {events_rate} {ratio:>13.1f}")
    print("targets: >= 5,000 rows/s on SQLite (views up to date); baseline/run ratio <= 10")


if __name__ == "__main__":
    main()
