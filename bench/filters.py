"""Filter benchmark: the datasets' attribute and region filters over a large incidents table.

    python -m bench.filters [--rows 1000000] [--views-url postgresql://…?schema=…]

Writes N incident rows straight into a fresh read model's incidents table (no event log:
this measures the queries, not the fold), ACLED-like: interaction codes, disorder types and
civilian targeting on 90% of the rows with realistic skew, UCDP dyads and conflicts on the
other 10%, regions with admin2. Then, per filter, times the first page of /incidents (50
rows), a whole filtered casualty tally and how many rows match, median of 5 runs.
Target (issue 20): a filter never scans the documents; a rare value's first page and
tally cost milliseconds, not a walk of the table.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from projections.views.incidents import DATASET_COLUMNS

INTERACTIONS = ["27", "60", "12", "37", "17", "50", "13", "10", "23", "28", "11", "18"]
DISORDER = ["Political violence", "Demonstrations", "Strategic developments",
            "Political violence; Demonstrations"]
COUNTRIES = [("Burkina Faso", ["Centre", "Sahel", "Est", "Nord"]),
             ("Mali", ["Mopti", "Menaka", "Gao", "Centre"]),
             ("Cameroon", ["Centre", "Nord", "Extreme-Nord"])]


def rows(start: int, end: int, n: int, seed: int = 7) -> list[list[object]]:
    """Rows start..end of n (seeded per chunk: the same table whatever the chunking)."""
    rng = random.Random(seed * 1_000_003 + start)
    out: list[list[object]] = []
    for i in range(start, end):
        country, regions = COUNTRIES[i % len(COUNTRIES)]
        admin1 = regions[rng.randrange(len(regions))]
        admin2 = f"{admin1}-{rng.randrange(20)}"
        day = f"{1997 + i * 24 // n:04d}-{1 + i % 12:02d}-{1 + i % 28:02d}"
        best = rng.choice((0, 0, 0, 1, 2, 3, 5, 10))
        if i % 10:  # ACLED-like
            attrs = [rng.choices(INTERACTIONS, weights=range(len(INTERACTIONS), 0, -1))[0],
                     rng.choice(DISORDER).casefold(),
                     "civilian targeting" if rng.random() < 0.2 else None,
                     None, None, None, None, None]
        else:  # UCDP-like
            dyad = rng.randrange(2000)
            attrs = [None, None, None, str(rng.choice((1, 2, 3))), str(dyad),
                     f"government - group {dyad}", str(dyad // 4), f"conflict {dyad // 4}"]
        key = f"syn-{i}"
        doc = (f'{{"id":"{key}","details":{{"date":"{day}","type":"battle","location":'
               f'{{"name":"p","country":"{country}","admin1":"{admin1}",'
               f'"admin2":"{admin2}"}}}},"figures":{{}},"sources":["S"],"retracted":null}}')
        out.append([f"{i:032x}", 1, None, key, 1, day, "battle", None, country,
                    country.casefold(), admin1, admin1.casefold(), admin2, admin2.casefold(),
                    None, None, None, best, best, best, None, None, *attrs, doc])
    return out


def build(url: str, n: int) -> None:
    from projections.readmodel.store import ReadModelStore

    store = ReadModelStore(url)
    gen = store.new_generation()
    columns = ["oid", "valid_from", "valid_to", "key", "live", "date", "type", "subtype",
               "country", "country_k", "admin1", "admin1_k", "admin2", "admin2_k",
               "operation", "latitude", "longitude", "best", "low", "high", "civilians",
               "wounded", *DATASET_COLUMNS, "doc"]
    name = f"g{gen}_incidents"
    with store.writing(gen, bulk=True) as (conn, _):
        for start in range(0, n, 50_000):
            data = rows(start, min(n, start + 50_000), n)
            if store.can_copy:
                store.copy_rows(conn, name, columns, data)
            else:
                marks = ", ".join("?" * len(columns))
                store.execute_rows(conn, f"INSERT INTO {name} ({', '.join(columns)}) "
                                         f"VALUES ({marks})", data)
        store.set_position(conn, gen, 1)
    store.create_indexes(gen)
    store.activate(gen)
    store.close()


def timed(fn: object, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--views-url", default=None)
    args = parser.parse_args()
    from projections.readmodel.queries import IncidentFilter, open_views
    from projections.readmodel.store import ReadModelStore

    folder = Path(tempfile.mkdtemp(prefix="bench-filters-"))
    url = args.views_url or f"sqlite:///{folder / 'views.sqlite'}"
    started = time.perf_counter()
    build(url, args.rows)
    print(f"{args.rows:,} incident rows written and indexed in "
          f"{time.perf_counter() - started:.1f} s ({url.split('?')[0]})")
    store = ReadModelStore(url)
    cases = [
        ("interaction=27 (common)", IncidentFilter(interaction="27")),
        ("interaction=18 (rare)", IncidentFilter(interaction="18")),
        ("disorder_type=demonstrations", IncidentFilter(disorder_type="Demonstrations")),
        ("civilian_targeting", IncidentFilter(civilian_targeting="Civilian targeting")),
        ("type_of_violence=2", IncidentFilter(type_of_violence="2")),
        ("dyad=1234 (id)", IncidentFilter(dyad="1234")),
        ("dyad=<name>", IncidentFilter(dyad="Government - group 1234")),
        ("conflict_name=<name>", IncidentFilter(conflict_name="conflict 77")),
        ("admin1=Centre", IncidentFilter(admin1="Centre")),
        ("admin1=Mali / Centre", IncidentFilter(admin1="Mali / Centre")),
        ("admin2=Sahel-3", IncidentFilter(admin2="Sahel-3")),
        ("interaction=18, from 2015", IncidentFilter(interaction="18",
                                                     date_from=__import__("datetime").date(
                                                         2015, 1, 1))),
    ]
    print(f"{'filter':<32} {'matching':>9} {'page ms':>8} {'tally ms':>9}")
    with open_views(store) as views:
        for label, f in cases:
            tally = views.casualties("country", f)
            matching = sum(r["incidents"] for r in tally["rows"])
            page = timed(lambda f=f: views.incidents(f, limit=50))
            whole = timed(lambda f=f: views.casualties("admin1", f), runs=3)
            print(f"{label:<32} {matching:>9,} {page:>8.1f} {whole:>9.1f}")
    store.close()


if __name__ == "__main__":
    main()
