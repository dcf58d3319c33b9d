"""The `tracker` command group and what its commands share: building the services from
the environment's settings, printing JSON, failing with one clear message."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from api.services import Services, build_tracker, tune_gc_for_batch_work
from tracker.application import ConflictTracker
from tracker.audit import to_jsonable
from tracker.config import Settings
from tracker.exceptions import ReportValidationError


def _tracker() -> ConflictTracker:
    return build_tracker(Settings.from_env())


def _services(batch_work: bool = False, connect: bool = True) -> Services:
    """The services of this command; `batch_work` for imports, rebuilds and followers;
    `connect=False` connects to the event store on first use (the supervised follower)."""
    if batch_work:
        tune_gc_for_batch_work()
    return Services.from_settings(Settings.from_env(), connect=connect)


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


# The exit code of a command that could not reach a store (1: any other error).
EXIT_UNAVAILABLE = 3


def unreachable_line(settings: Settings, error: BaseException) -> str:
    """One line for a store that cannot be reached: which one, where (no password), why,
    and what to check."""
    from api.services import describe_outage, where

    store, url = where(settings, error)
    why = describe_outage(error)
    # The views are folded from the log: what was written to it stays written.
    views = " (the event log is not affected)" if store == "the view store" else ""
    if why == "disk full":
        return (f"tracker: {store} at {url} is full (disk full); free space, then try "
                f"again{views}")
    hint = "is PostgreSQL running?" if url.startswith("postgres") else "is the path right?"
    return f"tracker: cannot reach {store} at {url} ({why}); {hint}{views}"


class TrackerGroup(click.Group):
    """The command group: an outage of a store ends any command with one line on stderr
    and exit code 3 (EXIT_UNAVAILABLE), never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from tracker.outages import is_outage

        try:
            return super().invoke(ctx)
        except Exception as e:
            if not is_outage(e) or isinstance(e, click.ClickException):
                raise
            try:
                settings = Settings.from_env()
            except Exception:  # noqa: BLE001 - the message below still says what failed
                settings = Settings()
            click.echo(unreachable_line(settings, e), err=True)
            sys.exit(EXIT_UNAVAILABLE)


@click.group(cls=TrackerGroup)
def main() -> None:
    """Conflict tracker: every reported fact is an immutable event with its source."""


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


def _dump(schema_name: str, data: Any) -> Any:
    """The same shape the API returns: dumped through the API's schema."""
    from api import schemas

    return getattr(schemas, schema_name)().dump(data)
