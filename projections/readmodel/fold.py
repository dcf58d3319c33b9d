"""Folds one batch of events into versioned rows, inside the writer's transaction.

The batch is cut into units (the events of one report: consecutive events with the same
knowledge time). Each entity a unit changed gets one new version starting at the unit's
last position; its previous version ends there. Tally rows move by the difference between
what each touched incident contributed before and after the unit.

`Working` holds current documents and rows between batches of one process. It is only
used while the stored position equals the position it was left at (the writer checks this
under the position lock), and is dropped on any failure: no cache outlives a position it
cannot prove current.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection

from projections.casualty_tallies import IncidentRows, incident_rows, tally_changes
from projections.decode import RawEvent, recorded_at
from projections.group_leadership import ACTOR_EVENTS, actor_doc_id, fold_actor_event
from projections.incident_state import INCIDENT_EVENTS, fold_incident
from projections.operation_status import OPERATION_EVENTS, fold_operation
from projections.readmodel.store import ReadModelStore, table

# [document or None, valid_from or None, links {(kind, ref): (figures, date, valid_from)},
#  the IncidentRows of the current version (None until computed)]
Entry = list[Any]
ZERO6 = (0, 0, 0, 0, 0, 0)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def dumps(doc: Any) -> str:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode()


def micros(iso: str) -> int:
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)


def units_of(events: list[RawEvent]) -> list[list[RawEvent]]:
    """Consecutive events recorded together (one report's save) form one unit."""
    units: list[list[RawEvent]] = []
    last = None
    for e in events:
        when = recorded_at(e.data)
        key = (when, (e.data.get("provenance") or {}).get("report"))
        if key != last:
            units.append([])
            last = key
        units[-1].append(e)
    return units


class Working:
    """Current documents and rows of one generation, valid at `position`."""

    def __init__(self, gen: int, position: int, known_at: int, max_entries: int) -> None:
        self.gen = gen
        self.position = position
        self.known_at = known_at
        self.max_entries = max_entries
        self.incidents: OrderedDict[str, Entry] = OrderedDict()
        self.docs: OrderedDict[tuple[str, str], Entry] = OrderedDict()
        self.tallies: dict[tuple[str, str], list[Any]] | None = None  # [values6, vf]
        self.tally_keys: set[tuple[str, str]] = set()

    def trim(self) -> None:
        for cache in (self.incidents, self.docs):
            while len(cache) > self.max_entries:
                cache.popitem(last=False)


class BatchFold:
    """The rows one batch writes."""

    def __init__(self, store: ReadModelStore, conn: Connection, w: Working) -> None:
        self.store = store
        self.conn = conn
        self.w = w
        g = w.gen
        self.t = {name: table(g, name) for name in
                  ("incidents", "links", "tallies", "tally_keys", "docs", "units")}
        self.inserts: dict[str, list[list[Any]]] = {name: [] for name in self.t}
        self.closes: dict[str, list[tuple[Any, ...]]] = {name: [] for name in self.t}
        # Rows inserted by this batch, so a later unit closes them before they are written.
        self.pending: dict[tuple[str, Any], list[Any]] = {}

    # -- loading current rows -------------------------------------------------------------

    def _chunks(self, ids: list[Any], size: int = 500) -> Iterable[list[Any]]:
        for start in range(0, len(ids), size):
            yield ids[start:start + size]

    def load_incidents(self, oids: Iterable[str], absent: set[str]) -> None:
        w = self.w
        for oid in absent:
            if oid not in w.incidents:
                w.incidents[oid] = [None, None, {}, None]
        wanted = [o for o in dict.fromkeys(oids) if o not in w.incidents]
        for chunk in self._chunks(wanted):
            marks = ",".join("?" * len(chunk))
            for oid, vf, doc in self.store.fetch(
                    self.conn, f"SELECT oid, valid_from, doc FROM {self.t['incidents']} "
                               f"WHERE valid_to IS NULL AND oid IN ({marks})", chunk):
                w.incidents[oid] = [orjson.loads(doc), int(vf), {}, None]
            for oid, kind, ref, vf, date, best, low, high in self.store.fetch(
                    self.conn, f"SELECT oid, kind, ref, valid_from, date, best, low, high "
                               f"FROM {self.t['links']} "
                               f"WHERE valid_to IS NULL AND oid IN ({marks})", chunk):
                entry = w.incidents.get(oid)
                if entry is not None:
                    figs = None if best is None else (best, low, high, 0, 0)
                    entry[2][(kind, ref)] = (figs, date, int(vf))
            for oid in chunk:
                w.incidents.setdefault(oid, [None, None, {}, None])

    def load_docs(self, keys: Iterable[tuple[str, str]]) -> None:
        w = self.w
        wanted = [k for k in dict.fromkeys(keys) if k not in w.docs]
        by_kind: dict[str, list[str]] = {}
        for kind, doc_id in wanted:
            by_kind.setdefault(kind, []).append(doc_id)
        for kind, ids in by_kind.items():
            for chunk in self._chunks(ids):
                rows = self.store.fetch(
                    self.conn, f"SELECT id, valid_from, doc FROM {self.t['docs']} WHERE "
                               f"kind = ? AND valid_to IS NULL AND id IN "
                               f"({','.join('?' * len(chunk))})", [kind, *chunk])
                for doc_id, vf, doc in rows:
                    w.docs[(kind, doc_id)] = [orjson.loads(doc), int(vf), None]
        for k in wanted:
            w.docs.setdefault(k, [None, None, None])

    def load_tallies(self) -> dict[tuple[str, str], list[Any]]:
        w = self.w
        if w.tallies is None:
            w.tallies = {}
            for dim, key, vf, *values in self.store.fetch(
                    self.conn, f"SELECT dim, key, valid_from, best, low, high, civilians, "
                               f"wounded, incidents FROM {self.t['tallies']} "
                               "WHERE valid_to IS NULL"):
                w.tallies[(dim, key)] = [tuple(values), int(vf)]
            w.tally_keys = {(d, k) for d, k in self.store.fetch(
                self.conn, f"SELECT dim, key FROM {self.t['tally_keys']}")}
        return w.tallies

    # -- versions -------------------------------------------------------------------------

    def _close(self, name: str, pk: tuple[Any, ...], valid_from: int | None, end: int) -> None:
        if valid_from is None:
            return
        row = self.pending.pop((name, (*pk, valid_from)), None)
        if row is not None:
            row[-1] = end  # valid_to is the last column of every pending row
        else:
            self.closes[name].append((end, *pk, valid_from))

    def _open(self, name: str, pk: tuple[Any, ...], row: list[Any], start: int) -> None:
        row.append(None)  # valid_to
        self.inserts[name].append(row)
        self.pending[(name, (*pk, start))] = row

    # -- the fold -------------------------------------------------------------------------

    def fold(self, events: list[RawEvent]) -> int:
        """Folds the events (whole units) and queues their rows; returns the last
        position folded."""
        w = self.w
        absent = {e.oid for e in events if e.name == "IncidentReported"}
        self.load_incidents([e.oid for e in events if e.name in INCIDENT_EVENTS
                             and e.oid not in absent], absent)
        doc_keys: list[tuple[str, str]] = []
        for e in events:
            if e.name in ACTOR_EVENTS:
                doc_keys.append(("actor", e.oid))
                group = e.data.get("group")
                if group:
                    doc_keys += [("group", group), ("actor", actor_doc_id(group))]
                elif e.name == "ActorRegistered":
                    doc_keys.append(("group", e.data["key"]))
            elif e.name in OPERATION_EVENTS:
                doc_keys.append(("operation", e.oid))
        self.load_docs(doc_keys)
        tallies = self.load_tallies()
        last = w.position
        for unit in units_of(events):
            self._unit(unit, tallies)
            last = unit[-1].position
        return last

    def _unit(self, unit: list[RawEvent], tallies: dict[tuple[str, str], list[Any]]) -> None:
        w = self.w
        end = unit[-1].position
        before: dict[str, IncidentRows] = {}
        touched_docs: dict[tuple[str, str], None] = {}
        docs = _DocAccess(w, touched_docs, self)
        for e in unit:
            if e.name in INCIDENT_EVENTS:
                entry = w.incidents.get(e.oid)
                if entry is None:
                    self.load_incidents([e.oid], set())
                    entry = w.incidents[e.oid]
                if e.oid not in before:
                    rows = entry[3]
                    before[e.oid] = rows if rows is not None else incident_rows(entry[0])
                entry[0] = fold_incident(entry[0], e)
            elif e.name in ACTOR_EVENTS:
                fold_actor_event(docs, e)
            elif e.name in OPERATION_EVENTS:
                entry = docs.entry("operation", e.oid)
                entry[0] = fold_operation(entry[0], e)
                touched_docs[("operation", e.oid)] = None
        deltas: dict[tuple[str, str], list[int]] = {}
        for oid, old in before.items():
            entry = w.incidents[oid]
            state = entry[0]
            if state is None:
                continue
            rows = entry[3] = incident_rows(state)
            for key, change in tally_changes(old.tallies, rows.tallies).items():
                acc = deltas.get(key)
                if acc is None:
                    deltas[key] = change
                else:
                    for i in range(6):
                        acc[i] += change[i]
            self._incident_version(oid, entry, rows, end)
        for kind, doc_id in touched_docs:
            self._doc_version(kind, doc_id, w.docs[(kind, doc_id)], end)
        for key, delta in deltas.items():
            if not any(delta):
                continue
            current = tallies.get(key)
            values = current[0] if current else ZERO6
            new_values = tuple(v + d for v, d in zip(values, delta, strict=True))
            pk = key
            self._close("tallies", pk, current[1] if current else None, end)
            if any(new_values):
                self._open("tallies", pk, [*key, end, *new_values], end)
                tallies[key] = [new_values, end]
                if key not in w.tally_keys:
                    w.tally_keys.add(key)
                    self.inserts["tally_keys"].append(list(key))
            else:
                tallies.pop(key, None)
        first = unit[0]
        prov = first.data.get("provenance") or {}
        w.known_at = max(w.known_at, micros(recorded_at(first.data)))
        source = (prov.get("source") or {}).get("name")
        self.inserts["units"].append([end, first.position, w.known_at, prov.get("report"),
                                      source])

    def _incident_version(self, oid: str, entry: Entry, rows: IncidentRows, end: int) -> None:
        state = entry[0]
        self._close("incidents", (oid,), entry[1], end)
        d = state["details"]
        loc = d.get("location") or {}
        k, others = rows.killed, rows.others
        country, admin1 = loc.get("country"), loc.get("admin1")
        row = [oid, end, state["id"], 0 if state["retracted"] else 1, d.get("date"),
               d.get("type"), d.get("subtype"), country,
               country.casefold() if country else None, admin1,
               admin1.casefold() if admin1 else None, d.get("operation"),
               loc.get("latitude"), loc.get("longitude"), k["best"], k["low"], k["high"],
               others["civilians"], others["wounded"], dumps(state)]
        self._open("incidents", (oid,), row, end)
        entry[1] = end
        # Link rows move only when the actors, sources, date or an actor's figures did.
        old_links = entry[2]
        new_links = rows.links
        date = d.get("date")
        kept = {}
        for lk, (figs, ldate, vf) in old_links.items():
            if new_links.get(lk) == figs and ldate == date:
                kept[lk] = (figs, ldate, vf)
            else:
                self._close("links", (oid, *lk), vf, end)
        for lk, figs in new_links.items():
            if lk not in kept:
                self._open("links", (oid, *lk),
                           [oid, lk[0], lk[1], end, state["id"], date,
                            *(figs[:3] if figs is not None else (None, None, None))], end)
                kept[lk] = (figs, date, end)
        entry[2] = kept

    def _doc_version(self, kind: str, doc_id: str, entry: Entry, end: int) -> None:
        doc = entry[0]
        self._close("docs", (kind, doc_id), entry[1], end)
        if doc is None:
            entry[1] = None
            return
        search = None
        if kind == "actor":
            search = "\x1f".join(n.casefold() for n in [doc["id"], doc["name"],
                                                         *doc.get("aliases", [])])
        self._open("docs", (kind, doc_id), [kind, doc_id, end, search, dumps(doc)], end)
        entry[1] = end

    # -- writing --------------------------------------------------------------------------

    def write(self) -> None:
        s, t, conn = self.store, self.t, self.conn
        s.executemany(conn, f"UPDATE {t['incidents']} SET valid_to = ? "
                            "WHERE oid = ? AND valid_from = ?", self.closes["incidents"])
        s.executemany(conn, f"UPDATE {t['links']} SET valid_to = ? WHERE oid = ? AND kind = ? "
                            "AND ref = ? AND valid_from = ?", self.closes["links"])
        s.executemany(conn, f"UPDATE {t['tallies']} SET valid_to = ? "
                            "WHERE dim = ? AND key = ? AND valid_from = ?",
                      self.closes["tallies"])
        s.executemany(conn, f"UPDATE {t['docs']} SET valid_to = ? "
                            "WHERE kind = ? AND id = ? AND valid_from = ?", self.closes["docs"])
        s.executemany(conn, f"INSERT INTO {t['incidents']} (oid, valid_from, key, live, date, "
                            "type, subtype, country, country_k, admin1, admin1_k, operation, "
                            "latitude, longitude, best, low, high, civilians, wounded, doc, "
                            "valid_to) VALUES (" + ",".join("?" * 21) + ")",
                      self.inserts["incidents"])
        s.executemany(conn, f"INSERT INTO {t['links']} (oid, kind, ref, valid_from, key, date, "
                            "best, low, high, valid_to) VALUES (?,?,?,?,?,?,?,?,?,?)",
                      self.inserts["links"])
        s.executemany(conn, f"INSERT INTO {t['tallies']} (dim, key, valid_from, best, low, "
                            "high, civilians, wounded, incidents, valid_to) "
                            "VALUES (?,?,?,?,?,?,?,?,?,?)", self.inserts["tallies"])
        s.executemany(conn, f"INSERT INTO {t['tally_keys']} (dim, key) VALUES (?, ?) "
                            "ON CONFLICT DO NOTHING", self.inserts["tally_keys"])
        s.executemany(conn, f"INSERT INTO {t['docs']} (kind, id, valid_from, search, doc, "
                            "valid_to) VALUES (?,?,?,?,?,?)", self.inserts["docs"])
        s.executemany(conn, f"INSERT INTO {t['units']} (position, first, known_at, report, "
                            "source) VALUES (?,?,?,?,?)", self.inserts["units"])


class _DocAccess:
    """The `Docs` accessor the pure folds use: reads through the working set, marks what
    a unit touched."""

    def __init__(self, w: Working, touched: dict[tuple[str, str], None], fold: BatchFold
                 ) -> None:
        self.w = w
        self.touched = touched
        self.fold = fold

    def entry(self, kind: str, doc_id: str) -> Entry:
        entry = self.w.docs.get((kind, doc_id))
        if entry is None:
            self.fold.load_docs([(kind, doc_id)])
            entry = self.w.docs[(kind, doc_id)]
        return entry

    def get(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = self.entry(kind, doc_id)[0]
        return doc

    def put(self, kind: str, doc_id: str, doc: dict[str, Any]) -> None:
        self.entry(kind, doc_id)[0] = doc
        self.touched[(kind, doc_id)] = None
