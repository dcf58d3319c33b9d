"""`tracker link …`: candidate same-event pairs across sources, and accepting them
(docs/linking.md)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from api.cli.common import _dump, _fail, _print_json, _services, main
from api.cli.reads import AS_OF, CSV, JSON, _filter, _filter_options, _views
from projections.linking import DEFAULT_DAYS, DEFAULT_KM, DEFAULT_MIN_SCORE, LinkParams
from tracker.exceptions import TrackerError
from tracker.wording import counted

if TYPE_CHECKING:
    from tracker.application import RecordResult


@main.group()
def link() -> None:
    """Link records of one event across sources: suggest candidates, accept them."""


@link.command("suggest")
@_filter_options
@click.option("--days", type=click.IntRange(0, 31), default=DEFAULT_DAYS, show_default=True,
              help="Date window, besides what each record's date precision allows.")
@click.option("--km", type=click.FloatRange(0, 500, min_open=True), default=DEFAULT_KM,
              show_default=True,
              help="Distance window, besides what each record's geo precision allows.")
@click.option("--min-score", type=click.FloatRange(0, 1), default=DEFAULT_MIN_SCORE,
              show_default=True, help="The lowest score listed (and accepted).")
@click.option("--accept", is_flag=True,
              help="Record the candidates listed as one report of same_incident links.")
@click.option("--by", "recorded_by", default="cli", show_default=True,
              help="Who is recording (with --accept).")
@AS_OF
@JSON
@CSV
def link_suggest(days: int, km: float, min_score: float, accept: bool, recorded_by: str,
                 as_of: str | None, as_json: bool, as_csv: bool, **kw: Any) -> None:
    """Candidate pairs of records from different sources that may be one event, scored on
    date, distance, event type, actors and figures; one-to-one, best first."""
    filters = _filter(kw)
    params = LinkParams(days=days, km=km, min_score=min_score)
    if accept and as_of:
        _fail(TrackerError("--accept records links for the present: drop --as-of"))
    try:
        with _views(as_of) as views:
            data = _dump("LinkCandidatesSchema", views.link_candidates(filters, params))
    except TrackerError as e:
        _fail(e)
    if accept:
        _accept(data["candidates"], data["method"], recorded_by,
                notes=f"filters {data['filters'] or 'none'}; {data['records']} records "
                      "searched", quiet=as_json or as_csv)
    if as_csv:
        from api.exports import csv_lines
        from api.linking import LINK_COLUMNS, candidate_record

        for text in csv_lines(map(candidate_record, data["candidates"]), list(LINK_COLUMNS)):
            sys.stdout.write(text)
        return
    if as_json:
        _print_json(data)
        return
    for c in data["candidates"]:
        r = c["reasons"]
        km_text = f"{r['km']} km" if r["km"] is not None else "same place"
        # No actor agreement when a side names no actors: left out of the score.
        actors = f"actors {r['actors']}" if r["actors"] is not None else \
            "actors not compared"
        click.echo(f"{c['score']:.3f}  {c['incident']} = {c['other']}  ({r['days']} d, "
                   f"{km_text}, {r['type']}, {actors}, killed {r['killed']})")
    click.echo(f"{counted(len(data['candidates']), 'candidate')} among "
               f"{counted(data['records'], 'record')} ({data['method']})", err=True)


def _accept(pairs: list[dict[str, Any]], method: str | None, recorded_by: str, notes: str,
            quiet: bool = False) -> None:
    if not pairs:
        click.echo("no candidates to accept; nothing recorded", err=True)
        return
    result, redo_of = _record_links(pairs, method, recorded_by, notes)
    click.echo(_recorded_line(result, len(pairs), redo_of), err=quiet)


def _record_links(pairs: list[dict[str, Any]], method: str | None, recorded_by: str,
                  notes: str) -> tuple[RecordResult, str | None]:
    """Records the pairs as one link report (api.linking.record_links: again, under a new
    id, when the report of the same pairs was retracted); a refusal ends the command."""
    from api.linking import record_links

    try:
        return record_links(_services(), pairs, method, notes, recorded_by)
    except TrackerError as e:
        _fail(e)
        raise  # unreachable: _fail exits


def _recorded_line(result: RecordResult, links: int, redo_of: str | None) -> str:
    """What recording the links did, in one line; "nothing new" only while the report of
    the same pairs is live (a retracted one is recorded again, and says so)."""
    if result.recorded:
        again = f" again (report '{redo_of}' of the same pairs was retracted)" \
            if redo_of else ""
        return (f"report '{result.report}' recorded: "
                f"{counted(links, 'same_incident link')}{again}")
    return (f"report '{result.report}' of the same pairs is live and was already recorded; "
            "nothing new")


@link.command("accept")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--by", "recorded_by", default="cli", show_default=True,
              help="Who is recording (kept in every event's provenance).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def link_accept(file: Any, recorded_by: str, as_json: bool) -> None:
    """Record the pairs of a reviewed `tracker link suggest --json|--csv` output (rows
    removed or not) as one report of same_incident links; '-' reads stdin."""
    from api.linking import read_pairs

    try:
        pairs, method = read_pairs(file.read(), file.name)
    except TrackerError as e:
        _fail(e)
    result, redo_of = _record_links(pairs, method, recorded_by, f"reviewed file {file.name}")
    if as_json:
        _print_json({"report": result.report, "recorded": result.recorded,
                     "links": len(pairs), "positions": result.positions,
                     "redo_of": redo_of})
        return
    click.echo(_recorded_line(result, len(pairs), redo_of))
