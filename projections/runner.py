"""Runs the projections over the log into the read model: catch up, follow, rebuild
blue/green in one pass, verify row by row.

Any number of processes may run it at once (API workers inline, an import's helper,
followers): each batch is folded and written while holding the generation's position lock,
so a batch lands exactly once and nobody folds on a stale position.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Select, Table, case, except_, select

from projections.decode import RawEvent, UnreadableEventError, decode, recorded_at
from projections.readmodel.fold import BatchFold, Working, units_of
from projections.readmodel.packed import unpack
from projections.readmodel.store import GenerationGoneError, ReadModelStore
from projections.views import COMPARED, VIEW_NAMES, VIEWS
from tracker.exceptions import FoldStuckError
from tracker.outages import is_outage

if TYPE_CHECKING:
    from tracker.application import ConflictTracker

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (position reached, position to reach)
RETRY_STUCK = 30.0  # seconds between tries of a unit the fold could not fold

# Events per batch: a batch is one transaction of the read model, holding the position lock.
BATCH = 2000
# Far behind the log (a rebuild, an import's helper, a follower started late), a process
# of batch work folds up to this many events per batch. Each commit writes every page its
# rows touched, and new versions land at random places in the primary keys and indexes, so
# at a million events a batch of 4,000 rewrote about half the read model's file: folding the
# last 60,000 events of a 1M-event log into its indexed views wrote 8.1 GB in 14.2 s in
# batches of 4,000, 2.2 GB in 9.5 s in batches of 20,000 (a 1M rebuild in batches of 5,000
# took 88.7 s, of 20,000 82-83 s).
# The lock is then held for a few seconds per batch; readers are never blocked.
LARGE_BATCH = 20_000


class Projector:
    """Folds the tracker's log into the read model."""

    def __init__(self, tracker: ConflictTracker, store: ReadModelStore,
                 batch_size: int = BATCH, cache_entries: int = 50_000,
                 max_batch: int | None = None) -> None:
        self.tracker = tracker
        self.store = store
        self.batch_size = batch_size
        # Up to how many events a batch takes when the views are far behind (None: always
        # batch_size; processes of batch work give LARGE_BATCH).
        self.max_batch = max(batch_size, max_batch or batch_size)
        self.cache_entries = cache_entries
        self._working: dict[int, Working] = {}
        # The trailing unit a batch left to the next one, decoded: (the position it follows,
        # its events). Used only if the next batch starts at that position.
        self._carry: tuple[int, list[RawEvent]] | None = None
        self._lock = threading.Lock()
        self._quarantine: frozenset[int] | None = None
        # gen -> (the position it is stuck at, the quarantine then, when to try again)
        self._stuck: dict[int, tuple[int, frozenset[int], float]] = {}
        self._narrow_until: int | None = None

    def ensure_active(self) -> int:
        return self.store.ensure_active()

    # -- the loop -----------------------------------------------------------------------

    def catch_up(self, *, until_position: int | None = None, gen: int | None = None,
                 progress: Progress | None = None, bulk: bool = False) -> int:
        """Folds every event not yet in the views (of `gen`, else the active generation);
        returns how many positions advanced.

        An event that cannot be folded (not an outage: the data itself) stops the views
        just before its unit, never skipping it: the failure is recorded in the read
        model (`ReadModelStore.failure`: position, report, reason), /healthz and `tracker
        verify` name it, and it is tried again every RETRY_STUCK seconds, or as soon as
        an administrator sets the events aside (`tracker quarantine`)."""
        with self._lock:
            done = 0
            while True:
                current = gen if gen is not None else self.store.ensure_active()
                target = (until_position if until_position is not None
                          else self.tracker.max_position())
                position = self.store.position(current)
                if position >= target or self._still_stuck(current, position):
                    return done
                try:
                    moved = self._batch(current, target, bulk)
                except GenerationGoneError:
                    if gen is not None:
                        raise
                    continue  # a rebuild switched readers: carry on with the new one
                except FoldFailure as failure:
                    if failure.units > 1:
                        # Fold unit by unit up to the end of this batch: the units before
                        # the bad one land, and the bad one is found.
                        self._narrow_until = failure.last
                        continue
                    self._narrow_until = None
                    self._stuck_at(current, failure)
                    return done
                if moved == 0:
                    return done
                done += moved
                if progress is not None:
                    progress(self.store.position(current), target)

    # -- an event that cannot be folded -------------------------------------------------

    def quarantined(self) -> frozenset[int]:
        """The log positions set aside (`tracker quarantine`), read when first needed and
        again whenever the fold is stuck."""
        if self._quarantine is None:
            self._quarantine = frozenset(self.tracker.quarantined())
        return self._quarantine

    def _still_stuck(self, gen: int, position: int) -> bool:
        """True while the fold of `gen` is stuck at `position` and nothing changed: no new
        quarantine decision and less than RETRY_STUCK seconds since the last try."""
        stuck = self._stuck.get(gen)
        if stuck is None or stuck[0] != position:
            self._stuck.pop(gen, None)
            return False
        self._quarantine = None  # an administrator may have set the event aside
        if self.quarantined() != stuck[1]:
            self._stuck.pop(gen, None)
            return False
        return time.monotonic() < stuck[2]

    def _stuck_at(self, gen: int, failure: FoldFailure) -> None:
        reason = failure.reason
        log.error("the views cannot fold positions %d..%d%s: %s", failure.first, failure.last,
                  f" (report {failure.report})" if failure.report else "", reason)
        self.store.record_failure(gen, failure.first, failure.last, failure.report,
                                  failure.events, reason)
        self._stuck[gen] = (failure.at, self.quarantined(),
                            time.monotonic() + RETRY_STUCK)

    def _batch(self, gen: int, target: int, bulk: bool = False) -> int:
        # The fold allocates millions of short-lived objects and makes no cycles worth
        # collecting mid-batch; the collector runs between batches.
        collecting = gc.isenabled()
        gc.disable()
        narrow = self._narrow_until
        try:
            with self.store.writing(gen, bulk=bulk) as (conn, position):
                if position >= target:
                    return 0
                if narrow is not None and position >= narrow:
                    self._narrow_until = narrow = None
                w = self._working.get(gen)
                if w is None or w.position != position:
                    # Someone else moved the position: what we held may be stale.
                    w = self._fresh_working(conn, gen, position)
                events, last = self._read(position, target, 1 if narrow is not None
                                          else self.batch_for(target - position))
                if events:
                    try:
                        fold = BatchFold(self.store, conn, w)
                        last = fold.fold(events)
                        fold.write(bulk=bulk)
                    except Exception as e:
                        if is_outage(e):
                            raise
                        raise FoldFailure.of(events, position, last, e) from e
                self.store.set_position(conn, gen, last)
            w.position = last
            w.trim()
            return last - position
        except BaseException:
            self._working.pop(gen, None)
            self._carry = None
            raise
        finally:
            if bulk:
                # What the batch kept (the working set's documents and rows) lives on:
                # out of the collector's sight, so a collection costs what the next batch
                # allocates, not the whole working set again (about a tenth of a rebuild).
                # Reference counting still frees what is dropped.
                gc.freeze()
            if collecting:
                gc.enable()

    def batch_for(self, behind: int) -> int:
        """How many events the next batch takes when the views are `behind` positions
        behind: batch_size, or as many as they are behind up to max_batch (see
        LARGE_BATCH), so that a long catch-up commits less often."""
        return min(self.max_batch, max(self.batch_size, behind))

    def _fresh_working(self, conn: Any, gen: int, position: int) -> Working:
        last_known = self.store.query_on(gen, "last known_at", lambda t: select(
            t["units"].c.known_at).order_by(t["units"].c.position.desc()).limit(1))
        rows = self.store.rows(conn, last_known)
        w = Working(gen, position, int(rows[0][0]) if rows else 0, self.cache_entries)
        self._working[gen] = w
        return w

    def _decode(self, notes: Sequence[Any]) -> list[RawEvent]:
        """The projections' view of these stored events, less those set aside."""
        aside = self.quarantined()
        if aside:
            notes = [n for n in notes if n.id not in aside]
        return decode(self.tracker.mapper, notes)

    def _read(self, position: int, target: int, batch_size: int
              ) -> tuple[list[RawEvent], int]:
        """The whole units after `position`, up to about a batch; and the position after
        them. A batch never ends inside a unit (one report's events)."""
        carried: list[RawEvent] = []
        if self._carry is not None and self._carry[0] == position:
            carried = [e for e in self._carry[1] if e.position <= target]
        self._carry = None
        after = carried[-1].position if carried else position
        notes = self.tracker.select_stored(after, batch_size, stop=target)
        decoded, unreadable = self._decode_readable(notes)
        events = carried + decoded
        if unreadable is not None:
            return self._before_unreadable(position, events, unreadable, notes)
        if not events:
            return [], notes[-1].id if notes else target
        full = len(notes) == batch_size
        if not full and events[-1].position < target:
            return events, events[-1].position

        last = unit_key(events[-1])
        if full and events[-1].position < target:
            start = len(events) - 1
            while start > 0 and unit_key(events[start - 1]) == last:
                start -= 1
            if start > 0:  # leave the trailing unit, which may go on, to the next batch
                self._carry = (events[start - 1].position, events[start:])
                return events[:start], events[start - 1].position
        # Read on to the end of the trailing unit, past `target` if need be: a save's
        # events commit together, so the rest of it is there to read.
        while True:
            more = self.tracker.select_stored(events[-1].position, batch_size)
            if not more:
                return events, events[-1].position
            decoded, unreadable = self._decode_readable(more)
            for e in decoded:
                if unit_key(e) != last:
                    return events, events[-1].position
                events.append(e)
            if unreadable is not None:
                return self._before_unreadable(position, events, unreadable, more)

    # -- a stored event that cannot be read ---------------------------------------------

    def _decode_readable(self, notes: Sequence[Any]
                         ) -> tuple[list[RawEvent], UnreadableEventError | None]:
        """The events of `notes` up to the first that cannot be decoded, and its error
        (None when every one can)."""
        try:
            return self._decode(notes), None
        except UnreadableEventError as e:
            return self._decode([n for n in notes if n.id < (e.position or 0)]), e

    def _before_unreadable(self, position: int, events: list[RawEvent],
                           error: UnreadableEventError, notes: Sequence[Any]
                           ) -> tuple[list[RawEvent], int]:
        """What a batch read from `position` folds when the stored event `error` names
        cannot be read: the whole units before the unit it belongs to (the views stop just
        before that unit, never folding part of it); when there are none, the failure,
        naming the report of that unit whenever it can be told."""
        bad = error.position or position + 1
        trailing = units_of(events)[-1] if events else []
        begins, report = self._unit_of_unreadable(error, notes, trailing)
        keep = events if begins else events[:len(events) - len(trailing)]
        if keep:
            return keep, keep[-1].position
        raise FoldFailure(position, bad, bad, report, [error.topic],
                          f"the stored event is unreadable: {error.reason}", 1) from error

    def _unit_of_unreadable(self, error: UnreadableEventError, notes: Sequence[Any],
                            trailing: list[RawEvent]) -> tuple[bool, str | None]:
        """Whether the unreadable event begins a unit (so `trailing`, the unit read just
        before it, is whole), and the report of its unit (None when it has none or it
        cannot be told). From, in turn: its own provenance, when only its class or a
        typed value failed; the readable events on both sides, when they are of one save;
        its class, readable whatever its data: a report's save begins with its Report's
        event, a token's or a quarantine decision's is a unit of its own, and any other
        event (an incident's, an actor's…) belongs to the report saved before it."""
        note = next((n for n in notes if n.id == error.position), None)
        own = _stored_unit_key(note.state) if note is not None else None
        if own is not None:
            return not trailing or own != unit_key(trailing[-1]), own[1]
        nxt = self._readable_after(error.position) if error.position else None
        if trailing and nxt is not None and unit_key(nxt) == unit_key(trailing[-1]):
            return False, unit_key(trailing[-1])[1]  # between two events of one save
        name = error.topic.rsplit(":", 1)[-1]
        if name.startswith(UNITS_OF_THEIR_OWN):
            return True, None
        if trailing and name != REPORT_BEGINS:
            return False, unit_key(trailing[-1])[1]
        # It begins a unit, whose next event (if readable and not a unit of its own) tells
        # the report.
        if nxt is None or nxt.name == REPORT_BEGINS.rsplit(".", 1)[-1]:
            return True, None
        return True, unit_key(nxt)[1]

    def _readable_after(self, position: int) -> RawEvent | None:
        """The event stored just after `position`, if it can be read."""
        try:
            after = self._decode(self.tracker.select_stored(position, 1))
        except UnreadableEventError:
            return None
        return after[0] if after else None

    # -- following ----------------------------------------------------------------------

    def follow(self, stop: threading.Event, wait: Callable[[threading.Event, float], None],
               poll_interval: float = 1.0, on_batch: Callable[[int], None] | None = None
               ) -> None:
        """Catches up, then waits (`wait`: a notification or the poll interval) and
        catches up again, until `stop` is set."""
        while not stop.is_set():
            done = self.catch_up()
            if done and on_batch is not None:
                on_batch(done)
            if not done:
                wait(stop, poll_interval)

    # -- rebuild and verify -------------------------------------------------------------

    def rebuild(self, progress: Progress | None = None,
                before_switch: Callable[[], None] | None = None) -> tuple[int, int | None]:
        """Blue/green: every view is folded in one pass over the log into a new
        generation while readers keep the active one; indexes are made after the bulk
        load; readers switch when it has caught up; the old generation is dropped.
        `before_switch` runs just before readers switch: raising, it leaves them on the
        views they have (the new generation is dropped). Returns (new generation, old
        generation)."""
        self.store.setup()
        gen = self.store.new_generation()
        try:
            target = self.tracker.max_position()
            self.catch_up(gen=gen, until_position=target, progress=progress, bulk=True)
            self._check_reached(gen, target)
            self.store.create_indexes(gen)
            self.catch_up(gen=gen)
            if before_switch is not None:
                before_switch()
            old = self.store.activate(gen)
        except BaseException:
            self._working.pop(gen, None)
            self.store.drop(gen)
            raise
        self._working.pop(gen, None)
        for stale, (status, _) in self.store.generations().items():
            if stale != gen and status != "active":
                self.store.drop(stale)
        return gen, old

    def verify(self, progress: Progress | None = None, limit: int = 50) -> Differences:
        """Folds the log aside (a scratch generation) up to the live position and compares
        every table row by row; returns the differences (empty when identical), at most
        `limit` of them (`truncated` when there are more)."""
        live = self.store.ensure_active()
        self.catch_up()
        position = self.store.position(live)
        scratch = self.store.new_generation(status="verify")
        try:
            self.catch_up(gen=scratch, until_position=position, progress=progress, bulk=True)
            self._check_reached(scratch, position)
            return self._differences(live, scratch, position, limit)
        finally:
            self._working.pop(scratch, None)
            self.store.drop(scratch)

    def _check_reached(self, gen: int, target: int) -> None:
        """Raises FoldStuckError if the fold of `gen` stopped short of `target`."""
        if self.store.position(gen) < target:
            failure = self.store.failure(gen)
            if failure is not None:
                raise FoldStuckError(failure)

    def _differences(self, live: int, scratch: int, position: int, limit: int
                     ) -> Differences:
        """The rows only one side holds, table by table, paired by the table's primary
        key: a row both sides hold with other values is one difference naming the columns
        that differ."""
        out: list[Difference] = []
        with self.store.reading() as conn:
            for name, columns in COMPARED.items():
                compared = [c.strip() for c in columns.split(",")]
                key = [c.name for c in self.store.tables(live)[name].primary_key.columns]
                sides: list[dict[tuple[Any, ...], dict[str, Any]]] = []
                for a, b in ((live, scratch), (scratch, live)):
                    only = except_(
                        _as_compared(self.store.tables(a)[name], name, compared, position),
                        _as_compared(self.store.tables(b)[name], name, compared, position),
                    )
                    only = only.order_by(*(only.selected_columns[c] for c in key)
                                         ).limit(limit + 1)
                    rows = [dict(zip(compared, row, strict=True))
                            for row in self.store.rows(conn, only)]
                    sides.append({tuple(r[c] for c in key): r for r in rows})
                in_live, in_rebuilt = sides
                for k in sorted(set(in_live) | set(in_rebuilt), key=_sortable):
                    out.append(Difference.of(name, key, in_live.get(k), in_rebuilt.get(k)))
                if len(out) > limit:
                    break
        return Differences(out[:limit], truncated=len(out) > limit)

    def lag(self) -> dict[str, int]:
        """How many positions the views are behind the log (all views move together)."""
        head = self.tracker.max_position()
        gen = self.store.ensure_active()
        behind = max(0, head - self.store.position(gen))
        return dict.fromkeys(VIEW_NAMES, behind)


def _as_compared(t: Table, name: str, columns: list[str], position: int) -> Select[Any]:
    """The rows of the view table `t` (`name`) as they stood at `position`, in the compared
    columns: rows begun after it are left out, and an end after it counts as none (NULL)."""
    cols = [case((t.c.valid_to > position, None), else_=t.c.valid_to).label("valid_to")
            if c == "valid_to" else t.c[c] for c in columns]
    if "valid_from" in columns:
        return select(*cols).where(t.c.valid_from <= position)
    if name == "units":
        return select(*cols).where(t.c.position <= position)
    return select(*cols)


# The class of the event that begins a report's save (tracker.application.record_report
# saves the Report first), and the classes whose saves are units of their own.
REPORT_BEGINS = "Report.ReportRecorded"
UNITS_OF_THEIR_OWN = ("Token.", "Quarantine.")


def unit_key(e: RawEvent) -> tuple[str, Any]:
    """Which unit an event is of: consecutive events with one key were recorded together
    (one report's save), as projections.readmodel.fold.units_of groups them."""
    return recorded_at(e.data), (e.data.get("provenance") or {}).get("report")


def _stored_unit_key(state: Any) -> tuple[str, Any] | None:
    """The unit key in an undecodable event's own stored JSON, when it can still be read
    there (its class or a typed value failed, not its JSON), else None."""
    try:
        data = orjson.loads(state)
    except (orjson.JSONDecodeError, TypeError):
        return None
    prov = data.get("provenance") if isinstance(data, dict) else None
    if not isinstance(prov, dict) or not isinstance(prov.get("recorded_at"), str):
        return None
    return prov["recorded_at"], prov.get("report")


def _sortable(key: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    """A primary key in an order that survives NULLs and mixed types."""
    return tuple((v is None, f"{v:020d}" if isinstance(v, int) else str(v)) for v in key)


# The columns that name a row to a person, per table (its primary key holds hashed ids
# where a name is readable); a versioned row adds where its version begins.
SHOWN_KEY: dict[str, tuple[str, ...]] = {
    "units": ("position",), "identity": ("kind", "a_key", "b_key"),
    "incidents": ("key",), "links": ("key", "kind", "ref"), "docs": ("kind", "id"),
    "tallies": ("dim", "key"), "tally_keys": ("dim", "key"), "sources": ("key",),
}
# Columns left out of a one-sided row's summary: hashed ids, case-folded copies, search
# text; a document is summarised by its size.
UNSHOWN = ("oid", "search", "valid_from")
SHOWN_VALUES = 10  # columns or document paths per line


@dataclass(frozen=True)
class Difference:
    """One row that differs between the live views and a rebuild from the log: in one
    table, under one key; `columns` maps each differing column (a document's differing
    paths as `doc.path`) to (live, rebuilt), `side` says which holds a one-sided row."""

    table: str
    key: dict[str, Any]
    side: str  # "both" (values differ), "live" (only the live views), "rebuilt"
    columns: dict[str, tuple[Any, Any]]

    @classmethod
    def of(cls, table: str, pk: list[str], live: dict[str, Any] | None,
           rebuilt: dict[str, Any] | None) -> Difference:
        row = live if live is not None else rebuilt
        assert row is not None
        shown = {c: row[c] for c in SHOWN_KEY.get(table, tuple(pk)) if c in row}
        if "id" in shown and "doc" in row:  # a document keyed by a hash: its own id
            doc = _document(row["doc"])
            if isinstance(doc, dict) and isinstance(doc.get("id"), str):
                shown["id"] = doc["id"]
        if "valid_from" in row:
            shown["valid_from"] = row["valid_from"]
        if live is not None and rebuilt is not None:
            columns: dict[str, tuple[Any, Any]] = {}
            for c in live:
                if live[c] == rebuilt[c]:
                    continue
                if c == "doc":
                    columns.update(_document_differences(live[c], rebuilt[c]))
                else:
                    columns[c] = (live[c], rebuilt[c])
            return cls(table, shown, "both", columns)
        side = "live" if live is not None else "rebuilt"
        values = {c: v for c, v in row.items()
                  if c not in UNSHOWN and c not in shown and not c.endswith("_k")
                  and v is not None}
        if "doc" in values:
            values["doc"] = _document_summary(values["doc"])
        if side == "live":
            return cls(table, shown, side, {c: (v, None) for c, v in values.items()})
        return cls(table, shown, side, {c: (None, v) for c, v in values.items()})

    def line(self) -> str:
        """One line: the table and key, then each differing column with both values."""
        view = VIEW_OF.get(self.table, self.table)
        where = self.table if view == self.table else f"{view}.{self.table}"
        key = ", ".join(f"{k} {_short(v)}" for k, v in self.key.items())
        items = list(self.columns.items())
        more = (f"; and {len(items) - SHOWN_VALUES} more columns"
                if len(items) > SHOWN_VALUES else "")
        if self.side == "both":
            body = "; ".join(f"{c}: live {_short(a)}, rebuilt {_short(b)}"
                             for c, (a, b) in items[:SHOWN_VALUES])
            return f"{where} [{key}]: {body or 'same values, other bytes'}{more}"
        what = ("in the live views only" if self.side == "live"
                else "missing from the live views (the rebuild has it)")
        index = 0 if self.side == "live" else 1
        body = ", ".join(f"{c} {_short(v[index])}" for c, v in items[:SHOWN_VALUES])
        return f"{where} [{key}]: {what}: {body}{more}"

    def to_dict(self) -> dict[str, Any]:
        view = VIEW_OF.get(self.table, self.table)
        return {"view": view, "table": self.table, "key": self.key, "side": self.side,
                "columns": {c: {"live": a, "rebuilt": b} for c, (a, b) in
                            self.columns.items()}}


class Differences(list[Difference]):
    """What `verify` found; `truncated`: it stopped at its limit, there are more."""

    def __init__(self, found: list[Difference], truncated: bool = False) -> None:
        super().__init__(found)
        self.truncated = truncated

# The view each compared table belongs to.
VIEW_OF: dict[str, str] = {t: v.name for v in VIEWS for t in v.compared}


def _document(value: Any) -> Any:
    """A document column's value as JSON data: packed bytes are unpacked, text and bytes
    of JSON read; anything else as it is."""
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, bytes | str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            pass
        if isinstance(value, bytes):
            try:
                return orjson.loads(unpack(value))
            except Exception:  # noqa: BLE001 - not a packed document: shown summarised
                return f"<{len(value)} bytes>"
    return value


def _document_summary(value: Any) -> Any:
    """A one-sided row's document: its id and keys, not its bytes."""
    doc = _document(value)
    if isinstance(doc, dict):
        return {k: doc[k] for k in ("id", "name", "kind") if k in doc} or \
            f"<{len(doc)} keys>"
    return doc


def _document_differences(live: Any, rebuilt: Any) -> dict[str, tuple[Any, Any]]:
    """The paths where two documents differ (`doc.sources`, `doc.figures.S.killed`), each
    with both values; a path missing on one side shows None there."""
    out: dict[str, tuple[Any, Any]] = {}

    def walk(a: Any, b: Any, path: str) -> None:
        if a == b:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b), key=str):
                step = f".{k}" if str(k).isprintable() and "." not in str(k) else f"[{k!r}]"
                walk(a.get(k), b.get(k), f"{path}{step}")
            return
        out[path] = (a, b)

    walk(_document(live), _document(rebuilt), "doc")
    return out


def _short(value: Any, width: int = 120) -> str:
    """A value as one short line: repr, cut at `width` characters."""
    text = repr(value).replace("\n", " ")
    return text if len(text) <= width else f"{text[:width - 1]}…"


class FoldFailure(Exception):
    """Raised inside the projector when a batch cannot be folded for a reason that is not
    an outage: positions `first`..`last`, in `units` units (one: the culprit is known)."""

    def __init__(self, at: int, first: int, last: int, report: str | None,
                 events: list[str], reason: str, units: int) -> None:
        self.at = at  # where the views stay
        self.first, self.last, self.report = first, last, report
        self.events, self.reason, self.units = events, reason, units
        super().__init__(f"positions {first}..{last}: {reason}")

    @classmethod
    def of(cls, events: list[RawEvent], position: int, last: int, error: BaseException
           ) -> FoldFailure:
        units = units_of(events)
        prov = events[0].data.get("provenance") or {}
        first_line = (str(error).splitlines() or [""])[0][:300]
        return cls(position, position + 1, last, prov.get("report") if len(units) == 1 else None,
                   sorted({e.name for e in events})[:20],
                   f"{type(error).__name__}: {first_line}", len(units))
