"""Imports dataset exports through ConflictTracker, never writing events itself.

Rows are diffed against what is recorded: a new incident becomes actor, incident and
casualty facts; a changed one becomes correction facts for the changed fields only (and a
new figure from the dataset, which supersedes its earlier one); an unchanged one, nothing.
Batches of rows are recorded as reports, each atomic. So the same file twice records
nothing, and an import killed part-way and run again records exactly what one clean import
would have.

Unchanged rows cost next to nothing on a re-import: each incident's row is fingerprinted
(what the parser made of it, and the importer's version), and the fingerprint is kept beside
the events once the row's facts are recorded (or found already recorded). A row whose
fingerprint matches is counted unchanged without loading its incident. The fingerprints are
a cache: kept after the events they summarise, never instead of them; where one is missing,
the row is compared with the recorded incident as before.

Figures are published when the dataset says (docs/cli.md, "Publication dates"): an ACLED
row's figure at the row's `timestamp`, a UCDP GED file's figures at its release's date
(`published`, else derived from the release: given, or read from the file's name). A
re-import whose rows give the same figures records nothing, whatever their dates say: a
figure keeps the date it was first given with (ACLED's `timestamp` moves with any change to
a row, a corrected note as much as a new count, so it does not say the count was
published again). A row with a new figure records it, published at the row's new date.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from tracker.domain.incident import Incident
from tracker.exceptions import ReportConflictError, ReportValidationError
from tracker.figures import current_figure
from tracker.ingestion import acled, ucdp
from tracker.ingestion.rows import (
    DatasetEvent,
    IngestionError,
    RowError,
    actor_key,
    normalize_name,
    where,
)
from tracker.ingestion.sources import Progress, Reading, open_rows, scan
from tracker.names import NameEvents
from tracker.reports import content_hash, parse_report
from tracker.wording import counted

if TYPE_CHECKING:
    from tracker.application import ConflictTracker

COMPARED = ("date", "date_end", "date_precision", "type", "subtype", "notes", "attributes",
            "actors")
LOCATION_FIELDS = ("name", "country", "admin1", "admin2", "admin3", "region", "latitude",
                   "longitude", "geo_precision")


@dataclass
class ImportSummary:
    """What an import did. `rows` counts the rows (JSON: records) read, `incidents` the
    dataset events in them (a monadic event spans several rows), `rejected` the rows
    refused; `events` the events recorded in the log."""

    path: str
    rows: int = 0
    incidents: int = 0
    duplicates: int = 0
    hxl: bool = False
    format: str = "csv"
    new: int = 0
    corrected: int = 0
    unchanged: int = 0
    retracted: int = 0
    skipped_retracted: int = 0
    rejected: int = 0
    flagged: int = 0
    actors_new: int = 0
    events: int = 0
    errors: list[str] = field(default_factory=list)
    # The release, and the date the file's figures count as published where its rows do
    # not say (ACLED's rows do: `timestamp`); None: the import report's date.
    release: str | None = None
    published: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "path", "format", "rows", "incidents", "duplicates", "hxl", "new", "corrected",
            "unchanged", "retracted", "skipped_retracted", "rejected", "flagged", "actors_new",
            "events", "release", "published")} | {"errors": self.errors[:100]}

    @property
    def imported(self) -> int:
        """Incidents the file now stands for in the store (new, corrected or unchanged)."""
        return self.new + self.corrected + self.unchanged

    def line(self) -> str:
        unit = "record" if self.format == "json" else "row"
        read = [counted(self.incidents, "dataset event")]
        if self.duplicates:
            read.append(f"{counted(self.duplicates, 'exact duplicate row')} counted once")
        if self.hxl:
            read.append("HXL hashtag row skipped")
        return (f"{counted(self.rows, unit)} read ({'; '.join(read)}): "
                f"{counted(self.new, 'incident')} new, "
                f"{self.corrected} corrected, {self.unchanged} unchanged, {self.retracted} "
                f"retracted, {counted(self.rejected, unit)} rejected; "
                f"{counted(self.actors_new, 'new actor')}, "
                f"{counted(self.events, 'event')} recorded{self._dates()}")

    def _dates(self) -> str:
        if self.release is None:  # ACLED: each row's own date
            return ""
        dates = (f"; release {self.release}, figures published "
                 f"{self.published or 'on the import day (no --published)'}")
        if self.unchanged:
            # A figure's date is fixed when it is recorded (docs/cli.md, "Publication
            # dates"): rows already recorded keep theirs, whatever this import was given.
            keep = "keeps its figure's" if self.unchanged == 1 else "keep their figures'"
            dates += f" ({counted(self.unchanged, 'unchanged row')} {keep} first date)"
        return dates


# Part of every fingerprint: a change to how rows become facts makes every row compared again.
# 4: figures carry the dataset's publication date.
MAPPING_VERSION = "4"
# Batches between writes of the fingerprints. Their keys fall at random in the fingerprints'
# index, so each write dirties about a page per key until it covers the whole index: at a
# million events (500,000 fingerprints, ~3,400 index pages) one write of 25,000 dirties
# hardly more pages than one of 5,000 (an import of 29,800 rows into a 1M-event store:
# 79 -> 29 MB written for them, 525 -> 480 MB in all).
FINGERPRINT_BATCHES = 50


# The fingerprint an incident retracted by an import (deletions, --retract-missing) is left
# with: no row's fingerprint (those are hex digests), so its rows are compared again.
RETRACTED = "retracted"


def fingerprint(event: DatasetEvent, context: str) -> str:
    """What an incident's rows said: their values as read (the line they were on aside),
    with the importer's mapping version and the import's context (dataset, release). The
    same rows, mapped the same way, make the same facts."""
    canonical = "\x1e".join((MAPPING_VERSION, context, event.incident_id, *event.raw))
    return hashlib.sha1(canonical.encode()).hexdigest()


class Row(NamedTuple):
    """One dataset event's facts, as a batch records them: the actors it names first
    (new to the store), its own facts, and what they make of its incident (`_row_facts`)."""

    event: DatasetEvent
    actors: list[dict[str, Any]]
    facts: list[dict[str, Any]]
    kind: str


@dataclass
class BatchReport:
    """A batch's report, which row each of its facts comes from, and the new actors in it."""

    data: dict[str, Any]
    owners: list[int]
    actors: set[str]

    def errors_by_row(self, error: ReportValidationError) -> dict[int, str]:
        """The format's refusals, per row: each names the fact's type and field (an
        actor's `name` is the actor column's value, an incident's `notes` the notes')."""
        out: dict[int, list[str]] = {}
        facts = self.data["facts"]
        for err in error.errors:
            if err.index is not None and err.index < len(self.owners):
                kind = facts[err.index].get("fact", "fact")
                out.setdefault(self.owners[err.index], []).append(
                    f"{kind} {err.field}: {err.message}")
        return {i: "; ".join(messages) for i, messages in out.items()}


def actor_refs(facts: list[dict[str, Any]]) -> list[str]:
    """The actor ids a row's facts name (its incident's actors, or a correction of them)."""
    refs: list[str] = []
    for fact in facts:
        if fact["fact"] == "incident":
            refs += [a["actor"] for a in fact.get("actors") or ()]
        elif fact["fact"] == "correction" and fact.get("field") == "actors":
            refs += [a["actor"] for a in fact.get("value") or ()]
    return refs


class ActorResolver:
    """Dataset actor names -> actor ids, through every recorded name and alias."""

    def __init__(self, tracker: ConflictTracker) -> None:
        self.names: dict[str, str] = {}
        keys: dict[Any, str] = {}
        given: defaultdict[tuple[Any, Any], list[str]] = defaultdict(list)
        for e, key, names in NameEvents(tracker, keys=keys, also=("ActorReportRetracted",)):
            if key is None:
                continue
            if type(e).__name__ == "ActorReportRetracted":
                # A retracted report's aliases resolve nothing any more.
                for alias in given.pop((e.originator_id, e.report), []):
                    if self.names.get(normalize_name(alias)) == key:
                        del self.names[normalize_name(alias)]
                continue
            if type(e).__name__ == "AliasAdded":
                given[(e.originator_id, e.provenance.get("report"))].append(e.alias)
            for name in names:
                self.names[normalize_name(name)] = key

    def resolve(self, name: str) -> str | None:
        return self.names.get(normalize_name(name))

    def add(self, name: str, key: str) -> None:
        self.names[normalize_name(name)] = key

    def forget(self, name: str) -> None:
        self.names.pop(normalize_name(name), None)


class Importer:
    """Streams one export into the tracker, in batches of rows."""

    def __init__(self, tracker: ConflictTracker, dataset: str, *, batch_size: int = 500,
                 strict: bool = False, release: str | None = None,
                 published: str | None = None, recorded_by: str = "import") -> None:
        """`release`: the dataset's release (UCDP: read from the file's name when not
        given, else "unknown"). `published` (YYYY-MM-DD): when the file's figures were
        published, for rows that do not say (UCDP: else the release's date, see
        tracker.ingestion.ucdp.release_published)."""
        if dataset not in ("acled", "ucdp"):
            raise IngestionError(f"unknown dataset {dataset!r}: use acled or ucdp")
        self.tracker = tracker
        self.dataset = dataset
        self.module: Any = acled if dataset == "acled" else ucdp
        self.batch_size = batch_size
        self.strict = strict
        self.given_release = release
        self.release = release or "unknown"
        self.published = publication_day(published) if published else None
        self.file_published = self.published
        self.recorded_by = recorded_by

    def _dates_for(self, path: Path) -> None:
        """The release and the figures' date for this file."""
        release, published = self.given_release, self.published
        if self.dataset == "ucdp":
            release = release or ucdp.release_from_name(path.name)
            published = published or ucdp.release_published(release)
        self.release, self.file_published = release or "unknown", published

    # -- reading ----------------------------------------------------------------------------

    def _events(self, path: Path, reading: Reading, progress: Progress | None
                ) -> Iterator[DatasetEvent | RowError]:
        rows = open_rows(path, reading, self.module.check_columns, self.module.SOURCE_NAME,
                         "data" if self.dataset == "acled" else "Result", progress)
        # The layout (ACLED: dyadic or monadic; UCDP: bulk or explorer) is known once the
        # header has been read.
        first = next(rows, None)
        if first is None:
            return iter(())
        rows = itertools.chain([first], rows)
        if self.dataset == "acled":
            return acled.parse_rows(rows, acled.is_monadic(reading.columns))
        return ucdp.parse_rows(rows, self.release, ucdp.is_explorer(reading.columns))

    # -- the import ---------------------------------------------------------------------------

    def run(self, path: str | Path, progress: Progress | None = None,
            retract_missing: bool = False, pace: Callable[[], None] | None = None
            ) -> ImportSummary:
        """Imports the file. `pace` is called after each batch is recorded: it may wait
        (the command line's waits while the views fall too far behind)."""
        path = Path(path)
        if not path.is_file():
            raise IngestionError(f"{path}: no such file")
        digest = scan(path)  # refuses a file that is not UTF-8 before anything is recorded
        self._dates_for(path)
        summary = ImportSummary(str(path), release=self.release if self.dataset == "ucdp"
                                else None, published=self.file_published)
        if self.strict:
            bad = self._strict_check(path)
            if bad:
                raise IngestionError(f"{path}: {counted(len(bad), 'bad row')}, nothing "
                                     "imported (--strict): " + "; ".join(bad[:20]))
        resolver = ActorResolver(self.tracker)
        seen: set[str] | None = set() if retract_missing else None
        batch: list[DatasetEvent] = []
        number = 0
        reading = Reading()
        self.unit = "line"
        self._prints: list[tuple[str, str]] = []
        for item in self._events(path, reading, progress):
            self.unit = reading.unit
            if isinstance(item, RowError):
                summary.rejected += 1
                summary.errors.append(item.describe(str(path), reading.unit))
                continue
            summary.incidents += 1
            if seen is not None:
                seen.add(item.incident_id)
            batch.append(item)
            if len(batch) >= self.batch_size:
                self._record_batch(batch, digest, number, resolver, summary, str(path))
                number += 1
                batch = []
                if pace is not None:
                    pace()
        if batch:
            self._record_batch(batch, digest, number, resolver, summary, str(path))
        self._flush_fingerprints()
        summary.rows, summary.duplicates = reading.rows, reading.duplicates
        summary.hxl, summary.format = reading.hxl, reading.format
        if seen is not None:
            self._retract_missing(seen, digest, summary)
        return summary

    def _strict_check(self, path: Path) -> list[str]:
        """Every bad row of the file, before anything is recorded (--strict): rows that
        cannot be read, and rows whose facts the report format refuses (its limits), each
        checked as a new incident would be recorded."""
        check = Reading()
        bad: list[tuple[int, str]] = []
        resolver = ActorResolver(self.tracker)
        scratch = ImportSummary(str(path))
        rows: list[Row] = []

        def validate() -> None:
            pool = {a["id"]: a for row in rows for a in row.actors}
            report = self._batch_report(rows, pool, "strict-check", str(path), "")
            try:
                parse_report(report.data)
            except ReportValidationError as e:
                for i, messages in report.errors_by_row(e).items():
                    line = rows[i].event.line
                    bad.append((line, f"{where(str(path), line, check.unit)}: {messages}"))
            rows.clear()

        for item in self._events(path, check, None):
            if isinstance(item, RowError):
                bad.append((item.line, item.describe(str(path), check.unit)))
                continue
            actors: list[dict[str, Any]] = []
            facts, kind = self._row_facts(item, resolver, actors, scratch, {})
            rows.append(Row(item, actors, facts, kind))
            if len(rows) >= self.batch_size:
                validate()
        if rows:
            validate()
        return [message for _, message in sorted(bad, key=lambda b: b[0])]

    def _batch_report(self, rows: list[Row], pool: dict[str, dict[str, Any]],
                      report_id: str, path: str, digest: str) -> BatchReport:
        """The report recording `rows`: the actors of `pool` (new to the store) they name,
        each once, owned by the first row naming it, then each row's facts."""
        facts: list[dict[str, Any]] = []
        owners: list[int] = []
        named: dict[str, int] = {}
        for i, row in enumerate(rows):
            for key in actor_refs(row.facts):
                if key in pool:
                    named.setdefault(key, i)
        for key, i in named.items():
            facts.append(pool[key])
            owners.append(i)
        for i, row in enumerate(rows):
            facts.extend(row.facts)
            owners.extend([i] * len(row.facts))
        source: dict[str, Any] = {"name": self.module.SOURCE_NAME, "kind": "dataset"}
        if digest:
            source["reference"] = f"{Path(path).name} sha256:{digest[:16]}"
        return BatchReport({"report": report_id, "source": source, "facts": facts}, owners,
                           set(named))

    def _record_batch(self, batch: list[DatasetEvent], digest: str, number: int,
                      resolver: ActorResolver, summary: ImportSummary, path: str) -> None:
        context = f"{self.dataset}\x1f{self.release}\x1f{self.file_published or ''}"
        prints = {e.incident_id: fingerprint(e, context) for e in batch}
        known = self.tracker.import_fingerprints(list(prints))
        unchanged = {k for k, fp in prints.items() if known.get(k) == fp}
        if unchanged:
            summary.unchanged += sum(1 for e in batch if e.incident_id in unchanged)
            batch = [e for e in batch if e.incident_id not in unchanged]
        settled = self._record_rows(batch, digest, number, resolver, summary, path)
        # Kept in memory and written every FINGERPRINT_BATCHES batches (a commit each): a
        # fingerprint lost in a crash only means its row is compared again next time.
        self._prints.extend((k, prints[k]) for k in settled if known.get(k) != prints[k])
        if len(self._prints) >= FINGERPRINT_BATCHES * self.batch_size:
            self._flush_fingerprints()

    def _flush_fingerprints(self) -> None:
        # In key order: neighbouring keys share index pages.
        self.tracker.remember_import_fingerprints(sorted(self._prints))
        self._prints = []

    def _record_rows(self, batch: list[DatasetEvent], digest: str, number: int,
                     resolver: ActorResolver, summary: ImportSummary, path: str) -> set[str]:
        """Records the facts of these rows; returns the incidents now as the rows say."""
        if not batch:
            return set()
        existing = self._existing_incidents([e.incident_id for e in batch])
        rows: list[Row] = []
        in_batch: set[str] = set()
        settled: set[str] = set()
        for event in batch:
            if event.incident_id in in_batch:
                summary.rejected += 1
                summary.errors.append(f"{where(path, event.line, self.unit)}: event id "
                                      f"{event.incident_id} appears again (rows of one event "
                                      "must be adjacent)")
                continue
            in_batch.add(event.incident_id)
            new_actors: list[dict[str, Any]] = []
            facts, kind = self._row_facts(event, resolver, new_actors, summary, existing)
            if facts:
                rows.append(Row(event, new_actors, facts, kind))
            elif kind == "unchanged":
                settled.add(event.incident_id)
        # The actors new to the store, whichever row named them first.
        pool = {a["id"]: a for row in rows for a in row.actors}
        # Validation happens once, in record_report. A refused batch names the facts at
        # fault: their rows are reported as rejected and the rest of the batch is retried
        # (an actor a rejected row named first is then recorded with the next row naming it).
        report_id = f"{self.dataset}-import-{digest[:16]}-{number:06d}"
        recorded: set[str] = set()
        while rows:
            report = self._batch_report(rows, pool, report_id, path, digest)
            try:
                result = self._record(report.data)
            except ReportValidationError as e:
                bad = report.errors_by_row(e)
                if not bad:
                    raise IngestionError(f"{path}: batch {number} was refused: {e}") from e
                for i, messages in sorted(bad.items()):
                    summary.rejected += 1
                    summary.errors.append(f"{where(path, rows[i].event.line, self.unit)}: "
                                          + messages)
                rows = [r for i, r in enumerate(rows) if i not in bad]
                continue
            summary.events += len(result.positions)
            if result.recorded:
                summary.actors_new += len(report.actors)
            recorded = report.actors
            for row in rows:
                setattr(summary, row.kind, getattr(summary, row.kind) + 1)
            settled.update(row.event.incident_id for row in rows)
            break
        for key, actor in pool.items():
            if key not in recorded:
                resolver.forget(actor["name"])  # named only by rejected rows: not recorded
        return settled

    def _record(self, report: dict[str, Any]) -> Any:
        """Records a batch's report. Its id (the file's digest and the batch's number) was
        taken by an earlier import of this file whose batch held other rows (rows
        rejected then and again now, or recorded since): the batch's own content then
        names it, so the rows are recorded, and the same rows again record nothing."""
        try:
            return self.tracker.record_report(report, recorded_by=self.recorded_by)
        except ReportConflictError:
            again = {**report, "report": f"{report['report']}-"
                                         f"{content_hash(report['facts'])[:12]}"}
            return self.tracker.record_report(again, recorded_by=self.recorded_by)

    def _existing_incidents(self, keys: list[str]) -> dict[str, Incident]:
        """The recorded incidents among `keys`: one existence query, then only those read."""
        from tracker.domain.base import entity_id

        ids = {entity_id("incident", k): k for k in keys}
        found = self.tracker.existing(list(ids))
        wanted = keys if found is None else [ids[i] for i in found]
        out = {}
        for key in wanted:
            incident = self._incident(key)
            if incident is not None:
                out[key] = incident
        return out

    def _row_facts(self, event: DatasetEvent, resolver: ActorResolver,
                   new_actors: list[dict[str, Any]], summary: ImportSummary,
                   existing_incidents: dict[str, Incident]
                   ) -> tuple[list[dict[str, Any]], str]:
        """The row's facts, and what they make of its incident: "new", "corrected",
        "unchanged" (counted here) or "skipped_retracted" (counted here). New and corrected
        rows are counted once recorded (a row the format refuses is counted rejected)."""
        details = dict(event.details)
        details["actors"] = []
        for a in event.actors:
            key = resolver.resolve(a.name)
            if key is None:
                key = actor_key(self.dataset, a.name)
                resolver.add(a.name, key)
                new_actors.append({"fact": "actor", "id": key, "name": a.name, "kind": a.kind})
            entry: dict[str, Any] = {"actor": key, "side": a.side}
            if a.associated:
                entry["associated"] = True
            if a.inter is not None:
                entry["inter"] = a.inter
            if entry not in details["actors"]:
                details["actors"].append(entry)
        ref = {k: v for k, v in event.ref.items() if v is not None}
        figure: dict[str, Any] = {"fact": "casualties", "incident": event.incident_id,
                                  "killed": event.killed, "ref": ref}
        if event.low is not None:
            figure.update(low=event.low, high=event.high)
        if event.breakdown:
            figure["breakdown"] = event.breakdown
        published = event.published or self.file_published
        if published:
            figure["published"] = published
        if (event.low is not None and event.low > event.killed) or (
                event.high is not None and event.high < event.killed):
            summary.flagged += 1
        existing = existing_incidents.get(event.incident_id)
        if existing is None:
            return [{"fact": "incident", "id": event.incident_id, **details, "ref": ref},
                    figure], "new"
        if existing.retracted:
            summary.skipped_retracted += 1
            return [], "skipped_retracted"
        facts = self._corrections(existing, details, ref)
        # The dataset's current figure, by the same rules as the views (tracker.figures).
        current = current_figure(existing.figures, self.module.SOURCE_NAME)
        if current is None or (current["killed"], current["low"], current["high"]) != (
                event.killed, event.low, event.high):
            facts.append(figure)
        if facts:
            return facts, "corrected"
        summary.unchanged += 1
        return facts, "unchanged"

    def _incident(self, key: str) -> Incident | None:
        from eventsourcing.application import AggregateNotFoundError

        from tracker.domain.base import entity_id

        try:
            agg: Any = self.tracker.repository.get(entity_id("incident", key))
        except AggregateNotFoundError:
            return None
        return agg if isinstance(agg, Incident) else None

    def _corrections(self, existing: Incident, details: dict[str, Any],
                     ref: dict[str, Any]) -> list[dict[str, Any]]:
        from tracker.audit import to_jsonable

        current = to_jsonable(existing.details)
        facts = []

        def correct(field_name: str, value: Any) -> None:
            facts.append({"fact": "correction", "target": {"incident": existing.key},
                          "field": field_name, "value": value, "ref": ref,
                          "reason": f"changed in a newer {self.module.SOURCE_NAME} export"})

        for name in COMPARED:
            new, old = details.get(name), current.get(name)
            if new is not None and new != old:
                correct(name, new)
        for name in LOCATION_FIELDS:
            new = details["location"].get(name)
            if new is not None and new != current.get("location", {}).get(name):
                correct(f"location.{name}", new)
        return facts

    def _retract_missing(self, seen: set[str], digest: str, summary: ImportSummary) -> None:
        prefix = f"{self.dataset}:" if self.dataset == "acled" else "ucdp-ged:"
        facts = []
        topic = "tracker.domain.incident:Incident.IncidentReported"
        after = 0
        while True:
            batch = self.tracker.recorder.select_notifications(after, 1000, topics=[topic],
                                                               inclusive_of_start=False)
            for n in batch:
                e: Any = self.tracker.mapper.to_domain_event(n)
                if e.key.startswith(prefix) and e.key not in seen:
                    incident = self._incident(e.key)
                    if incident is not None and not incident.retracted:
                        facts.append({"fact": "retraction", "target": {"incident": e.key},
                                      "reason": f"missing from a newer {self.module.SOURCE_NAME}"
                                                " export (--retract-missing)"})
            if len(batch) < 1000:
                break
            after = batch[-1].id
        self._record_retractions(facts, f"{self.dataset}-missing-{digest[:16]}", summary)

    def _record_retractions(self, facts: list[dict[str, Any]], report_id: str,
                            summary: ImportSummary) -> None:
        for start in range(0, len(facts), self.batch_size):
            chunk = facts[start:start + self.batch_size]
            result = self.tracker.record_report({
                "report": f"{report_id}-{start // self.batch_size:06d}",
                "source": {"name": self.module.SOURCE_NAME, "kind": "dataset"},
                "facts": chunk}, recorded_by=self.recorded_by)
            summary.retracted += len(chunk) if result.recorded else 0
            summary.events += len(result.positions)
        # A retracted incident's rows no longer stand for what is recorded: their
        # fingerprints are replaced, so a later import of them compares them with the
        # incident again (and counts them skipped_retracted, not unchanged).
        self.tracker.remember_import_fingerprints(sorted(
            (f["target"]["incident"], RETRACTED) for f in facts if "incident" in f["target"]))

    def run_deletions(self, path: str | Path) -> ImportSummary:
        """ACLED's deleted-events list: each listed incident we hold is retracted."""
        path = Path(path)
        if not path.is_file():
            raise IngestionError(f"{path}: no such file")
        summary = ImportSummary(str(path))
        facts = []
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            columns = reader.fieldnames or []
            # Every row listed is retracted, and a retraction is for good: a file without
            # the list's own column (an export of events, say) is refused before any row.
            missing = [c for c in DELETION_COLUMNS if c not in columns]
            if missing:
                hint = (" (this is an export of events: import it with `tracker import "
                        "acled`)" if "event_date" in columns else "")
                raise IngestionError(f"{path}: not an ACLED deleted-events list: no "
                                     f"{', '.join(missing)} column{hint}; nothing retracted")
            for item in acled.parse_deletions((reader.line_num, row) for row in reader):
                summary.rows += 1
                if isinstance(item, RowError):
                    summary.rejected += 1
                    summary.errors.append(item.describe(str(path)))
                    continue
                line, key, deleted = item
                incident = self._incident(key)
                if incident is None or incident.retracted:
                    summary.unchanged += 1
                    continue
                facts.append({"fact": "retraction", "target": {"incident": key},
                              "reason": f"deleted by ACLED (deleted_timestamp {deleted})",
                              "ref": {"dataset": "ACLED", "row": key.split(":", 1)[1],
                                      "line": line, "deleted_timestamp": deleted}})
        self._record_retractions(facts, f"acled-deletions-{file_digest(path)[:16]}", summary)
        return summary


# The columns of ACLED's deleted-events list (its API's `deleted` endpoint and export).
DELETION_COLUMNS = ("event_id_cnty", "deleted_timestamp")


def publication_day(value: str) -> str:
    """A `--published` date, checked as the report format checks dates."""
    from tracker.fields import Invalid, iso_date

    try:
        return iso_date(value.strip()).isoformat()
    except Invalid as e:
        raise IngestionError(f"published {value!r} {e}") from None


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
