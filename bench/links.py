"""Linking benchmark: link suggest + accept over two synthetic sources vs. reading their
incident rows, in one run.

    python -m bench.links [--records 50000] [--postgres URL] [--thresholds 0.6,0.7,0.8]
    python -m bench.links --acled ../shared/data/acled_Burkina_Faso.csv [--thresholds …]

Builds two sources of --records records each (bench.synthetic_links: known true pairs with
dates jittered by a day, coordinates a few km apart, names and figures varied, plus decoys
near true events and events only one source has) into a fresh store (embedded SQLite by
default; --postgres URL for PostgreSQL, a schema of its own), then measures:
  read     the rows the search reads: every live record's row (SELECT) + orjson of its
           document — the floor of anything that looks at the two sets
  suggest  `tracker link suggest`'s query at the defaults (read, index, score, choose)
  accept   recording the candidates as one report of same_incident links, the views
           caught up (embedded mode: in process)
`--acled FILE` uses a real ACLED export instead: imported as `tracker import acled` does,
with a UCDP-style copy of half its deadly events as the second source
(bench.synthetic_links.ucdp_copy: dates moved by a day or not, 0-5 km away, UCDP's names
and coding, tolls x0.7-1.4); the true pairs are each copy and its row.
`--thresholds` also prints precision and recall at each of those minimum scores (the same
search again, untimed; docs/linking.md quotes `--records 5000 --thresholds 0.6,0.7,0.8`).
Prints precision and recall against the known pairs, each phase's time (and this
process's CPU time: on a shared machine the steadier figure; PostgreSQL's own work is not
in it), and (suggest + accept) / read. Targets (issue 19): precision >= 0.95, recall >= 0.90 at the
default threshold; suggest + accept <= 10x read.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import orjson


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000, help="records per source")
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL (else SQLite)")
    parser.add_argument("--thresholds", type=_scores, default=[],
                        help="minimum scores to report precision and recall at, e.g. "
                             "0.6,0.7,0.8 (untimed)")
    parser.add_argument("--acled", default=None,
                        help="a real ACLED export and a UCDP-style copy of half its deadly "
                             "events, instead of the synthetic sources")
    args = parser.parse_args()

    from api.linking import link_report
    from api.services import Services, tune_gc_for_batch_work
    from bench.synthetic_links import precision_recall, two_sources, ucdp_copy
    from projections.linking import LinkParams
    from projections.readmodel.queries import IncidentFilter
    from tracker.config import Settings

    tune_gc_for_batch_work()
    with tempfile.TemporaryDirectory() as tmp:
        schema = None
        if args.postgres:
            schema = f"bench_links_{uuid.uuid4().hex[:8]}"
            url = f"{args.postgres}{'&' if '?' in args.postgres else '?'}schema={schema}"
            settings = Settings(database_url=url)
        else:
            settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'events.sqlite'}")
        services = Services.from_settings(settings)
        t0 = time.perf_counter()
        if args.acled:
            from tracker.ingestion.importer import Importer

            Importer(services.tracker, "acled").run(args.acled)
            syn = ucdp_copy(args.acled)
        else:
            syn = two_sources(args.records, batch=2000)
        for report in syn.reports:
            services.tracker.record_report(report, recorded_by="bench")
        services.runner.catch_up()
        print(f"setup: {len(syn.a_ids)} + {len(syn.b_ids)} records, {len(syn.true_pairs)} "
              f"true pairs, recorded and folded in {time.perf_counter() - t0:.1f} s")

        # As `tracker link suggest` and `tracker link accept` run: in a process that does not
        # hold the synthetic sources. What the setup left alive is frozen out of the
        # collector's traversals (as tune_gc_for_batch_work does at a batch process's start);
        # otherwise every collection during the phases walks it (suggest: 3.4 s in a fresh
        # process, 5.1 s after this setup).
        gc.collect()
        gc.freeze()
        reads_before = _reads(services)
        cpu = {}  # this process's CPU seconds per phase: on a shared machine, steadier
        with services.views(None) as views:
            t, c = time.perf_counter(), time.process_time()
            rows = views.link_rows(IncidentFilter())
            fetched = time.perf_counter() - t
            for row in rows:
                orjson.loads(row[4])
            read = time.perf_counter() - t
            cpu["read"] = time.process_time() - c
            del rows
            t, c = time.perf_counter(), time.process_time()
            found = views.link_candidates()
            suggest = time.perf_counter() - t
            cpu["suggest"] = time.process_time() - c
            at_threshold = {
                score: precision_recall(
                    [(c["incident"], c["other"]) for c in views.link_candidates(
                        params=LinkParams(min_score=score))["candidates"]],
                    syn.true_pairs)
                for score in args.thresholds}
        pairs = [(c["incident"], c["other"]) for c in found["candidates"]]
        precision, recall = precision_recall(pairs, syn.true_pairs)
        t, c = time.perf_counter(), time.process_time()
        # What Services.record_report does, in two steps to time them apart.
        result = services.tracker.record_report(
            link_report(found["candidates"], found["method"]), recorded_by="bench")
        recorded = time.perf_counter() - t
        services.after_write()
        services.runner.catch_up()  # folded in the timing, whatever the projection mode
        accept = time.perf_counter() - t
        cpu["accept"] = time.process_time() - c
        assert result.recorded
        reads_after = _reads(services)
        with services.views(None) as views:
            counted = sum(r["incidents"] for r in views.casualties("country")["rows"])
        print(f"records searched   {found['records']}")
        print(f"candidates         {len(pairs)} (true pairs {len(syn.true_pairs)})")
        print(f"precision          {precision:.4f}   (target >= 0.95)")
        print(f"recall             {recall:.4f}   (target >= 0.90)")
        for score, (p_at, r_at) in at_threshold.items():
            print(f"  at min_score {score:g}: precision {p_at:.4f}, recall {r_at:.4f}")
        print(f"read rows          {read:6.2f} s   (of which SELECT {fetched:.2f} s; "
              f"CPU {cpu['read']:.2f} s)")
        print(f"suggest            {suggest:6.2f} s   (CPU {cpu['suggest']:.2f} s)")
        print(f"accept             {accept:6.2f} s   ({len(pairs)} links: recorded in "
              f"{recorded:.2f} s, folded in {accept - recorded:.2f} s; CPU {cpu['accept']:.2f} s)")
        print(f"(suggest+accept)/read  {(suggest + accept) / read:.1f}x   (target <= 10x; "
              f"in CPU seconds {(cpu['suggest'] + cpu['accept']) / cpu['read']:.1f}x)")
        merged = _merged(pairs)
        print(f"incidents counted after accept: {counted} (each cluster once: "
              f"{found['records']} records - {merged} merged away by {len(pairs)} links = "
              f"{found['records'] - merged}: {counted == found['records'] - merged})")
        print("reads in process, p99 ms (p50): before links -> after links")
        for name in reads_before:
            b, a = reads_before[name], reads_after[name]
            print(f"  {name:<28} {b[1]:6.1f} ({b[0]:.1f}) -> {a[1]:6.1f} ({a[0]:.1f})")
        services.close()
        if schema:
            _drop(args.postgres, schema)


def _reads(services: object, n: int = 200) -> dict[str, tuple[float, float]]:
    """p50 and p99 (ms) of the reads linking must not slow: a tally, the first and a deep
    incidents page, and the tally as of a moment before the last report."""
    import statistics

    from projections.readmodel.queries import IncidentFilter

    queries = {
        "casualties by country": lambda v: v.casualties("country"),
        "casualties by actor": lambda v: v.casualties("actor"),
        "incidents, first page": lambda v: v.incidents(IncidentFilter(), limit=50),
        "incidents, Mali, 2019": lambda v: v.incidents(IncidentFilter(
            country="Mali", date_from=_day("2019-01-01"), date_to=_day("2019-12-31"))),
    }
    out = {}
    for name, query in queries.items():
        times = []
        for _ in range(n):
            t = time.perf_counter()
            with services.views(None) as views:  # type: ignore[attr-defined]
                query(views)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        out[name] = (statistics.median(times), times[int(0.99 * (n - 1))])
    return out


def _merged(pairs: list[tuple[str, str]]) -> int:
    """How many records the pairs, linked transitively, merge away: each cluster of k
    records counts once, so k - 1 (one-to-one pairs: one each; a record in two pairs, or
    a pair closing a cycle, makes it fewer than the pairs)."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    merged = 0
    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[ra] = rb
            merged += 1
    return merged


def _scores(text: str) -> list[float]:
    """'0.6,0.7,0.8' -> [0.6, 0.7, 0.8], each within 0..1."""
    try:
        scores = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not all(0 <= s <= 1 for s in scores):
        raise argparse.ArgumentTypeError(f"scores must be within 0..1: {text!r}")
    return scores


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _drop(url: str, schema: str) -> None:
    """Drops the run's schemas (the store's and its views')."""
    import psycopg
    from psycopg import sql

    from tracker.config import eventsourcing_env

    env = eventsourcing_env(url)
    with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                         port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                         password=env["POSTGRES_PASSWORD"] or None, autocommit=True) as conn:
        for name in (schema, f"{schema}_views"):
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(name)))


if __name__ == "__main__":
    main()
