"""The `tracker` command (contract 2). Each command builds what it needs from the
environment's settings, calls the application service, and ends with one line,
or with JSON under --json."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from tracker.application import ConflictTracker, to_jsonable
from tracker.config import Settings
from tracker.exceptions import ReportValidationError, TrackerError


def _tracker() -> ConflictTracker:
    return ConflictTracker.from_settings(Settings.from_env())


def _print_json(data: Any) -> None:
    click.echo(json.dumps(to_jsonable(data), indent=2, ensure_ascii=False))


def _fail(error: Exception) -> None:
    """Prints a tracker error (every fact error on its own line) and exits 1."""
    click.echo(f"error: {error}" if not isinstance(error, ReportValidationError)
               else "error: report refused, nothing recorded:", err=True)
    if isinstance(error, ReportValidationError):
        for e in error.errors:
            where = f"fact {e.index}" if e.index is not None else "report"
            click.echo(f"  {where}, field '{e.field}': {e.message}", err=True)
    sys.exit(1)


@click.group()
def main() -> None:
    """Conflict tracker: every reported fact is an immutable event with its source."""


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def seed(as_json: bool) -> None:
    """Record the founding article's facts (idempotent)."""
    from seeds import load_seeds

    tracker = _tracker()
    try:
        results = load_seeds(tracker)
    except TrackerError as e:
        _fail(e)
    if as_json:
        _print_json({"reports": [r.to_dict() for r in results]})
        return
    new = sum(len(r.positions) for r in results)
    fresh = sum(r.recorded for r in results)
    click.echo(f"seeded: {fresh} of {len(results)} reports new, {new} events recorded")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--by", "recorded_by", default="cli", show_default=True,
              help="Who is recording (kept in every event's provenance).")
def report(files: tuple[Any, ...], as_json: bool, recorded_by: str) -> None:
    """Record fact reports from FILES ('-' reads standard input)."""
    tracker = _tracker()
    results = []
    for f in files:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            click.echo(f"error: {f.name}: not valid JSON: {e}", err=True)
            sys.exit(1)
        try:
            result = tracker.record_report(data, recorded_by=recorded_by)
        except TrackerError as e:
            click.echo(f"{f.name}:", err=True)
            _fail(e)
        results.append(result)
        if not as_json:
            if result.recorded:
                click.echo(f"{f.name}: report '{result.report}' recorded, "
                           f"{len(result.positions)} events "
                           f"(positions {result.positions[0]}-{result.positions[-1]})")
            else:
                click.echo(f"{f.name}: report '{result.report}' was already recorded; "
                           "nothing new")
    if as_json:
        _print_json({"reports": [r.to_dict() for r in results]})


@main.command()
@click.option("--after", default=0, show_default=True, help="Start after this position.")
@click.option("--limit", default=100, show_default=True, help="At most this many events.")
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON.")
def log(after: int, limit: int, as_json: bool) -> None:
    """The event log, in order."""
    page = _tracker().list_events(after=after, limit=limit)
    if as_json:
        _print_json(page)
        return
    for e in page["events"]:
        entity = e["entity"]
        click.echo(f"{e['position']:>8}  {e['recorded'][:19]}  {e['type']:<24} "
                   f"{entity['kind']}/{entity['id']}  [{e['provenance'].get('report')}]")
    if page["next"] is not None:
        click.echo(f"more: tracker log --after {page['next']}")


@main.command()
@click.argument("kind", type=click.Choice(["actor", "incident", "operation", "report"]))
@click.argument("entity_id")
@click.option("--json", "as_json", is_flag=True, help="Print the history as JSON.")
def history(kind: str, entity_id: str, as_json: bool) -> None:
    """Every event of one entity, with provenance."""
    try:
        events = _tracker().get_history(kind, entity_id)
    except TrackerError as e:
        _fail(e)
    if as_json:
        _print_json({"kind": kind, "id": entity_id, "events": events})
        return
    for e in events:
        p = e["payload"]
        line = f"{e['position']:>8}  {e['recorded'][:19]}  {e['type']}"
        if "field" in p:
            line += f"  {p['field']}: {p.get('previous')!r} -> {p.get('value')!r} ({p['reason']})"
        click.echo(f"{line}  [{e['provenance'].get('report')}]")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify(as_json: bool) -> None:
    """Check the stored log against its hash chain; exit 1 at the first bad event."""
    result = _tracker().verify()
    if as_json:
        _print_json(result.to_dict())
    elif result.ok:
        click.echo(f"ok: {result.checked} events verified, chain head {result.head}")
    else:
        click.echo(f"FAILED after {result.checked} good events: {result.problem}", err=True)
    if not result.ok:
        sys.exit(1)
