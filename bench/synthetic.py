"""Deterministic synthetic fact reports: incidents, casualty figures from several sources,
corrections, roles and deaths, with a fixed seed. Used by the benchmarks and by tests that
need a log bigger than the seed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

COUNTRIES = {
    "Mali": ["Mopti", "Menaka", "Gao", "Timbuktu", "Segou", "Kidal"],
    "Burkina Faso": ["Sahel", "Nord", "Est", "Centre-Nord", "Boucle du Mouhoun"],
    "Niger": ["Tillaberi", "Tahoua", "Diffa"],
}
TYPES = ["battle", "explosion_remote_violence", "violence_against_civilians", "protest", "riot",
         "strategic_development"]
SOURCES = [("Ministry", "official"), ("Wire", "media"), ("Monitor", "ngo"),
           ("Local partner", "local_partner")]


def synthetic_reports(events: int, seed: int = 7, facts_per_report: int = 1000,
                      prefix: str = "syn") -> Iterator[dict[str, Any]]:
    """Reports adding up to roughly `events` events (one per fact, plus one per report and
    one per role a death ends)."""
    rng = random.Random(seed)
    groups = [f"{prefix}-group-{i}" for i in range(60)]
    forces = [f"{prefix}-force-{i}" for i in range(6)]
    persons = [f"{prefix}-person-{i}" for i in range(600)]
    facts: list[dict[str, Any]] = (
        [{"fact": "actor", "id": g, "name": f"Group {i}", "kind": "armed_group"}
         for i, g in enumerate(groups)]
        + [{"fact": "actor", "id": f, "name": f"Force {i}", "kind": "state_force"}
           for i, f in enumerate(forces)]
        + [{"fact": "actor", "id": p, "name": f"Person {i}", "kind": "person"}
           for i, p in enumerate(persons)]
    )
    yield {"report": f"{prefix}-actors", "source": {"name": "Registry", "kind": "analyst"},
           "facts": facts}
    produced = len(facts) + 1
    incidents: list[str] = []
    alive = list(persons)
    number = 0
    while produced < events:
        number += 1
        source, kind = SOURCES[number % len(SOURCES)]
        facts = []
        while len(facts) < facts_per_report and produced + len(facts) < events:
            roll = rng.random()
            if roll < 0.55 or not incidents:
                key = f"{prefix}-inc-{len(incidents)}"
                incidents.append(key)
                country = rng.choice(list(COUNTRIES))
                day = date(2018, 1, 1) + timedelta(days=rng.randrange(1200))
                facts.append({
                    "fact": "incident", "id": key, "date": day.isoformat(),
                    "type": rng.choice(TYPES),
                    "location": {"name": f"Place {rng.randrange(400)}", "country": country,
                                 "admin1": rng.choice(COUNTRIES[country])},
                    "actors": [{"actor": rng.choice(forces), "side": "a"},
                               {"actor": rng.choice(groups), "side": "b"}]})
                facts.append({"fact": "casualties", "incident": key,
                              "killed": rng.randrange(0, 40)})
            elif roll < 0.75:
                facts.append({"fact": "casualties", "incident": rng.choice(incidents),
                              "killed": rng.randrange(0, 60)})
            elif roll < 0.85:
                target = rng.choice(incidents)
                country = rng.choice(list(COUNTRIES))
                facts.append({"fact": "correction", "target": {"incident": target},
                              "field": "location.admin1",
                              "value": rng.choice(COUNTRIES[country]),
                              "reason": "region corrected"})
            elif roll < 0.95 and alive:
                facts.append({"fact": "role", "person": rng.choice(alive),
                              "group": rng.choice(groups),
                              "role": rng.choice(["leader", "deputy", "military_commander"])})
            elif alive:
                person = alive.pop(rng.randrange(len(alive)))
                facts.append({"fact": "death", "person": person,
                              "date": (date(2018, 1, 1) + timedelta(days=rng.randrange(1200)))
                              .isoformat(), "incident": rng.choice(incidents)})
        # Several facts of one report on one incident still count once per fact.
        produced += len(facts) + 1
        yield {"report": f"{prefix}-{number}", "source": {"name": source, "kind": kind},
               "facts": facts}


def cached_log(events: int, seed: int = 7) -> str:
    """A SQLite event store holding the synthetic log of about `events` events, built once
    and kept under $TRACKER_BENCH_CACHE (default: the system's temp folder) for later runs;
    returns its URL. Building a million events takes a few minutes."""
    import os
    import tempfile
    import time
    from pathlib import Path

    from api.services import build_tracker
    from tracker.config import Settings

    folder = Path(os.environ.get("TRACKER_BENCH_CACHE")
                  or Path(tempfile.gettempdir()) / "tracker-bench-cache")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"events-{events}-{seed}.sqlite"
    done = path.with_suffix(".done")
    if not done.exists():
        for stale in folder.glob(f"{path.stem}*"):
            stale.unlink()
        tracker = build_tracker(Settings(database_url=f"sqlite:///{path}"))
        started = time.perf_counter()
        for report in synthetic_reports(events, seed=seed):
            tracker.record_report(report, recorded_by="bench")
        head = tracker.max_position()
        tracker.close()
        print(f"built a log of {head:,} events in {time.perf_counter() - started:.0f}s "
              f"({path})", flush=True)
        done.write_text(str(head))
    return f"sqlite:///{path}"
