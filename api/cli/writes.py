"""Commands that record: seed, report, import."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from api.cli.common import _echo_error, _fail, _print_json, _progress_bar, _services, main
from tracker.exceptions import ReportValidationError, TrackerError
from tracker.wording import counted


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
    for r in results:
        if r.warning:
            click.echo(f"{r.report}: {r.warning}")
    new = sum(len(r.positions) for r in results)
    fresh = sum(r.recorded for r in results)
    click.echo(f"seeded: {fresh} of {counted(len(results), 'report')} new, "
               f"{counted(new, 'event')} recorded")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.File("rb"))
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON (what was "
              "recorded, the refused file, the files not processed).")
@click.option("--by", "recorded_by", default="cli", show_default=True,
              help="Who is recording (kept in every event's provenance).")
def report(files: tuple[Any, ...], as_json: bool, recorded_by: str) -> None:
    """Record fact reports from FILES, in the order given ('-' reads standard input).

    Each file is one report, recorded whole or not at all. The first refused file stops
    the command: the files after it are named as not processed, not recorded out of their
    order (a later report may build on, or correct, the refused one). Exit 1 then."""
    services = _services()
    results: list[tuple[str, Any]] = []
    for n, f in enumerate(files):
        name = getattr(f, "name", "<stdin>")  # standard input read as bytes has none
        outcome = _record_file(services, f, name, recorded_by)
        if isinstance(outcome, dict):  # refused
            skipped = [getattr(g, "name", "<stdin>") for g in files[n + 1:]]
            for other in skipped:
                click.echo(f"{other}: not processed (stopped at {name}); nothing recorded "
                           "from it", err=True)
            if as_json:
                _print_json(_report_json(results, {"file": name, **outcome}, skipped))
            sys.exit(1)
        result = outcome
        results.append((name, result))
        if result.warning:
            click.echo(f"{name}: warning: {result.warning}", err=True)
        if not as_json:
            if result.recorded:
                click.echo(f"{name}: report '{result.report}' recorded, "
                           f"{counted(len(result.positions), 'event')} "
                           f"(positions {result.positions[0]}-{result.positions[-1]})")
            elif result.retracted:
                click.echo(f"{name}: report '{result.report}' was already recorded and "
                           f"was retracted by report '{result.retracted['by']}'; nothing "
                           "new (its facts still do not count: send them again in a report "
                           "with a new id)")
            else:
                click.echo(f"{name}: report '{result.report}' was already recorded; "
                           "nothing new")
    if as_json:
        _print_json(_report_json(results, None, []))


def _record_file(services: Any, f: Any, name: str, recorded_by: str) -> Any:
    """Records one report file: its RecordResult, or (refused) the refusal's message and
    errors as a dict, after printing it on standard error."""
    import json

    from tracker.jsontext import TooDeepError, fact_lines, load_report, too_deep

    text = ""
    try:
        # UTF-8, with or without the byte-order mark some editors write.
        text = f.read().decode("utf-8-sig")
        data = load_report(text)
        return services.record_report(data, recorded_by=recorded_by)
    except UnicodeDecodeError as e:
        message = (f"not valid UTF-8 (byte 0x{e.object[e.start]:02x} at offset {e.start}): "
                   "re-save it as UTF-8; nothing recorded")
    except TooDeepError as e:  # before JSONDecodeError: both are ValueErrors
        message = f"{too_deep('', e).lstrip()}; nothing recorded"
    except json.JSONDecodeError as e:
        message = f"not valid JSON: {e}"
    except TrackerError as e:
        click.echo(f"{name}:", err=True)
        _echo_error(e, name, fact_lines(text) if isinstance(e, ReportValidationError)
                    else ())
        return {"message": str(e), **({"errors": e.to_dict()["errors"]}
                                      if isinstance(e, ReportValidationError) else {})}
    click.echo(f"error: {name}: {message}", err=True)
    return {"message": message}


def _report_json(results: list[tuple[str, Any]], refused: dict[str, Any] | None,
                 skipped: list[str]) -> dict[str, Any]:
    """`report --json`: each file's result (with its name), then, when a file was refused,
    that file with the refusal and the files not processed after it."""
    body: dict[str, Any] = {"reports": [{"file": name, **r.to_dict()} for name, r in results]}
    if refused is not None:
        body["refused"] = refused
        body["not_processed"] = skipped
    return body


@main.group("import")
def import_() -> None:
    """Import dataset exports (ACLED, UCDP GED) as events."""


# `tracker import` exit statuses: 0 every row imported; 1 nothing imported (the file was
# refused, or every row was); 3 some rows rejected, the rest imported. (2 is click's own,
# for a command line it cannot read.)
EXIT_SOME_REJECTED = 3


def _import_status(summary: Any) -> int:
    if not summary.rejected:
        return 0
    return EXIT_SOME_REJECTED if summary.imported or summary.retracted else 1


def _print_rejected(summary: Any) -> None:
    """The rejected rows, by line, on standard error (the first 20, then how many more)."""
    for line in summary.errors[:20]:
        click.echo(f"rejected: {line}", err=True)
    if len(summary.errors) > 20:
        click.echo(f"... and {counted(len(summary.errors) - 20, 'more rejected row')}",
                   err=True)


# Below this size a helper process costs more than it saves.
PARALLEL_VIEWS_MIN_BYTES = 256 * 1024


def _run_import(dataset: str, path: str, strict: bool, retract_missing: bool,
                batch_size: int, release: str | None, as_json: bool, parallel_views: bool,
                published: str | None = None) -> None:
    from contextlib import nullcontext

    from tracker.ingestion.importer import Importer

    services = _services(batch_work=True)
    importer = Importer(services.tracker, dataset, batch_size=batch_size, strict=strict,
                        release=release, published=published)
    update, finish = _progress_bar(f"importing {Path(path).name}")
    big = Path(path).is_file() and Path(path).stat().st_size >= PARALLEL_VIEWS_MIN_BYTES
    alongside = (services.projecting_alongside()
                 if parallel_views and big and services.settings.inline_projection
                 else nullcontext(None))
    try:
        with alongside as pace:
            summary = importer.run(path, progress=update, retract_missing=retract_missing,
                                   pace=pace)
    except TrackerError as e:
        finish()
        _fail(e)
    finish()
    services.after_write()
    if as_json:
        _print_json(summary.to_dict())
        sys.exit(_import_status(summary))
    _print_rejected(summary)
    if summary.flagged:
        click.echo(f"note: {counted(summary.flagged, 'row')} "
                   f"{'has' if summary.flagged == 1 else 'have'} low/high not bracketing best "
                   "(kept as given, flagged in the views)", err=True)
    click.echo(summary.line())
    sys.exit(_import_status(summary))


IMPORT_OPTIONS = [
    click.option("--strict", is_flag=True, help="Refuse the whole file if any row is bad."),
    click.option("--retract-missing", is_flag=True,
                 help="Retract this dataset's incidents that are not in the file."),
    click.option("--batch-size", default=500, show_default=True,
                 help="Rows recorded per atomic report."),
    click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
    click.option("--parallel-views/--no-parallel-views", default=True, show_default=True,
                 help="Embedded mode: a helper process folds events into the views while "
                      "the import writes (files over 256 KiB)."),
]


def _import_options(f: Any) -> Any:
    for option in reversed(IMPORT_OPTIONS):
        f = option(f)
    return f


@import_.command("acled")
@click.argument("path", type=click.Path(dir_okay=False))
@_import_options
def import_acled(path: str, strict: bool, retract_missing: bool, batch_size: int,
                 as_json: bool, parallel_views: bool) -> None:
    """An ACLED export: CSV (dyadic or monadic; pre- or post-2023 columns; HDX files) or
    JSON (API responses, one page or a list of pages), told apart by content."""
    _run_import("acled", path, strict, retract_missing, batch_size, "", as_json,
                parallel_views)


def _publication_day(ctx: click.Context, param: click.Parameter, value: str | None
                     ) -> str | None:
    from tracker.ingestion.importer import publication_day
    from tracker.ingestion.rows import IngestionError

    try:
        return publication_day(value) if value is not None else None
    except IngestionError as e:
        raise click.BadParameter(str(e)) from None


@import_.command("ucdp")
@click.argument("path", type=click.Path(dir_okay=False))
@_import_options
@click.option("--release", default=None,
              help="The GED release, e.g. 23.1 (kept in provenance); default: read from the "
                   "file's name (GEDEvent_v23_1.csv, ged231.csv), else 'unknown'.")
@click.option("--published", default=None, metavar="YYYY-MM-DD", callback=_publication_day,
              help="When the release was published: its figures' date. Default: derived "
                   "from the release (YY.1 -> 20YY-06-01), else the import's day.")
def import_ucdp(path: str, strict: bool, retract_missing: bool, batch_size: int,
                as_json: bool, parallel_views: bool, release: str | None,
                published: str | None) -> None:
    """A UCDP GED export: the bulk CSV (also the web explorer's download), or JSON (API
    pages, one or a list; GeoJSON), told apart by content."""
    _run_import("ucdp", path, strict, retract_missing, batch_size, release, as_json,
                parallel_views, published)


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
        sys.exit(_import_status(summary))
    _print_rejected(summary)
    click.echo(f"{counted(summary.rows, 'row')} read: "
               f"{counted(summary.retracted, 'incident')} retracted, "
               f"{summary.unchanged} unknown or already retracted, "
               f"{summary.rejected} rejected")
    sys.exit(_import_status(summary))
