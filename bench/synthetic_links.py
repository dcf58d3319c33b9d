"""Two synthetic sources of one war, with known true pairs: an ACLED-like and a UCDP-like
source coding the same events their own way (dates jittered by a day, coordinates a few km
apart, actor names in each dataset's style, figures varied), plus events only one of them
has, and decoys: other events near a true one in space and time (another group, another kind
of violence, or very different figures). Deterministic for a seed. Used by the linking
tests and bench/links.py."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

COUNTRIES = [("Mali", -4.0, 15.0), ("Burkina Faso", -1.5, 12.5), ("Niger", 6.0, 14.5),
             ("Nigeria", 8.0, 10.5), ("Chad", 17.0, 13.0), ("Central African Republic",
                                                               20.5, 6.5)]
GROUPS = [("JNIM", "Group for Support of Islam and Muslims"), ("ISGS", "Islamic State Sahel"),
          ("MNLA", "National Movement for the Liberation of Azawad"),
          ("FPRC", "Popular Front for the Renaissance of Central Africa"),
          ("UPC", "Union for Peace in Central Africa"), ("ISWAP", "Islamic State West Africa"),
          ("CPC", "Coalition of Patriots for Change"), ("MPC", "Patriotic Movement for CAR"),
          ("FACT", "Front for Change and Concord in Chad"), ("3R", "Return Reclamation "
                                                                 "Rehabilitation")]
GROUPS += [(f"G{i}", f"Armed Movement Number {i}") for i in range(10, 40)]
FAMILIES = ("state", "nonstate", "onesided")
A_SOURCE, B_SOURCE = "ACLED-like", "UCDP-like"
START = date(2018, 1, 1)
DAYS = 1460


@dataclass
class Synthetic:
    reports: list[dict[str, Any]] = field(default_factory=list)
    true_pairs: set[frozenset[str]] = field(default_factory=set)
    a_ids: list[str] = field(default_factory=list)
    b_ids: list[str] = field(default_factory=list)


def _move(lat: float, lon: float, km: float, rng: random.Random) -> tuple[float, float]:
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = km * math.cos(bearing) / 111.2
    dlon = km * math.sin(bearing) / (111.2 * math.cos(math.radians(lat)))
    return round(lat + dlat, 5), round(lon + dlon, 5)


class _World:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.actors: dict[str, dict[str, Any]] = {}

    def actor(self, source: str, name: str, kind: str) -> str:
        key = f"{'a' if source == A_SOURCE else 'b'}:" + "-".join(
            "".join(c if c.isalnum() else " " for c in name.casefold()).split())
        self.actors.setdefault(key, {"fact": "actor", "id": key, "name": name, "kind": kind})
        return key

    def event(self) -> dict[str, Any]:
        rng = self.rng
        country, lon, lat = rng.choice(COUNTRIES)
        lat, lon = _move(lat, lon, rng.uniform(0, 300), rng)
        family = rng.choices(FAMILIES, weights=(5, 2, 3))[0]
        g, h = rng.sample(range(len(GROUPS)), 2)
        killed = min(500, int(rng.expovariate(1 / 8)))
        return {"country": country, "lat": lat, "lon": lon, "family": family, "g": g, "h": h,
                "day": rng.randrange(DAYS), "killed": killed}

    def a_record(self, key: str, e: dict[str, Any], jitter: bool) -> list[dict[str, Any]]:
        """An ACLED-style record of event `e`."""
        rng = self.rng
        day = START + timedelta(days=e["day"] + (rng.choice((-1, 0, 0, 1)) if jitter else 0))
        lat, lon = _move(e["lat"], e["lon"], rng.uniform(0, 4) if jitter else 0, rng)
        c = e["country"]
        state = self.actor(A_SOURCE, f"Military Forces of {c} (2016-)", "state_force")
        acr, long = GROUPS[e["g"]]
        group = self.actor(A_SOURCE, f"{acr}: {long}", "armed_group")
        if e["family"] == "state":
            kind, subtype, inter = rng.choice((("battle", "Armed clash", "12"),
                                               ("battle", "Armed clash", "12"),
                                               ("explosion_remote_violence",
                                                "Air/drone strike", "12")))
            actors = [(state, "a"), (group, "b")]
        elif e["family"] == "nonstate":
            acr2, long2 = GROUPS[e["h"]]
            other = self.actor(A_SOURCE, f"{acr2}: {long2}", "armed_group")
            kind, subtype, inter = "battle", "Armed clash", "22"
            actors = [(group, "a"), (other, "b")]
        else:
            civ = self.actor(A_SOURCE, f"Civilians ({c})", "civilians")
            kind, subtype, inter = "violence_against_civilians", "Attack", "27"
            actors = [(group, "a"), (civ, "b")]
        killed = max(0, round(e["killed"] * rng.uniform(0.7, 1.3))) if jitter else e["killed"]
        precision = rng.choices((1, 2, 3), weights=(70, 25, 5))[0]
        incident = {"fact": "incident", "id": key, "date": day.isoformat(), "type": kind,
                    "subtype": subtype,
                    "date_precision": rng.choices(("day", "week"), weights=(92, 8))[0],
                    "location": {"name": f"Place {abs(hash((lat, lon))) % 9973}",
                                 "country": c, "admin1": f"Region {int(lat)}",
                                 "latitude": lat, "longitude": lon,
                                 "geo_precision": precision},
                    "actors": [{"actor": a, "side": s} for a, s in actors],
                    "attributes": {"interaction": inter}}
        return [incident, {"fact": "casualties", "incident": key, "killed": killed}]

    def b_record(self, key: str, e: dict[str, Any], jitter: bool) -> list[dict[str, Any]]:
        """A UCDP-style record of event `e`."""
        rng = self.rng
        day = START + timedelta(days=e["day"])
        lat, lon = _move(e["lat"], e["lon"], rng.uniform(0, 4) if jitter else 0, rng)
        c = e["country"]
        acr, _ = GROUPS[e["g"]]
        group = self.actor(B_SOURCE, acr, "armed_group")
        if e["family"] == "state":
            actors = [(self.actor(B_SOURCE, f"Government of {c}", "government"), "a"),
                      (group, "b")]
            subtype = "state-based conflict"
        elif e["family"] == "nonstate":
            actors = [(group, "a"), (self.actor(B_SOURCE, GROUPS[e["h"]][0], "armed_group"),
                                     "b")]
            subtype = "non-state conflict"
        else:
            actors = [(group, "a"), (self.actor(B_SOURCE, "Civilians", "civilians"), "b")]
            subtype = "one-sided violence"
        best = e["killed"]
        incident: dict[str, Any] = {
            "fact": "incident", "id": key, "date": day.isoformat(),
            "type": "violence_against_civilians" if e["family"] == "onesided" else "battle",
            "subtype": subtype, "date_precision": "day",
            "location": {"name": f"Site {abs(hash((lon, lat))) % 9973}", "country": c,
                         "admin1": f"Province {int(lon)}", "latitude": lat, "longitude": lon,
                         "geo_precision": rng.choices((1, 2, 3), weights=(60, 30, 10))[0]},
            "actors": [{"actor": a, "side": s} for a, s in actors]}
        if rng.random() < 0.08:
            incident["date_end"] = (day + timedelta(days=rng.randint(1, 2))).isoformat()
            incident["date_precision"] = "week"
        return [incident, {"fact": "casualties", "incident": key, "killed": best,
                           "low": max(0, best - rng.randint(0, 3)),
                           "high": best + rng.randint(0, 5)}]


def two_sources(n: int, seed: int = 19, true_share: float = 0.6, decoy_share: float = 0.3,
                batch: int = 1000, prefix: str = "") -> Synthetic:
    """About `n` records per source: `true_share` of them pairs of one event; near
    `decoy_share` of the true events another A record of a different event (a decoy);
    the rest events only one source has."""
    rng = random.Random(seed)
    world = _World(rng)
    out = Synthetic()
    a_facts: list[dict[str, Any]] = []
    b_facts: list[dict[str, Any]] = []
    true = int(n * true_share)
    decoys = int(true * decoy_share)
    for i in range(true):
        e = world.event()
        a, b = f"{prefix}a:{i}", f"{prefix}b:{i}"
        a_facts += world.a_record(a, e, jitter=True)
        b_facts += world.b_record(b, e, jitter=True)
        out.true_pairs.add(frozenset((a, b)))
        out.a_ids.append(a)
        out.b_ids.append(b)
        if i < decoys:
            near = dict(e)
            near["lat"], near["lon"] = _move(e["lat"], e["lon"], rng.uniform(2, 20), rng)
            near["day"] += rng.choice((-1, 0, 1))
            near["killed"] = min(500, int(rng.expovariate(1 / 8)))  # its own toll
            change = i % 3
            if change == 0:  # another group
                near["g"], near["h"] = rng.sample([g for g in range(len(GROUPS))
                                                   if g not in (e["g"], e["h"])], 2)
            elif change == 1:  # another kind of violence
                near["family"] = rng.choice([f for f in FAMILIES if f != e["family"]])
            else:  # another group and figures far apart
                near["g"], near["h"] = rng.sample([g for g in range(len(GROUPS))
                                                   if g not in (e["g"], e["h"])], 2)
                near["killed"] = e["killed"] * 5 + 20
            key = f"{prefix}a:d{i}"
            a_facts += world.a_record(key, near, jitter=False)
            out.a_ids.append(key)
    for i in range(n - true - decoys):
        key = f"{prefix}a:o{i}"
        a_facts += world.a_record(key, world.event(), jitter=False)
        out.a_ids.append(key)
    for i in range(n - true):
        key = f"{prefix}b:o{i}"
        b_facts += world.b_record(key, world.event(), jitter=False)
        out.b_ids.append(key)
    out.reports += _reports(f"{prefix}syn-link-actors", list(world.actors.values()),
                            [(f"{prefix}{A_SOURCE}", A_SOURCE, a_facts),
                             (f"{prefix}{B_SOURCE}", B_SOURCE, b_facts)], batch)
    return out


def _reports(actors_id: str, actors: list[dict[str, Any]],
             sources: list[tuple[str, str, list[dict[str, Any]]]], batch: int
             ) -> list[dict[str, Any]]:
    """The reports recording synthetic records: their actors (a registry's), then each
    source's facts, `batch` facts a report (ids `<prefix>-<n>`)."""
    reports = [{"report": actors_id, "source": {"name": "Registry", "kind": "analyst"},
                "facts": actors}]
    for prefix, name, facts in sources:
        reports += [{"report": f"{prefix}-{n}",
                     "source": {"name": name, "kind": "dataset", "published": "2022-06-01"},
                     "facts": chunk} for n, chunk in enumerate(_chunks(facts, batch))]
    return reports


def _chunks(facts: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(facts), size):
        yield facts[start:start + size]


def precision_recall(found: list[tuple[str, str]], truth: set[frozenset[str]]
                     ) -> tuple[float, float]:
    got = {frozenset(p) for p in found}
    hits = len(got & truth)
    return (hits / len(got) if got else 1.0), (hits / len(truth) if truth else 1.0)


def _ucdp_name(acled_name: str) -> tuple[str, str]:
    """An ACLED actor as UCDP names and kinds it: a state's forces are its government, a
    group its acronym ("JNIM: Group for…" -> "JNIM"), civilians plain "Civilians", any
    other name without its parenthesis ("Islamic State (Greater Sahara)" -> "Islamic
    State")."""
    name = acled_name.strip()
    if name.startswith(("Military Forces of ", "Police Forces of ")):
        country = name.split(" of ", 1)[1].split(" (", 1)[0]
        return f"Government of {country}", "government"
    if name.startswith("Civilians"):
        return "Civilians", "civilians"
    if ":" in name:
        return name.split(":", 1)[0].strip(), "armed_group"
    return name.split(" (", 1)[0].strip(), "armed_group"


def ucdp_copy(acled_csv: str, share: float = 0.5, seed: int = 23, batch: int = 1000
              ) -> Synthetic:
    """A UCDP-style second source for a real ACLED export: `share` of its deadly events
    (fatalities > 0) coded again as UCDP codes them — the date moved by a day or not,
    the place 0-5 km away, actors by UCDP's names, the type of violence for ACLED's
    event types, the toll times 0.7-1.4 with a low-high range. `true_pairs` pairs each
    copy with its ACLED incident (`acled:<event_id_cnty>`, as `tracker import acled`
    names it); `a_ids` are the ACLED incidents, `b_ids` the copies. The reports hold only
    the copies (and their actors): import the export itself first."""
    import csv

    rng = random.Random(seed)
    out = Synthetic()
    actors: dict[str, dict[str, Any]] = {}
    facts: list[dict[str, Any]] = []

    def actor(name: str) -> str:
        ucdp, kind = _ucdp_name(name)
        key = "u:" + "-".join("".join(c if c.isalnum() else " "
                                      for c in ucdp.casefold()).split())
        actors.setdefault(key, {"fact": "actor", "id": key, "name": ucdp, "kind": kind})
        return key

    with open(acled_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        out.a_ids.append(f"acled:{row['event_id_cnty'].strip()}")
    deadly = [r for r in rows if int(r["fatalities"] or 0) > 0]
    for i, row in enumerate(sorted(rng.sample(deadly, int(len(deadly) * share)),
                                   key=lambda r: r["event_id_cnty"])):
        key = f"ucdp-copy:{i}"
        day = (datetime.strptime(row["event_date"].strip(), "%d %B %Y").date()
               + timedelta(days=rng.choice((-1, 0, 0, 1))))
        lat, lon = _move(float(row["latitude"]), float(row["longitude"]),
                         rng.uniform(0, 5), rng)
        names = [n for n in (row["actor1"], row["actor2"]) if n.strip()]
        sides = [(actor(n), side) for n, side in zip(names, "ab", strict=False)]
        kinds = {actors[a]["kind"] for a, _ in sides}
        if "civilians" in kinds or row["event_type"] == "Violence against civilians":
            kind, subtype = "violence_against_civilians", "one-sided violence"
        elif "government" in kinds:
            kind, subtype = "battle", "state-based conflict"
        else:
            kind, subtype = "battle", "non-state conflict"
        killed = int(row["fatalities"])
        best = max(1, round(killed * rng.uniform(0.7, 1.4)))
        facts += [
            {"fact": "incident", "id": key, "date": day.isoformat(), "type": kind,
             "subtype": subtype, "date_precision": "day",
             "location": {"name": f"{row['location']} village", "country": row["country"],
                          "admin1": f"{row['admin1']} region", "latitude": lat,
                          "longitude": lon,
                          "geo_precision": rng.choices((1, 2, 3), weights=(60, 30, 10))[0]},
             "actors": [{"actor": a, "side": s} for a, s in sides]},
            {"fact": "casualties", "incident": key, "killed": best,
             "low": max(0, best - rng.randint(0, 3)), "high": best + rng.randint(0, 5)}]
        out.b_ids.append(key)
        out.true_pairs.add(frozenset((f"acled:{row['event_id_cnty'].strip()}", key)))
    out.reports += _reports("ucdp-copy-actors", list(actors.values()),
                            [("ucdp-copy", B_SOURCE, facts)], batch)
    return out
