"""The `tracker` command (contract 2). Each command builds what it needs from the
environment's settings, calls the application service, and ends with one line,
or with JSON under --json."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from projections.wiring import Services, parse_as_of, parse_day
from tracker.application import ConflictTracker, to_jsonable
from tracker.config import Settings
from tracker.exceptions import ReportValidationError, TrackerError


def _tracker() -> ConflictTracker:
    return ConflictTracker.from_settings(Settings.from_env())


def _services() -> Services:
    return Services.from_settings(Settings.from_env())


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

    services = _services()
    try:
        results = load_seeds(services.tracker)
    except TrackerError as e:
        _fail(e)
    services.after_write()
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
    services = _services()
    results = []
    for f in files:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            click.echo(f"error: {f.name}: not valid JSON: {e}", err=True)
            sys.exit(1)
        try:
            result = services.record_report(data, recorded_by=recorded_by)
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


# -- the read side ----------------------------------------------------------------------------


def _progress_bar(label: str) -> Any:
    """A progress callback drawing a bar on a terminal; silent when output is piped."""
    if not sys.stderr.isatty():
        return None, lambda: None
    state: dict[str, Any] = {}

    def update(position: int, target: int) -> None:
        if "bar" not in state:
            state["bar"] = click.progressbar(length=target, label=label, file=sys.stderr)
            state["bar"].__enter__()
            state["done"] = 0
        state["bar"].update(position - state["done"])
        state["done"] = position

    def finish() -> None:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)

    return update, finish


@main.group()
def query() -> None:
    """Read the views (each subcommand takes --json and --as-of)."""


AS_OF = click.option("--as-of", "as_of", default=None,
                     help="Knowledge time: YYYY-MM-DD (end of that day, UTC) or ISO datetime.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")


def _dump(schema_name: str, data: Any) -> Any:
    """The same shape the API returns: dumped through the API's schema."""
    from api import schemas

    return getattr(schemas, schema_name)().dump(data)


def _views(as_of: str | None) -> Any:
    services = _services()
    if services.settings.inline_projection:
        services.runner.catch_up()
    return services.views(parse_as_of(as_of))


@query.command("leadership")
@click.argument("group")
@AS_OF
@JSON
def query_leadership(group: str, as_of: str | None, as_json: bool) -> None:
    """Current and former leaders of GROUP."""
    try:
        data = _dump("LeadershipSchema", _views(as_of).leadership(group))
    except TrackerError as e:
        _fail(e)
    if as_json:
        _print_json(data)
        return
    click.echo(f"{data['name']} ({data['group']})")
    for e in data["leaders"]:
        since = f" since {e['since']}" if e["since"] else ""
        click.echo(f"  {e['role']:<20} {e['name']}{since}")
    for e in data["former"]:
        click.echo(f"  former {e['role']:<13} {e['name']} until {e['until']} ({e['reason']}"
                   + (f", incident {e['incident']}" if e["incident"] else "") + ")")


@query.command("casualties")
@click.option("--by", "by", required=True,
              type=click.Choice(["country", "admin1", "actor", "month", "type"]))
@click.option("--country", default=None)
@click.option("--actor", default=None)
@click.option("--from", "date_from", default=None, help="YYYY-MM-DD")
@click.option("--to", "date_to", default=None, help="YYYY-MM-DD")
@AS_OF
@JSON
def query_casualties(by: str, country: str | None, actor: str | None, date_from: str | None,
                     date_to: str | None, as_of: str | None, as_json: bool) -> None:
    """Killed (best/low/high) and incidents, grouped by a dimension."""
    try:
        data = _dump("CasualtiesSchema", _views(as_of).casualties(
            by, country=country, actor=actor, date_from=parse_day(date_from, "--from"),
            date_to=parse_day(date_to, "--to")))
    except TrackerError as e:
        _fail(e)
    if as_json:
        _print_json(data)
        return
    for r in data["rows"]:
        k = r["killed"]
        click.echo(f"{r['key']:<40} best {k['best']:>7}  low {k['low']:>7}  "
                   f"high {k['high']:>7}  incidents {r['incidents']:>6}")
    t = data["total"]
    click.echo(f"{'total':<40} best {t['best']:>7}  low {t['low']:>7}  high {t['high']:>7}")


@query.command("operations")
@click.argument("operation", required=False)
@AS_OF
@JSON
def query_operations(operation: str | None, as_of: str | None, as_json: bool) -> None:
    """Operations with status, lead, partners, incidents and killed."""
    try:
        data = _views(as_of).operations(operation)
        data = _dump("OperationDetailSchema" if operation else "OperationsSchema", data)
    except TrackerError as e:
        _fail(e)
    if as_json:
        _print_json(data)
        return
    for op in data.get("operations", [data]):
        click.echo(f"{op['id']:<20} {op['status']:<10} lead {op['lead']:<15} "
                   f"incidents {len(op['incidents']):>4}  killed {op['killed']['best']}")


@query.command("incidents")
@click.option("--country", default=None)
@click.option("--actor", default=None)
@click.option("--from", "date_from", default=None, help="YYYY-MM-DD")
@click.option("--to", "date_to", default=None, help="YYYY-MM-DD")
@click.option("--limit", default=50, show_default=True)
@click.option("--cursor", default=None, help="The 'next' value of the previous page.")
@AS_OF
@JSON
def query_incidents(country: str | None, actor: str | None, date_from: str | None,
                    date_to: str | None, limit: int, cursor: str | None, as_of: str | None,
                    as_json: bool) -> None:
    """Incidents, newest first, filtered and paged."""
    try:
        data = _dump("IncidentsPageSchema", _views(as_of).incidents(
            country=country, actor=actor, date_from=parse_day(date_from, "--from"),
            date_to=parse_day(date_to, "--to"), limit=limit, cursor=cursor))
    except TrackerError as e:
        _fail(e)
    if as_json:
        _print_json(data)
        return
    for i in data["incidents"]:
        click.echo(f"{i['date']}  {i['id']:<32} {i['type']:<26} "
                   f"{i['location']['name']}, {i['location']['country']}  "
                   f"killed {i['killed']['best']}")
    if data["next"]:
        click.echo(f"more: --cursor {data['next']}")


@main.command()
@click.argument("names", nargs=-1)
@click.option("--verify", "verify_only", is_flag=True,
              help="Rebuild aside and compare with the live views; exit 1 on a difference.")
def rebuild(names: tuple[str, ...], verify_only: bool) -> None:
    """Rebuild views from the log, blue/green (readers switch when the new one is ready)."""
    services = _services()
    try:
        if verify_only:
            differences = services.runner.verify(names or None)
            bad = {n: d for n, d in differences.items() if d}
            for name, diffs in bad.items():
                click.echo(f"{name}: {len(diffs)} difference(s)", err=True)
                for line in diffs[:50]:
                    click.echo(f"  {line}", err=True)
            if bad:
                sys.exit(1)
            click.echo(f"ok: {', '.join(differences)} match a rebuild from the log")
            return
        bars: dict[str, Any] = {}

        def progress(name: str, position: int, target: int) -> None:
            if name not in bars:
                bars[name] = _progress_bar(f"rebuilding {name}")
            update, _ = bars[name]
            if update:
                update(position, target)

        switched = services.runner.rebuild(names or None, progress=progress)
        for _, finish in bars.values():
            finish()
    except ValueError as e:
        _fail(e)
    head = services.tracker.max_position()
    click.echo("rebuilt " + ", ".join(f"{n} -> {ns}" for n, ns in switched.items())
               + f" at position {head}")


@main.command()
@click.option("--follow", is_flag=True, help="Keep following the log until interrupted.")
@click.option("--poll", default=1.0, show_default=True,
              help="Seconds between checks when no notification arrives.")
@click.option("--batch-size", default=1000, show_default=True,
              help="Events folded per view transaction.")
def project(follow: bool, poll: float, batch_size: int) -> None:
    """Catch the views up with the log, or follow it (LISTEN/NOTIFY on PostgreSQL)."""
    import signal
    import threading

    services = _services()
    services.runner.batch_size = batch_size
    if not follow:
        done = services.runner.catch_up()
        click.echo(f"caught up: {done} events folded, views at position "
                   f"{services.tracker.max_position()}")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"following the log from position {min(services.runner.lag().values(), default=0)} "
               "behind the head; Ctrl-C to stop", err=True)
    services.runner.follow(stop, poll_interval=poll)
    click.echo("stopped", err=True)


@main.group("import")
def import_() -> None:
    """Import dataset exports (ACLED, UCDP GED) as events."""


def _run_import(dataset: str, path: str, strict: bool, retract_missing: bool,
                batch_size: int, release: str, as_json: bool) -> None:
    from tracker.ingestion.importer import Importer

    services = _services()
    importer = Importer(services.tracker, dataset, batch_size=batch_size, strict=strict,
                        release=release)
    update, finish = _progress_bar(f"importing {Path(path).name}")
    try:
        summary = importer.run(path, progress=update, retract_missing=retract_missing)
    except TrackerError as e:
        finish()
        _fail(e)
    finish()
    services.after_write()
    if as_json:
        _print_json(summary.to_dict())
        return
    for line in summary.errors[:20]:
        click.echo(f"rejected: {line}", err=True)
    if len(summary.errors) > 20:
        click.echo(f"... and {len(summary.errors) - 20} more rejected rows", err=True)
    if summary.flagged:
        click.echo(f"note: {summary.flagged} rows have low/high not bracketing best "
                   "(kept as given, flagged in the views)", err=True)
    click.echo(summary.line())


IMPORT_OPTIONS = [
    click.option("--strict", is_flag=True, help="Refuse the whole file if any row is bad."),
    click.option("--retract-missing", is_flag=True,
                 help="Retract this dataset's incidents that are not in the file."),
    click.option("--batch-size", default=500, show_default=True,
                 help="Rows recorded per atomic report."),
    click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
]


def _import_options(f: Any) -> Any:
    for option in reversed(IMPORT_OPTIONS):
        f = option(f)
    return f


@import_.command("acled")
@click.argument("path", type=click.Path(dir_okay=False))
@_import_options
def import_acled(path: str, strict: bool, retract_missing: bool, batch_size: int,
                 as_json: bool) -> None:
    """An ACLED CSV export (dyadic or monadic; pre- or post-2023 columns)."""
    _run_import("acled", path, strict, retract_missing, batch_size, "", as_json)


@import_.command("ucdp")
@click.argument("path", type=click.Path(dir_okay=False))
@_import_options
@click.option("--release", default="unknown", show_default=True,
              help="The GED release, e.g. 23.1 (kept in provenance).")
def import_ucdp(path: str, strict: bool, retract_missing: bool, batch_size: int,
                as_json: bool, release: str) -> None:
    """A UCDP GED bulk CSV."""
    _run_import("ucdp", path, strict, retract_missing, batch_size, release, as_json)


@import_.command("acled-deletions")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def import_acled_deletions(path: str, as_json: bool) -> None:
    """ACLED's deleted-events list (event_id_cnty, deleted_timestamp): retractions."""
    from tracker.ingestion.importer import Importer

    services = _services()
    try:
        summary = Importer(services.tracker, "acled").run_deletions(path)
    except TrackerError as e:
        _fail(e)
    services.after_write()
    if as_json:
        _print_json(summary.to_dict())
    else:
        click.echo(f"{summary.rows} rows read: {summary.retracted} incidents retracted, "
                   f"{summary.unchanged} unknown or already retracted, "
                   f"{summary.rejected} rejected")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
def serve(host: str, port: int) -> None:
    """Serve the HTTP API (development server; use gunicorn in production)."""
    from werkzeug.serving import run_simple

    from api import create_app

    app = create_app()
    click.echo(f"serving the API on http://{host}:{port}/api/v1 "
               f"(docs: http://{host}:{port}/api/v1/docs)", err=True)
    run_simple(host, port, app, threaded=True)


@main.group()
def token() -> None:
    """Manage API bearer tokens (roles: reader, reporter, admin)."""


@token.command("create")
@click.option("--role", required=True, type=click.Choice(["reader", "reporter", "admin"]))
@click.option("--name", default=None, help="Recorded as the principal on every event "
                                             "the token writes (default: a random name).")
def token_create(role: str, name: str | None) -> None:
    """Create a token and print it once (only its hash is stored)."""
    import secrets

    name = name or f"token-{secrets.token_hex(4)}"
    try:
        secret = _tracker().issue_token(name, role)
    except TrackerError as e:
        _fail(e)
    click.echo(secret)
    click.echo(f"token '{name}' ({role}) created; it is shown only this once", err=True)


@token.command("revoke")
@click.argument("name")
@click.option("--reason", default="revoked", show_default=True)
def token_revoke(name: str, reason: str) -> None:
    """Revoke a token by name."""
    try:
        _tracker().revoke_token(name, reason)
    except TrackerError as e:
        _fail(e)
    click.echo(f"token '{name}' revoked")


@token.command("list")
@click.option("--json", "as_json", is_flag=True)
def token_list(as_json: bool) -> None:
    """Every token issued: name, role, revoked (never the secret)."""
    tokens = _tracker().list_tokens()
    if as_json:
        _print_json({"tokens": tokens})
        return
    for t in tokens:
        click.echo(f"{t['name']:<24} {t['role']:<9} "
                   + (f"revoked: {t['revoked']}" if t["revoked"] else "active"))


if __name__ == "__main__":
    main()
