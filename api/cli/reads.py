"""Commands that read: log, history, verify, query."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from api.cli.common import (
    LazyChoice,
    _dump,
    _fail,
    _print_json,
    _services,
    _spans,
    _tracker,
    dimensions,
    main,
)
from projections.filters import FILTER_PARAMS
from tracker.audit import MAX_EVENTS_PAGE, MAX_POSITION
from tracker.exceptions import TrackerError
from tracker.wording import counted

if TYPE_CHECKING:
    from projections.readmodel.queries import IncidentFilter


@main.command()
@click.option("--after", default=0, show_default=True, type=click.IntRange(0, MAX_POSITION),
              help="Start after this position.")
@click.option("--limit", default=100, show_default=True,
              type=click.IntRange(1, MAX_EVENTS_PAGE), help="At most this many events.")
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON.")
def log(after: int, limit: int, as_json: bool) -> None:
    """The event log, in order."""
    try:
        page = _tracker().list_events(after=after, limit=limit)
    except TrackerError as error:
        _fail(error)
    if as_json:
        _print_json(page)
        return
    for e in page["events"]:
        entity = e["entity"]
        what = _what(e)
        subject = f"{entity['kind']}/{entity['id'] or e['payload'].get('key')}"
        click.echo(f"{e['position']:>8}  {e['recorded'][:19]}  {e['type']:<24} {subject}  "
                   + (f"{what}  " if what else "") + _by(e))
    if page["next"] is not None:
        click.echo(f"more: tracker log --after {page['next']}")


@main.command()
@click.argument("kind", type=click.Choice(["actor", "incident", "operation", "report", "link"]))
@click.argument("entity_id")
@click.option("--json", "as_json", is_flag=True, help="Print the history as JSON.")
def history(kind: str, entity_id: str, as_json: bool) -> None:
    """Every event of one entity, with provenance. An actor: its id, a name or an alias
    (the record that carries it; the JSON's id says which). A report: its own events, the
    events it recorded on other records, and those that withdrew them if retracted."""
    from api.routes.audit import history_answer

    def views() -> Any:  # only for a name or an alias: an id needs the event log alone
        services = _services()
        if services.settings.inline_projection:
            services.runner.catch_up()
        return services.views()

    try:
        data = history_answer(_tracker(), views, kind, entity_id, None)
    except TrackerError as e:
        _fail(e)
    if as_json:
        _print_json(data)
        return
    if data["id"] != entity_id:
        click.echo(f"{kind} {data['id']} (named {entity_id!r})")
    for event in data["events"]:
        what = _what(event)
        entity = event["entity"]
        # A report's history holds what it did to other records too: those name theirs.
        elsewhere = kind == "report" and (entity["kind"], entity["id"]) != (kind, data["id"])
        subject = f"{entity['kind']}/{entity['id']}  " if elsewhere else ""
        click.echo(f"{event['position']:>8}  {event['recorded'][:19]}  {event['type']}  "
                   + subject + (f"{what}  " if what else "") + _by(event))


def _what(event: dict[str, Any]) -> str:
    """What an event did, in words, where its type alone does not say it: a correction's
    before and after, the report a retraction withdraws, a token's name and role, the
    positions set aside."""
    p, kind = event["payload"], event["type"]
    key = event["entity"]["id"] or p.get("key")
    if kind in ("TokenIssued", "TokenReissued"):
        again = " again" if kind == "TokenReissued" else ""
        return f"token {p.get('key', key)} issued{again} ({p.get('role')})"
    if kind == "TokenRevoked":
        return f"token {key} revoked ({p.get('reason')})"
    if kind == "EventsQuarantined":
        positions = p.get("positions", [])
        return (f"{'position' if len(positions) == 1 else 'positions'} {_spans(positions)} "
                "set aside from the views "
                f"({p.get('reason')})")
    if "field" in p:
        return f"{p['field']}: {p.get('previous')!r} -> {p.get('value')!r} ({p.get('reason')})"
    if kind.endswith("ReportRetracted") and "report" in p:
        return f"report {p['report']} withdrawn ({p.get('reason')})"
    if kind.endswith("Retracted"):
        return f"{event['entity']['kind']} {key} retracted ({p.get('reason')})"
    if kind == "QuarantineOpened":
        return "the list of events set aside from the views is opened"
    said = _SAID.get(kind)
    return said(p) if said else ""


def _range(p: dict[str, Any]) -> str:
    low, high = p.get("low"), p.get("high")
    if low is None and high is None:
        return ""
    return f" ({'?' if low is None else low}-{'?' if high is None else high})"


def _when(p: dict[str, Any], key: str, word: str) -> str:
    return f" {word} {p[key]}" if p.get(key) else ""


# What the facts' events said, in words (the history's text lines; --json has it all).
_SAID: dict[str, Callable[[dict[str, Any]], str]] = {
    "CasualtiesReported": lambda p: (
        f"killed {p.get('killed')}{_range(p)} by {p.get('source')}"
        + (f", of {p['actor']}" if p.get("actor") else "")),
    "AssessmentRecorded": lambda p: (
        f"assessed: killed {p.get('killed')}{_range(p)} ({p.get('reason')})"),
    "AliasAdded": lambda p: f"alias {p.get('alias')!r}",
    "ActorRegistered": lambda p: (
        f"{(p.get('details') or {}).get('name')!r} ({(p.get('details') or {}).get('kind')})"),
    "IncidentReported": lambda p: " ".join(str(v) for v in (
        (p.get("details") or {}).get("date"), (p.get("details") or {}).get("type"),
        ((p.get("details") or {}).get("location") or {}).get("name")) if v),
    "OperationLaunched": lambda p: f"{(p.get('details') or {}).get('name')!r}",
    "OperationStatusChanged": lambda p: (
        f"status {p.get('previous')} -> {p.get('status')}{_when(p, 'when', 'on')}"),
    "RoleAssumed": lambda p: f"{p.get('role')} of {p.get('group')}{_when(p, 'since', 'since')}",
    "RoleEnded": lambda p: (
        f"{p.get('role')} of {p.get('group')} ended{_when(p, 'ended', 'on')} "
        f"({p.get('reason')})"),
    "DeathReported": lambda p: f"died{_when(p, 'when', 'on')}{_when(p, 'incident', 'in')}",
    "CaptureReported": lambda p: (
        f"captured{_when(p, 'when', 'on')}{_when(p, 'incident', 'in')}"),
    "ReleaseReported": lambda p: (
        f"released{_when(p, 'when', 'on')}{_when(p, 'incident', 'in')}"),
    "AffiliationRecorded": lambda p: (
        f"{p.get('relation')} {p.get('parent')}{_when(p, 'since', 'since')}"),
    "SanctionRecorded": lambda p: f"sanctioned by {p.get('authority')}{_when(p, 'listed', 'on')}",
    "MaterielReported": lambda p: f"{p.get('action')}: {', '.join(p.get('items') or [])}",
    "IdentityAsserted": lambda p: (
        f"{p.get('relation')}: {p.get('record')} and {p.get('other')}"
        + (f" (score {p['score']})" if p.get("score") is not None else "")),
}


def _by(event: dict[str, Any]) -> str:
    """The report an event came from, or who recorded it when no report did (tokens,
    quarantines: administration)."""
    provenance = event["provenance"]
    if provenance.get("report"):
        return f"[{provenance['report']}]"
    return f"[by {provenance.get('recorded_by') or 'the tracker'}]"


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify(as_json: bool) -> None:
    """Check the stored log against its hash chain (exit 1 at the first bad event), and
    that the views fold all of it (exit 1 if they are stuck at an event)."""
    services = _services()
    result = services.verify()
    views = result["views"]
    if as_json:
        _print_json(result)
    else:
        if result["ok"]:
            click.echo(f"ok: {counted(result['checked'], 'event')} verified, "
                       f"chain head {result['head']}")
        else:
            click.echo(f"FAILED after {counted(result['checked'], 'good event')}: "
                       f"{result['problem']}",
                       err=True)
        if views["stuck"]:
            click.echo(f"views STUCK: {views['stuck']['message']}", err=True)
        if views["quarantined"]:
            click.echo(f"{counted(len(views['quarantined']), 'event')} set aside from the "
                       "views: "
                       + ", ".join(f"{p} ({r})" for p, r in views["quarantined"].items()),
                       err=True)
    if not result["ok"] or not views["ok"]:
        sys.exit(1)


@main.group()
def query() -> None:
    """Read the views (each subcommand takes --json, and --as-of but for changes, whose
    --from and --to are knowledge times themselves)."""


AS_OF = click.option("--as-of", "as_of", default=None,
                     help="Knowledge time: YYYY-MM-DD (end of that day, UTC) or ISO datetime.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")


def _views(as_of: str | None) -> Any:
    from api.services import parse_as_of

    services = _services()
    if services.settings.inline_projection:
        services.runner.catch_up()
    return services.views(parse_as_of(as_of))


# One option per incident filter, named as the API's parameter (projections.filters).
FILTERS = [click.option(p.option, p.field, default=None, type=int if p.number else None,
                        help=p.help) for p in FILTER_PARAMS]


def _filter_options(f: Any) -> Any:
    for option in reversed(FILTERS):
        f = option(f)
    return f


def _filter(kw: dict[str, Any]) -> IncidentFilter:
    """The filters, checked by the API's own argument schema (the same rules)."""
    from marshmallow import ValidationError

    from api.schemas import FilterArgsSchema
    from projections.readmodel.queries import IncidentFilter, QueryError

    raw = {p.name: kw.pop(p.field) for p in FILTER_PARAMS}
    try:
        args = FilterArgsSchema().load({k: v for k, v in raw.items() if v is not None})
    except ValidationError as e:
        messages = e.messages if isinstance(e.messages, dict) else {"filters": e.messages}
        _fail(QueryError("; ".join(f"--{k.replace('_', '-')}: {' '.join(map(str, v))}"
                                   for k, v in messages.items())))
    return IncidentFilter.from_args(args)


@query.command("leadership")
@click.argument("group")
@AS_OF
@JSON
def query_leadership(group: str, as_of: str | None, as_json: bool) -> None:
    """Current and former leaders of GROUP (an id, a name or an alias)."""
    try:
        with _views(as_of) as views:
            data = _dump("LeadershipSchema", views.leadership(group))
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


CSV = click.option("--csv", "as_csv", is_flag=True, help="Print the API's CSV.")
FIELDS = click.option("--fields", default=None, help="CSV columns, in order (a,b,c).")


@query.command("casualties")
@click.option("--by", "by", required=True, type=LazyChoice(dimensions))
@_filter_options
@AS_OF
@JSON
@CSV
@FIELDS
def query_casualties(by: str, as_of: str | None, as_json: bool, as_csv: bool,
                     fields: str | None, **kw: Any) -> None:
    """Killed (best/low/high), civilians, wounded and incidents, grouped by a dimension."""
    from api.exports import CASUALTY_COLUMNS, casualty_record, columns, csv_lines

    filters = _filter(kw)
    try:
        cols = columns(fields, CASUALTY_COLUMNS)
        with _views(as_of) as views:
            data = _dump("CasualtiesSchema", views.casualties(by, filters))
    except TrackerError as e:
        _fail(e)
    if as_csv:
        for text in csv_lines(map(casualty_record, data["rows"]), cols):
            sys.stdout.write(text)
        return
    if as_json:
        _print_json(data)
        return
    for r in data["rows"]:
        k = r["killed"]
        # A region by its key: two countries' "Centre" are two rows.
        label = r["key"] if by in ("admin1", "admin2") else r["name"]
        click.echo(f"{label:<40} best {k['best']:>7}  low {k['low']:>7}  "
                   f"high {k['high']:>7}  incidents {r['incidents']:>6}")
    t = data["total"]
    click.echo(f"{'total':<40} best {t['best']:>7}  low {t['low']:>7}  high {t['high']:>7}")


@query.command("operations")
@click.argument("operation", required=False)
@click.option("--actor", default=None,
              help="Only the operations this actor (id, name or alias) leads or is a "
                   "partner of.")
@AS_OF
@JSON
def query_operations(operation: str | None, actor: str | None, as_of: str | None,
                     as_json: bool) -> None:
    """Operations with status, lead, partners, incidents and killed."""
    if operation and actor:
        raise click.UsageError("give an operation id or --actor, not both")
    try:
        with _views(as_of) as views:
            data = views.operations(operation, actor=actor)
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
@_filter_options
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--cursor", default=None, help="The 'next' value of the previous page.")
@AS_OF
@JSON
@CSV
@FIELDS
def query_incidents(limit: int, cursor: str | None, as_of: str | None, as_json: bool,
                    as_csv: bool, fields: str | None, **kw: Any) -> None:
    """Incidents, newest first, filtered and paged (--csv: every matching incident, or the
    first --limit when given)."""
    filters = _filter(kw)
    if as_csv:
        from itertools import islice

        from api.exports import INCIDENT_COLUMNS, columns, csv_lines, incident_record

        given = click.get_current_context().get_parameter_source("limit")
        try:
            cols = columns(fields, INCIDENT_COLUMNS)
            with _views(as_of) as views:
                docs = views.iter_incidents(filters, summary=False)
                if given is click.core.ParameterSource.COMMANDLINE:
                    docs = islice(docs, limit)
                for text in csv_lines(map(incident_record, docs), cols):
                    sys.stdout.write(text)
        except TrackerError as e:
            _fail(e)
        return
    try:
        with _views(as_of) as views:
            data = _dump("IncidentsPageSchema", views.incidents(filters, limit=limit,
                                                                 cursor=cursor))
    except TrackerError as e:
        _fail(e)
    if as_json:
        _print_json(data)
        return
    for i in data["incidents"]:
        click.echo(f"{i['date']}  {i['id']:<32} {i['type']:<26} "
                   f"{i['location']['name']}, {i['location']['country']}  "
                   f"killed {_figure(i['killed']['best'])}")
    if data["next"]:
        click.echo(f"more: --cursor {data['next']}")


def _figure(value: int | None) -> str:
    """A figure, or a dash where the source gave none (figures_from)."""
    return "—" if value is None else str(value)


@query.command("changes")
@click.option("--from", "date_from", required=True,
              help="Knowledge time: YYYY-MM-DD (end of that day, UTC) or ISO datetime.")
@click.option("--to", "date_to", default=None, help="Knowledge time; default now.")
@click.option("--by", "by", required=True, type=LazyChoice(dimensions))
@JSON
def query_changes(date_from: str, date_to: str | None, by: str, as_json: bool) -> None:
    """What changed between two knowledge times, per key, and the reports behind it."""
    from api.routes.views import changes

    names: dict[str, tuple[str, str]] = {}
    try:
        with _views(None) as views:
            data = _dump("ChangesSchema", changes(views, {"from_": date_from, "to": date_to,
                                                          "by": by}))
            if by == "actor" and not as_json:
                # By name, as `query casualties --by actor` prints them (the JSON keeps
                # the API's shape: ids).
                views.actor_names([r["key"] for r in data["rows"]], names)
    except TrackerError as e:
        _fail(e)
    if as_json:
        _print_json(data)
        return
    if not data["rows"]:
        positions = data["positions"]
        click.echo(f"no change by {by} between {data['from']} (position {positions['from']}) "
                   f"and {data['to'] or 'now'} (position {positions['to']})")
    for r in data["rows"]:
        b, a = r["before"], r["after"]
        causes = ", ".join(f"{c['report']} ({c['source']})" for c in r["causes"])
        label = names[r["key"]][1] if r["key"] in names else r["key"]
        click.echo(f"{label:<40} {b['best']:>7} -> {a['best']:<7} incidents "
                   f"{b['incidents']} -> {a['incidents']}  by {causes}")


@query.command("actors")
@click.option("--q", "q", default=None, help="Part of an id, a name or an alias.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--cursor", default=None, help="The 'next' value of the previous page.")
@AS_OF
@JSON
def query_actors(q: str | None, limit: int, cursor: str | None, as_of: str | None,
                 as_json: bool) -> None:
    """Actors by id, name or alias (case-insensitive), with their incident counts."""
    try:
        with _views(as_of) as views:
            data = _dump("ActorsPageSchema", views.actors(q, limit=limit, cursor=cursor))
    except TrackerError as e:
        _fail(e)
    if as_json:
        _print_json(data)
        return
    for a in data["actors"]:
        aliases = f"  aka {', '.join(a['aliases'])}" if a["aliases"] else ""
        click.echo(f"{a['id']:<40} {a['kind']:<12} incidents {a['incidents']:>6}  "
                   f"{a['name']}{aliases}")
    if data["next"]:
        click.echo(f"more: --cursor {data['next']}")


@query.command("actor")
@click.argument("actor")
@AS_OF
@JSON
def query_actor(actor: str, as_of: str | None, as_json: bool) -> None:
    """One actor (an id, a name or an alias): its row of `query actors`, plus title,
    affiliations, sanctions, roles and fate."""
    from api.routes.audit import actor_answer
    from api.services import parse_as_of

    try:
        when = parse_as_of(as_of)
        services = _services()
        if services.settings.inline_projection:
            services.runner.catch_up()
        with services.views(when) as views:
            data = _dump("ActorSchema", actor_answer(views, services.tracker, actor, when))
    except TrackerError as e:
        _fail(e)
    if as_json:
        _print_json(data)
        return
    aliases = f"  aka {', '.join(data['aliases'])}" if data["aliases"] else ""
    click.echo(f"{data['id']:<40} {data['kind']:<12} incidents {data['incidents']:>6}  "
               f"{data['name']}{aliases}")
    for label, value in (("title", data.get("title")),
                         ("linked", ", ".join(data.get("linked") or [])),
                         ("country", data.get("country"))):
        if value:
            click.echo(f"  {label}: {value}")
    for a in data.get("affiliations") or []:
        click.echo(f"  {a.get('relation')} {a.get('parent')}")
    for s in data.get("sanctions") or []:
        click.echo(f"  sanctioned by {s.get('authority')}")
    for r in (data.get("roles") or {}).values():
        click.echo(f"  {r.get('role')} of {r.get('group')}"
                   + (f" since {r['since']}" if r.get("since") else ""))
    for r in data.get("former_roles") or []:
        click.echo(f"  former {r.get('role')} of {r.get('group')}"
                   + (f" since {r['since']}" if r.get("since") else "")
                   + (f" until {r['until']}" if r.get("until") else "")
                   + (f" ({r['reason']})" if r.get("reason") else ""))
    if data.get("fate"):
        f = data["fate"]
        click.echo(f"  {f.get('fate')} on {f.get('date')}"
                   + (f" (incident {f['incident']})" if f.get("incident") else ""))
    if data.get("retracted"):
        click.echo(f"  retracted: {data['retracted']}")


@query.command("sources")
@AS_OF
@JSON
def query_sources(as_of: str | None, as_json: bool) -> None:
    """Every source live reports cite, with how many incidents each reported."""
    try:
        with _views(as_of) as views:
            data = _dump("SourcesSchema", views.sources())
    except TrackerError as e:
        _fail(e)
    if as_json:
        _print_json(data)
        return
    for row in data["sources"]:
        click.echo(f"{row['incidents']:>8}  {row['name']}")
