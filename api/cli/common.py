"""The `tracker` command group and what its commands share: building the services from
the environment's settings, printing JSON, failing with one clear message.

Help and usage errors answer without loading the stores: the modules of the commands import
click and light modules only (no SQLAlchemy, Flask, eventsourcing, psycopg, redis,
marshmallow); each command imports what it uses in its body. tests/test_cli_startup.py
holds them to it."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

from tracker.exceptions import ReportValidationError

if TYPE_CHECKING:
    from api.services import Services
    from tracker.application import ConflictTracker
    from tracker.config import Settings


def _tracker() -> ConflictTracker:
    from api.services import build_tracker
    from tracker.config import Settings

    return build_tracker(Settings.from_env())


def _services(batch_work: bool = False, connect: bool = True) -> Services:
    """The services of this command; `batch_work` for imports, rebuilds and followers;
    `connect=False` connects to the event store on first use (the supervised follower)."""
    from api.services import Services, tune_gc_for_batch_work
    from projections.runner import LARGE_BATCH
    from tracker.config import Settings

    if batch_work:
        tune_gc_for_batch_work()
    services = Services.from_settings(Settings.from_env(), connect=connect)
    if batch_work:
        services.max_batch = LARGE_BATCH  # long catch-ups commit less often
    return services


def _print_json(data: Any) -> None:
    import json

    from tracker.audit import to_jsonable

    click.echo(json.dumps(to_jsonable(data), indent=2, ensure_ascii=False))


def _fail(error: Exception) -> NoReturn:
    """Prints a tracker error (every fact error on its own line) and exits 1."""
    _echo_error(error)
    sys.exit(1)


def _echo_error(error: Exception, file: str | None = None,
                lines: Sequence[int] = ()) -> None:
    """Prints a tracker error on standard error, every fact error on its own line; with
    the report's `file` and the line each fact begins on (tracker.jsontext.fact_lines),
    each fact's line starts `file:line:`."""
    click.echo(f"error: {error}" if not isinstance(error, ReportValidationError)
               else "error: report refused, nothing recorded:", err=True)
    if isinstance(error, ReportValidationError):
        for e in error.errors:
            where = f"fact {e.index}" if e.index is not None else "report"
            at = (f"{file}:{lines[e.index]}: " if file and e.index is not None
                  and e.index < len(lines) else "")
            click.echo(f"  {at}{where}, field '{e.field}': {e.message}", err=True)


# The exit code of a command that could not reach a store (1: any other error).
EXIT_UNAVAILABLE = 3
# A closed pipe ends a command as SIGPIPE ends other tools (128 + 13).
EXIT_BROKEN_PIPE = 141


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
        try:
            return super().invoke(ctx)
        except Exception as e:
            # Help, usage errors and exits first: they need no store's exception classes.
            if isinstance(e, click.ClickException | click.exceptions.Exit | click.Abort):
                raise
            if isinstance(e, BrokenPipeError):
                # The reader went away (`tracker query incidents --csv | head`): end
                # quietly, as other tools do on a closed pipe, not as an outage (a broken
                # pipe is a ConnectionError). Python's own flush at exit would fail too.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                sys.exit(EXIT_BROKEN_PIPE)
            from tracker.config import Settings
            from tracker.outages import is_outage

            if not is_outage(e):
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


class LazyChoice(click.Choice):  # type: ignore[type-arg]
    """A choice whose values are read from the module that owns them when they are first
    needed (to parse the option or to show a command's help): `tracker --help` and the
    other commands do not load that module."""

    def __init__(self, load: Callable[[], Iterable[str]]) -> None:
        self._load = load
        self._choices: tuple[str, ...] | None = None
        self.case_sensitive = True

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        if self._choices is None:
            self._choices = tuple(self._load())
        return self._choices

    @choices.setter
    def choices(self, value: Iterable[str]) -> None:
        self._choices = tuple(value)


def dimensions() -> tuple[str, ...]:
    """The dimensions of the casualty tallies (`--by`)."""
    from projections.casualty_tallies import DIMENSIONS

    return tuple(DIMENSIONS)


def _spans(positions: list[int]) -> str:
    """Positions as spans: 3, 5-9, 12."""
    out: list[str] = []
    for p in positions:
        if out and out[-1].rpartition("-")[2] == str(p - 1):
            out[-1] = f"{out[-1].partition('-')[0]}-{p}"
        else:
            out.append(str(p))
    return ", ".join(out)
