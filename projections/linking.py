"""Candidate same-event pairs across sources: pure scoring and blocking (no store access).

`candidates(records, params)` takes the incident records of the views (`LinkRecord`, one per
live row: a standalone record or a cluster) and returns the scored pairs of records from
*different* sources that may be one real event, best first, chosen one-to-one (see
`choose`). The search never compares all pairs: every record is put in a space-time index
(day × grid cell, widened by its own date and geo precision) and each record looks up only
the buckets within reach, so the cost grows with the candidates, not with the product of
the sets. docs/linking.md explains the score for analysts.

The score is a weighted mean of five agreements, each 0..1 and shown with the measure it
came from (`reasons`):
- days: the gap between the two date ranges (0 when they overlap), 1 at no gap, 0.5 at the
  window's edge (`days` plus what each record's date precision allows);
- km: great-circle distance, 1 at 0 km, 0.5 at the edge (`km` plus what each record's geo
  precision allows); records without coordinates compare their admin1 / place name;
- type: event families across taxonomies (ACLED event and sub-event types with the
  interaction code, UCDP's type of violence): 1 same family, 0.8 compatible, 0 not;
- actors: the share of the smaller side's actors found on the other side, squared (one of
  two actors differing is evidence against); an actor is found when it is counted under the
  same id (`same_actor` links and aliases resolved) or when its id's, its registered name's
  or an alias's distinctive words match one of the other's; state forces and civilians are
  reduced to kinds, "unidentified" groups match any group;
- killed: how close the best figures are, given each record's low-high range.
A measure that cannot be taken (no actors, no type, no figure) is left out of the mean, not
counted as a disagreement.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

METHOD = "tracker-link-suggest"
VERSION = 1

DEFAULT_DAYS = 1
DEFAULT_KM = 25.0
DEFAULT_MIN_SCORE = 0.7
# A record may pair with a second record of another source only when that pair is this
# strong and within MARGIN of the record's best pair (e.g. a dataset that splits one event
# in two).
SECOND_PAIR_SCORE = 0.9
MARGIN = 0.05

WEIGHTS = {"days": 0.2, "km": 0.25, "type": 0.2, "actors": 0.2, "killed": 0.15}

# Days a date of this precision may be off by (each side adds its own).
DATE_SLACK = {"day": 0, "week": 6, "month": 30, "year": 183}
MAX_DATE_SLACK = 31  # vaguer dates are widened no further (they would match everything)
MAX_RANGE_DAYS = 62  # a date range longer than this is searched from its start only
# Km a location of this precision may be off by (ACLED geo_precision 1-3, UCDP where_prec
# 1-7: 1 exact place, 2 within ~25 km, 3 district, 4 province, 5+ vaguer).
GEO_SLACK = {1: 0.0, 2: 25.0, 3: 50.0, 4: 100.0, 5: 150.0, 6: 150.0, 7: 150.0}
EARTH_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_KM / 180  # along a meridian

# Event families: state-based, non-state, one-sided violence, unrest, other.
STATE, NONSTATE, ONESIDED, UNREST, OTHER = "state", "nonstate", "onesided", "unrest", "other"
UCDP_FAMILY = {"state-based conflict": STATE, "non-state conflict": NONSTATE,
               "one-sided violence": ONESIDED}
TYPE_FAMILIES: dict[str, frozenset[str]] = {
    "battle": frozenset({STATE, NONSTATE}),
    "explosion_remote_violence": frozenset({STATE, NONSTATE, ONESIDED}),
    "violence_against_civilians": frozenset({ONESIDED}),
    "riot": frozenset({UNREST}),
    "protest": frozenset({UNREST}),
    "strategic_development": frozenset({OTHER}),
}
# ACLED sub-event types that say more than their event type.
SUBTYPE_FAMILIES: dict[str, frozenset[str]] = {
    "air/drone strike": frozenset({STATE}),
    "attack": frozenset({ONESIDED}),
    "abduction/forced disappearance": frozenset({ONESIDED}),
    "sexual violence": frozenset({ONESIDED}),
    "mob violence": frozenset({UNREST, NONSTATE}),
    "violent demonstration": frozenset({UNREST}),
}
STATE_WORDS = frozenset({"military", "police", "government", "army", "gendarmerie"})
# Words of a rebel or militia's own name: an "army" with one of them is not a state's
# (Lord's Resistance Army, Sudan Liberation Army, Free Syrian Army, Arakan Army's
# "liberation" wing...), so it keeps its own words instead of matching any state force.
NONSTATE_WORDS = frozenset({"resistance", "liberation", "independence", "revolutionary",
                            "rebel", "rebels", "free", "islamic", "people", "peoples",
                            "movement", "front", "militia", "lord", "salvation", "patriotic",
                            "democratic", "insurgents", "mutineers", "arakan", "kachin"})
# Words a state force's name carries besides the country (dropped once it is a kind).
STATE_EXTRA = frozenset({"forces", "force", "national", "republic", "defence", "defense",
                         "security", "armed", "special", "presidential", "guard"})
STOP_WORDS = frozenset({"of", "the", "and", "for", "in", "de", "du", "des", "la", "le", "et",
                        "group", "unidentified", "faction"})
UNKNOWN_ACTOR = frozenset({"*"})
STATE_KIND, CIVILIANS_KIND = "<state>", "<civilians>"  # never words of a name
_HASH_TAIL = re.compile(r"-[0-9a-f]{6}$")
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class LinkParams:
    days: int = DEFAULT_DAYS
    km: float = DEFAULT_KM
    min_score: float = DEFAULT_MIN_SCORE

    def method(self) -> str:
        """What the facts' `method` says: the method, its version and its parameters."""
        return (f"{METHOD}/{VERSION} days={self.days} km={self.km:g} "
                f"min_score={self.min_score:g}")


# An actor as the comparison sees it: the id it is counted under (same_actor links and
# aliases resolved) and the distinctive words of each of its names (its id, its registered
# name, its aliases), any of which may match the other side's.
Actor = tuple[str, frozenset[frozenset[str]]]


@dataclass(slots=True)
class LinkRecord:
    """What the search needs of one record (or cluster) of the views."""

    key: str
    sources: frozenset[str]               # case-folded source names
    start: int                            # date ordinals; end >= start
    end: int
    slack: int                            # days its date precision allows
    lat: float | None
    lon: float | None
    geo_slack: float
    place: tuple[str, str] | None         # (country, admin1 or place), case-folded
    families: frozenset[str] | None
    type_label: str
    actors: tuple[Actor, ...]
    best: int
    low: int
    high: int
    members: tuple[str, ...] = ()
    # One number per distinct `actors` — records sharing them share it, so a pair's actor
    # agreement is worked out once per pair of numbers; -1: not numbered.
    actor_key: int = -1
    # Whether any live report gave it a figure (or an assessment): `best` 0 without one
    # is no figure, not a count of 0, and the figures of such a pair are not compared.
    counted: bool = True


def _ordinal(day: str | None) -> int | None:
    try:
        return date.fromisoformat(day).toordinal() if day else None
    except ValueError:
        return None


@lru_cache(maxsize=65536)  # a dataset names a few thousand actors, over and over
def actor_words(actor_id: str, country_words: frozenset[str] = frozenset()) -> frozenset[str]:
    """The distinctive words of an actor id: its dataset prefix and hash tail dropped, then
    as `name_words`."""
    text = actor_id.split(":", 1)[1] if ":" in actor_id[:12] else actor_id
    return name_words(_HASH_TAIL.sub("", text.casefold()), country_words)


@lru_cache(maxsize=65536)
def name_words(name: str, country_words: frozenset[str] = frozenset()) -> frozenset[str]:
    """The distinctive words of an actor's name: years, stop words and the country's own
    words dropped; state forces reduced to a kind (and what else their name says),
    civilians to another, "unidentified" groups to a word matching any group."""
    text = name.casefold()
    words = [w for w in _WORD.findall(text) if not w.isdigit() and w not in STOP_WORDS]
    if "unidentified" in text or "unknown" in words:
        return UNKNOWN_ACTOR  # "Unidentified Armed Group (X)": could be any group
    if "civilians" in words or "civilian" in words:
        return frozenset({CIVILIANS_KIND})
    state = [w for w in words if w in STATE_WORDS]
    if state == ["army"] and any(w in NONSTATE_WORDS for w in words):
        state = []  # a rebel army, named as such
    if state or re.search(r"\bforces? of\b", text):
        # A kind: its country (dropped) and generic words say nothing more.
        return frozenset({STATE_KIND} | {w for w in words if w not in STATE_WORDS
                                         and w not in STATE_EXTRA
                                         and w not in country_words})
    rest = frozenset(w for w in words if w not in country_words)
    return rest or frozenset(words)


def families_of(details: dict[str, Any]) -> frozenset[str] | None:
    """The event families a record's type (and subtype, interaction) allow."""
    return _type_of(details.get("type"), details.get("subtype"),
                    (details.get("attributes") or {}).get("interaction"))[0]


@lru_cache(maxsize=4096)  # a dataset has a few dozen types, subtypes and interactions
def _type_of(kind: str | None, subtype: str | None, interaction: Any
             ) -> tuple[frozenset[str] | None, str]:
    """The families a type, subtype and interaction allow, and the type's label."""
    label = f"{kind}/{subtype}" if subtype else str(kind)
    folded = (subtype or "").casefold()
    if folded in UCDP_FAMILY:
        return frozenset({UCDP_FAMILY[folded]}), label
    found = SUBTYPE_FAMILIES.get(folded) or TYPE_FAMILIES.get(kind or "")
    if found is None:
        return None, label
    interaction = str(interaction or "")
    if kind == "battle" and interaction.isdigit() and len(interaction) == 2:
        # ACLED interaction: the two actor types; 1 state forces, 8 external forces.
        state = "1" in interaction or "8" in interaction
        found = frozenset({STATE if state else NONSTATE})
    return found, label


def record_of(key: str, doc: dict[str, Any], best: int, low: int, high: int,
              resolve: Callable[[str], str] | None = None,
              names: Mapping[str, tuple[str, ...]] | None = None) -> LinkRecord | None:
    """A record of the views (its row's document and figures) as the search sees it;
    None when it has no usable date. `resolve` gives the id an actor is counted under
    (same_actor links), `names` an actor's registered name and aliases. What many records
    share (sources, place, type, country, actors) is worked out once per distinct value."""
    d = doc.get("details") or {}
    start = _ordinal(d.get("date"))
    if start is None:
        return None
    end = d.get("date_end")
    end = max(start, min(_ordinal(end) or start, start + MAX_RANGE_DAYS)) if end else start
    loc = d.get("location") or {}
    lat, lon = loc.get("latitude"), loc.get("longitude")
    if lat is None or lon is None:
        lat = lon = None
    precision = loc.get("geo_precision")
    geo_slack = GEO_SLACK.get(precision, 150.0) if isinstance(precision, int) else 0.0
    country_words, place = _place(loc.get("country"), loc.get("admin1") or loc.get("name"))
    ids = [a["actor"] for a in d.get("actors") or () if a.get("actor")]
    families, label = _type_of(d.get("type"), d.get("subtype"),
                               (d.get("attributes") or {}).get("interaction"))
    actors, actor_key = _actors_of(tuple([
        _actor(a, resolve(a) if resolve else a, names.get(a, ()) if names else (),
               country_words) for a in ids]))
    return LinkRecord(
        key=key, sources=_sources(tuple(doc.get("sources") or ())),
        start=start, end=end,
        slack=min(DATE_SLACK.get(d.get("date_precision") or "day", 0), MAX_DATE_SLACK),
        lat=lat, lon=lon, geo_slack=geo_slack, place=place, families=families,
        type_label=label, actors=actors, best=best, low=low,
        high=high, members=tuple(doc.get("members") or (key,)), actor_key=actor_key,
        counted=bool(doc.get("figures") or doc.get("assessments")))


_numbers = itertools.count()


@lru_cache(maxsize=65536)
def _actors_of(actors: tuple[Actor, ...]) -> tuple[tuple[Actor, ...], int]:
    """A record's actors and the number of that combination (never reused: a combination
    dropped from this cache and seen again gets a new one)."""
    return actors, next(_numbers)


@lru_cache(maxsize=65536)
def _actor(actor_id: str, counted_as: str, names: tuple[str, ...],
           country_words: frozenset[str]) -> Actor:
    """An actor as the comparison sees it: the id it is counted under, and the distinctive
    words of its id and of each of its names (the same words once)."""
    words = {actor_words(actor_id, country_words),
             *(name_words(n, country_words) for n in names)}
    return counted_as, frozenset(w for w in words if w)


@lru_cache(maxsize=4096)
def _sources(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(s.casefold() for s in names)


@lru_cache(maxsize=65536)
def _place(country: str | None, where: str | None
           ) -> tuple[frozenset[str], tuple[str, str] | None]:
    """A country's own words (dropped from actor names) and the (country, admin1 or place)
    a record without coordinates is compared by, case-folded."""
    folded = (country or "").casefold()
    where = (where or "").casefold()
    return frozenset(_WORD.findall(folded)), (folded, where) if where else None




def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def _type_score(a: LinkRecord, b: LinkRecord) -> float | None:
    if a.families is None or b.families is None:
        return None
    common = a.families & b.families
    if not common:
        return 0.0
    return 1.0 if len(a.families) == len(b.families) == 1 else 0.8


_actor_scores: dict[tuple[int, int], float | None] = {}


def _actor_score(a: LinkRecord, b: LinkRecord) -> float | None:
    if a.actor_key < 0 or b.actor_key < 0:
        return _actor_agreement(a, b)
    key = (a.actor_key, b.actor_key)
    try:
        return _actor_scores[key]
    except KeyError:
        if len(_actor_scores) >= 1 << 17:
            _actor_scores.clear()
        found = _actor_scores[key] = _actor_agreement(a, b)
        return found


def _actor_agreement(a: LinkRecord, b: LinkRecord) -> float | None:
    if not a.actors or not b.actors:
        return None
    small, large = (a.actors, b.actors) if len(a.actors) <= len(b.actors) else \
        (b.actors, a.actors)
    share = _actors_found(small, large) / len(small)
    # Half the actors agreeing means the other half disagree: evidence against.
    return share * share


@lru_cache(maxsize=65536)  # a dataset pairs the same few actor lists over and over
def _actors_found(small: tuple[Actor, ...], large: tuple[Actor, ...]) -> int:
    """How many of `small`'s actors have a match among `large`'s: each actor is found by
    the id it is counted under or by the words of any of its names, so two agreeing
    actors count two whichever way each is found."""
    return sum(1 for x in small if any(_one_actor(x, y) for y in large))


def _one_actor(x: Actor, y: Actor) -> bool:
    return x[0] == y[0] or any(_same_actor(wx, wy) for wx in x[1] for wy in y[1])


def _same_actor(x: frozenset[str], y: frozenset[str]) -> bool:
    kinds = {STATE_KIND, CIVILIANS_KIND}
    kx, ky = x & kinds, y & kinds
    if kx or ky:
        if kx != ky:
            return False
        nx, ny = x - kinds, y - kinds
        return not nx or not ny or bool(nx & ny)
    if not x or not y:
        return False
    if x == UNKNOWN_ACTOR or y == UNKNOWN_ACTOR:
        return True
    return len(x & y) / min(len(x), len(y)) >= 0.5


def _killed_score(a: LinkRecord, b: LinkRecord) -> float | None:
    if not (a.counted and b.counted):
        return None  # a record no report gave a figure: nothing to compare
    if a.best == b.best:
        return 1.0
    agreement = 1.0 - abs(a.best - b.best) / max(a.best, b.best)
    inside = (min(b.low, b.best) <= a.best <= max(b.high, b.best)
              or min(a.low, a.best) <= b.best <= max(a.high, a.best))
    return max(agreement, 0.9) if inside else agreement


def score_pair(a: LinkRecord, b: LinkRecord, params: LinkParams
               ) -> tuple[float, dict[str, Any], dict[str, float]] | None:
    """The pair's score, reasons and per-measure scores; None when the two are beyond the
    date or distance window."""
    measures = _measures(a, b, params)
    if measures is None:
        return None
    return _total(measures), *_explain(a, b, measures)


# What _measures finds: the gap in days, the distance (None: compared by place), and the
# agreements of days, km, type, actors (None: not measured) and killed.
Measures = tuple[int, float | None, float, float, float | None, float | None, float | None]


def _measures(a: LinkRecord, b: LinkRecord, params: LinkParams) -> Measures | None:
    """The pair's measures and agreements; None beyond the date or distance window. The
    search takes every pair within reach through here; only a chosen pair is explained."""
    gap = max(0, b.start - a.end, a.start - b.end)
    reach = params.days + a.slack + b.slack
    if gap > reach:
        return None
    s_days = 1.0 - 0.5 * gap / reach if reach else 1.0
    km: float | None = None
    if a.lat is not None and b.lat is not None:
        km = haversine(a.lat, a.lon, b.lat, b.lon)  # type: ignore[arg-type]
        tolerance = params.km + a.geo_slack + b.geo_slack
        if km > tolerance:
            return None
        s_km = 1.0 - 0.5 * km / tolerance if tolerance else 1.0
    else:
        if a.place is None or b.place is None or a.place != b.place:
            return None
        s_km = 0.6  # same admin1 / place, no coordinates to say more
    return (gap, km, s_days, s_km, _type_score(a, b), _actor_score(a, b),
            _killed_score(a, b))


W_DAYS, W_KM, W_TYPE, W_ACTORS, W_KILLED = (
    WEIGHTS["days"], WEIGHTS["km"], WEIGHTS["type"], WEIGHTS["actors"], WEIGHTS["killed"])


def _total(m: Measures) -> float:
    """The weighted mean of the agreements measured (summed in WEIGHTS' order), rounded."""
    _, _, s_days, s_km, s_type, s_actors, s_killed = m
    total, weights = W_DAYS * s_days + W_KM * s_km, W_DAYS + W_KM
    if s_type is not None:
        total, weights = total + W_TYPE * s_type, weights + W_TYPE
    if s_actors is not None:
        total, weights = total + W_ACTORS * s_actors, weights + W_ACTORS
    if s_killed is not None:
        total, weights = total + W_KILLED * s_killed, weights + W_KILLED
    return round(total / weights, 3)


def _explain(a: LinkRecord, b: LinkRecord, m: Measures
             ) -> tuple[dict[str, Any], dict[str, float]]:
    """The pair's reasons (each measure) and scores (each agreement, rounded)."""
    gap, km, s_days, s_km, t, s_actors, s_killed = m
    verdict = "unknown" if t is None else "same" if t == 1.0 else \
        "compatible" if t > 0 else "incompatible"
    reasons: dict[str, Any] = {
        "days": gap, "km": None if km is None else round(km, 1),
        "type": f"{a.type_label} ~ {b.type_label}: {verdict}",
        "actors": None if s_actors is None else round(s_actors, 2),
        "killed": f"{a.best if a.counted else 'no figure'} vs "
                  f"{b.best if b.counted else 'no figure'}"}
    scores = {"days": round(s_days, 3), "km": round(s_km, 3)}
    if t is not None:
        scores["type"] = round(t, 3)
    if s_actors is not None:
        scores["actors"] = round(s_actors, 3)
    if s_killed is not None:
        scores["killed"] = round(s_killed, 3)
    return reasons, scores


def _cells(lat: float, lon: float, radius_km: float, size: float
           ) -> tuple[int, int, int, int]:
    """The rows and columns (first, last) of the cells of `size` degrees that a circle of
    `radius_km` around the point touches."""
    dlat = radius_km * 1.01 / KM_PER_DEGREE  # 1% to spare: a cap is not quite a box
    coslat = max(math.cos(math.radians(min(89.0, abs(lat) + dlat))), 0.01)
    dlon = dlat / coslat
    return (int(math.floor((lat - dlat) / size)), int(math.floor((lat + dlat) / size)),
            int(math.floor((lon - dlon) / size)), int(math.floor((lon + dlon) / size)))


def _key(bucket: int, y: int, x: int) -> int:
    """One int per (day bucket, cell row, cell column): cheaper to hash than a tuple."""
    return (bucket << 44) + ((y + 2**21) << 22) + (x + 2**21)


def pairs_within_reach(records: list[LinkRecord], params: LinkParams
                       ) -> Iterable[tuple[int, int]]:
    """Index pairs (i < j) of records from disjoint sources within each other's date and
    distance windows — found through an index of day buckets × grid cells, never by
    comparing all pairs. Records are taken in date order: each looks up the buckets and
    cells its window (`days`, `km`, plus its own precision) reaches among the records
    before it, then is indexed under the buckets and cells its own precision spans — so
    each pair is found once, by the later record. What the buckets and cells bring is
    checked against the exact windows before it is yielded (the dates, an equirectangular
    distance).

    The loop runs once per record, so it is written for the interpreter and the memory
    cache: taken in date order, the records' fields are read into lists in that order,
    and a bucket no later record can reach (older than the widest date window) is
    dropped, so the index holds a few weeks of records, not all of them; cells and keys
    are computed inline (`_cells`, `_key` say the same in words); and the place index is
    kept only when some record has no coordinates (only such a record looks it up, or is
    looked up in it)."""
    size = 2 * max(params.km, 5.0) / KM_PER_DEGREE  # cell side: twice `km` (at the equator)
    width = 2 * params.days + 1  # days per bucket
    days, km = params.days, params.km
    order = sorted(range(len(records)), key=lambda n: records[n].start)
    taken = [records[n] for n in order]
    # One index of cells per day bucket; a key is one int per (row, column) of a cell.
    buckets: dict[int, dict[int, list[int]]] = {}
    by_place: dict[tuple[int, tuple[str, str]], list[int]] = {}
    by_place_nocoord: dict[tuple[int, tuple[str, str]], list[int]] = {}
    places = any(r.lat is None or r.lon is None for r in taken)
    sources = [r.sources for r in taken]
    starts = [r.start for r in taken]
    ends = [r.end for r in taken]
    slacks = [r.slack for r in taken]
    lats: list[float | None] = [r.lat if r.lon is not None else None for r in taken]
    lons = [r.lon for r in taken]
    geo = [r.geo_slack for r in taken]
    place_of = [r.place for r in taken]
    widest = max(slacks, default=0) + days  # the furthest back a window reaches
    oldest = None  # the oldest bucket still held
    per_degree, spare, off = KM_PER_DEGREE, 1.01, 2**21
    floor, cos, radians = math.floor, math.cos, math.radians
    for j in range(len(taken)):
        start, end, slack, lat, g = starts[j], ends[j], slacks[j], lats[j], geo[j]
        lo, hi = (start - slack - days) // width, (end + slack + days) // width
        reachable = (start - widest) // width  # no later record looks further back
        if oldest is None:
            oldest = reachable
        while oldest < reachable:
            buckets.pop(oldest, None)
            oldest += 1
        found: list[int] = []
        if lat is not None:
            lon: float = lons[j]  # type: ignore[assignment]
            dlat = (km + g) * spare / per_degree
            dlon = dlat / max(cos(radians(min(89.0, abs(lat) + dlat))), 0.01)
            ylo, yhi = floor((lat - dlat) / size) + off, floor((lat + dlat) / size) + off
            xlo, xhi = floor((lon - dlon) / size) + off, floor((lon + dlon) / size) + off + 1
            for bucket in range(lo, hi + 1):
                cells = buckets.get(bucket)
                if cells is None:
                    continue
                lookup = cells.get
                for y in range(ylo << 22, (yhi << 22) + 1, 1 << 22):
                    for x in range(y + xlo, y + xhi):
                        hit = lookup(x)
                        if hit:
                            found += hit
            if places and by_place_nocoord and place_of[j] is not None:
                for bucket in range(lo, hi + 1):
                    found += by_place_nocoord.get((bucket, place_of[j]), ())  # type: ignore[arg-type]
        elif place_of[j] is not None:
            for bucket in range(lo, hi + 1):
                found += by_place.get((bucket, place_of[j]), ())  # type: ignore[arg-type]
        if found:
            mine, reach_days = sources[j], slack + days
            coslat = cos(radians(lat)) if lat is not None else 0.0
            for i in set(found) if len(found) > 1 else found:
                if not mine.isdisjoint(sources[i]):
                    continue
                o_slack = reach_days + slacks[i]
                if starts[i] - end > o_slack or start - ends[i] > o_slack:
                    continue
                o_lat = lats[i]
                if lat is not None and o_lat is not None:
                    # Equirectangular: within 1% of the great circle at these distances.
                    dy = (lat - o_lat) * per_degree
                    dx = (lon - lons[i]) * per_degree * coslat  # type: ignore[operator]
                    reach = (km + g + geo[i]) * 1.02
                    if dy * dy + dx * dx > reach * reach:
                        continue
                elif place_of[j] != place_of[i]:
                    continue
                a, b = order[i], order[j]
                yield (a, b) if a < b else (b, a)
        own_lo, own_hi = (start - slack) // width, (end + slack) // width
        if lat is not None:
            if g:
                dlat = g * spare / per_degree
                dlon = dlat / max(cos(radians(min(89.0, abs(lat) + dlat))), 0.01)
            else:
                dlat = dlon = 0.0
            ylo, yhi = floor((lat - dlat) / size) + off, floor((lat + dlat) / size) + off
            xlo, xhi = floor((lon - dlon) / size) + off, floor((lon + dlon) / size) + off + 1
            for bucket in range(own_lo, own_hi + 1):
                cells = buckets.get(bucket)
                if cells is None:
                    cells = buckets[bucket] = {}
                for y in range(ylo << 22, (yhi << 22) + 1, 1 << 22):
                    for x in range(y + xlo, y + xhi):
                        held = cells.get(x)
                        if held is None:
                            cells[x] = [j]
                        else:
                            held.append(j)
        if places and place_of[j] is not None:
            for bucket in range(own_lo, own_hi + 1):
                by_place.setdefault((bucket, place_of[j]), []).append(j)  # type: ignore[arg-type]
                if lat is None:
                    by_place_nocoord.setdefault(
                        (bucket, place_of[j]), []).append(j)  # type: ignore[arg-type]


# A scored pair as the choice takes it: (negated score, i, j, its measures).
Scored = tuple[float, int, int, Measures]


@dataclass
class Candidate:
    incident: str
    other: str
    score: float
    reasons: dict[str, Any]
    scores: dict[str, float]
    sources: tuple[list[str], list[str]]
    margin: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"incident": self.incident, "other": self.other, "score": self.score,
                "reasons": self.reasons, "scores": self.scores,
                "sources": {"incident": self.sources[0], "other": self.sources[1]},
                "margin": self.margin}


def choose(scored: list[Scored], records: list[LinkRecord], floor: float = 0.0
           ) -> list[tuple[Scored, float | None]]:
    """One-to-one by score: best pairs first, a record taking at most one partner of each
    other source group — unless a further pair is strong (SECOND_PAIR_SCORE) and within
    MARGIN of the record's best. Each chosen pair keeps its margin over the best pair it
    beat (None: no competitor). A pair is (negated score, i, j, measures) with i < j and
    `records` in key order, so best first and then by the records' keys is the tuples'
    own order; the chosen pairs come in that order. Every pair is a rival (a margin), but
    none below `floor` is chosen: choosing stops at the first (all later ones are lower)."""
    scored.sort()
    top2: dict[int, list[Scored]] = {}
    for item in scored:  # best first: each record's two best pairs
        for x in (item[1], item[2]):
            held = top2.get(x)
            if held is None:
                top2[x] = [item]
            elif len(held) < 2:
                held.append(item)
    best_of: dict[tuple[int, frozenset[str]], float] = {}
    chosen = []
    for item in scored:
        negated, i, j = item[0], item[1], item[2]
        score = -negated
        if score < floor:
            break
        a_sources, b_sources = records[i].sources, records[j].sources
        ok = True
        for key in ((i, b_sources), (j, a_sources)):
            top = best_of.get(key)
            if top is not None and not (score >= SECOND_PAIR_SCORE and top - score <= MARGIN):
                ok = False
        if not ok:
            continue
        best_of.setdefault((i, b_sources), score)
        best_of.setdefault((j, a_sources), score)
        rival = min((s[0] for x in (i, j) for s in top2[x] if s is not item), default=None)
        chosen.append((item, None if rival is None else round(score + rival, 3)))
    return chosen


def candidates(records: list[LinkRecord], params: LinkParams,
               excluded: Callable[[LinkRecord, LinkRecord], bool] | None = None,
               wanted: Callable[[LinkRecord], bool] | None = None) -> list[Candidate]:
    """The chosen candidate pairs at or above `params.min_score`, best first (then by the
    two records' keys). `excluded` drops pairs an analyst said are distinct; `wanted` keeps
    pairs with at least one side it accepts (the actor and source filters). Every pair
    within reach is scored; only the chosen ones are explained (reasons, scores)."""
    records = sorted(records, key=_by_key)  # a pair (i < j) is then in key order
    scored: list[Scored] = []
    for i, j in pairs_within_reach(records, params):
        a, b = records[i], records[j]
        if wanted is not None and not (wanted(a) or wanted(b)):
            continue
        if excluded is not None and excluded(a, b):
            continue
        m = _measures(a, b, params)
        if m is None:
            continue
        # Pairs below the threshold still compete: a weak rival is no reason to hide a
        # strong pair, but a strong rival is a reason to doubt it (its margin).
        scored.append((-_total(m), i, j, m))
    out = []
    for (negated, i, j, m), margin in choose(scored, records, params.min_score):
        a, b = records[i], records[j]
        reasons, scores = _explain(a, b, m)
        out.append(Candidate(a.key, b.key, -negated, reasons, scores,
                             (sorted(a.sources), sorted(b.sources)), margin))
    return out



def _by_key(r: LinkRecord) -> str:
    return r.key
