"""Commands that read: log, history, verify, query."""

from __future__ import annotations

import sys
from typing import Any

import click

from api.cli import _dump, _fail, _print_json, _services, _tracker, main
from projections.casualty_tallies import DIMENSIONS
from projections.wiring import parse_as_of, parse_day
from tracker.exceptions import TrackerError


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
    for event in events:
        p = event["payload"]
        line = f"{event['position']:>8}  {event['recorded'][:19]}  {event['type']}"
        if "field" in p:
            line += f"  {p['field']}: {p.get('previous')!r} -> {p.get('value')!r} ({p['reason']})"
        click.echo(f"{line}  [{event['provenance'].get('report')}]")


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


@main.group()
def query() -> None:
    """Read the views (each subcommand takes --json and --as-of)."""


AS_OF = click.option("--as-of", "as_of", default=None,
                     help="Knowledge time: YYYY-MM-DD (end of that day, UTC) or ISO datetime.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")


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
    for leader in data["leaders"]:
        since = f" since {leader['since']}" if leader["since"] else ""
        click.echo(f"  {leader['role']:<20} {leader['name']}{since}")
    for former in data["former"]:
        click.echo(f"  former {former['role']:<13} {former['name']} until {former['until']} "
                   f"({former['reason']}"
                   + (f", incident {former['incident']}" if former["incident"] else "") + ")")


@query.command("casualties")
@click.option("--by", "by", required=True,
              type=click.Choice(DIMENSIONS))
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
