"""Commands that operate: rebuild, project, serve, token."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from api.cli.common import _fail, _print_json, _progress_bar, _services, _spans, _tracker, main
from tracker.exceptions import StoreUnavailableError, TrackerError
from tracker.wording import counted

VIEWS = ("leadership", "casualties", "operations", "incidents", "actors")


@main.command()
@click.argument("names", nargs=-1)
@click.option("--verify", "verify_only", is_flag=True,
              help="Rebuild aside and compare with the live views row by row, one line "
                   "per difference on standard output, and say whether the log's hash "
                   "chain holds; exit 1 on a difference or a broken chain.")
@click.option("--ignore-chain", is_flag=True,
              help="Rebuild even when the log fails its hash chain (`tracker verify`): "
                   "readers then see views folded from the altered log.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result as JSON (the chain check, the differences).")
def rebuild(names: tuple[str, ...], verify_only: bool, ignore_chain: bool,
            as_json: bool) -> None:
    """Rebuild the views from the log, blue/green: all of them in one pass over the log
    (NAMEs are checked, and rebuilt together with the rest); readers switch when the new
    generation has caught up. The log is first checked against its hash chain, as
    `tracker verify` does: a log that fails it is not rebuilt from (--ignore-chain)."""
    unknown = [n for n in names if n not in VIEWS]
    if unknown:
        _fail(ValueError(f"unknown {'view' if len(unknown) == 1 else 'views'}: "
                         f"{', '.join(unknown)}; known: {', '.join(VIEWS)}"))
    services = _services(batch_work=True)
    # Events set aside (quarantined) are not folded: one of them altered or damaged is
    # passed over, named below, and the rest of the log checked.
    with _ChainCheck(services) as check:
        if verify_only:
            _verify_views(services, check, as_json)
            return

        def before_switch() -> None:
            chain = check.result()
            if chain.ok:
                return
            if not ignore_chain:
                raise TrackerError(
                    f"the log fails its hash chain after "
                    f"{counted(chain.checked, 'good event')}: {chain.problem}. Nothing was "
                    "rebuilt: readers keep the views they have. Restore the log from a "
                    "backup (`tracker verify` checks it), or rebuild from the log as it is "
                    "with --ignore-chain")
            click.echo(f"warning: the log fails its hash chain after "
                       f"{counted(chain.checked, 'good event')}: {chain.problem}; "
                       "rebuilding from it anyway (--ignore-chain)", err=True)

        checked = check.beside is None
        if checked:
            try:
                before_switch()  # checked already: refuse before folding anything
            except TrackerError as e:
                _fail(e)
        update, finish = _progress_bar("rebuilding")
        try:
            gen, old = services.runner.rebuild(
                progress=update, before_switch=None if checked else before_switch)
        except TrackerError as e:
            finish()
            if isinstance(e, StoreUnavailableError):
                raise  # an outage: the command's one line, exit 3
            _fail(e)
        finish()
        chain = check.result()
    head = services.store.position(gen)
    if as_json:
        _print_json({"generation": gen, "replaced": old, "position": head,
                     "chain": chain.to_dict()})
        return
    click.echo(f"rebuilt {', '.join(VIEWS)} into generation {gen}"
               + (f" (replacing {old})" if old else "") + f" at position {head}")


# From this many events on, `tracker rebuild` checks the log's hash chain in a process of
# its own while it folds (about a second per 100,000 events, an eighth of the fold, then
# off the fold's core); readers switch only once it holds. A smaller log is checked first,
# in the command's own process (a second process costs more than the check).
CHAIN_BESIDE = 200_000


class _ChainCheck:
    """The log against its hash chain (as `tracker verify`), for a rebuild: at once, or
    beside the fold in a process of its own (CHAIN_BESIDE); `result()` waits for it and
    says, once, which quarantined events it passed over."""

    def __init__(self, services: Any) -> None:
        self.settings = services.settings
        self.tracker = services.tracker
        self.aside = tuple(services.tracker.quarantined())
        self.beside: Any = None
        self.pool: Any = None
        self.chain: Any = None

    def __enter__(self) -> _ChainCheck:
        if self.tracker.max_position() >= CHAIN_BESIDE:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            self.beside = self.pool.submit(_chain_of, self.settings, self.aside)
        else:
            self.result()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def result(self) -> Any:
        if self.chain is None:
            self.chain = (self._beside() if self.beside is not None
                          else self.tracker.verify(set_aside=self.aside))
            if self.chain.passed_over:
                one = len(self.chain.passed_over) == 1
                click.echo(
                    f"note: the {'event at position' if one else 'events at positions'} "
                    f"{_spans(list(self.chain.passed_over))} {'fails' if one else 'fail'} "
                    f"the hash chain and {'is' if one else 'are'} set aside from the views "
                    "(tracker quarantine): not folded; the rest of the log holds", err=True)
        return self.chain


    def _beside(self) -> Any:
        """The check's result from its process: waited for at most CHAIN_WAIT seconds
        more (its store's connections have their own bounds); an outage it met is raised
        here as one (the command's one line, exit 3), a process that died or overran is a
        refusal to switch."""
        from concurrent.futures import TimeoutError as Overran
        from concurrent.futures.process import BrokenProcessPool

        try:
            outcome = self.beside.result(timeout=CHAIN_WAIT)
        except Overran:
            raise TrackerError(f"the log's hash chain check did not end within {CHAIN_WAIT:g} "
                               "s of the fold; nothing was switched: readers keep the views "
                               "they have") from None
        except BrokenProcessPool as e:
            raise TrackerError(f"the log's hash chain check stopped ({e}); nothing was "
                               "switched: readers keep the views they have") from None
        if isinstance(outcome, str):
            raise StoreUnavailableError(outcome)
        return outcome


# How long a rebuild waits, once folded, for the chain check beside it (it takes about a
# second per 100,000 events, and starts with the fold).
CHAIN_WAIT = 600.0


def _chain_of(settings: Any, aside: tuple[int, ...]) -> Any:
    """`tracker verify`'s check, in the process _ChainCheck starts beside the fold: its
    VerifyResult, or, when a store could not be reached, what went wrong (a string: the
    store's own exception may not cross processes)."""
    from tracker.application import ConflictTracker
    from tracker.outages import is_outage

    try:
        tracker = ConflictTracker.from_settings(settings)
        try:
            return tracker.verify(set_aside=aside)
        finally:
            tracker.close()
    except Exception as e:
        if not is_outage(e):
            raise
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


def _verify_views(services: Any, check: _ChainCheck, as_json: bool) -> None:
    """`rebuild --verify`: the differences, one line each, then whether the chain holds
    (which says whether the log or the views are at fault); exit 1 on either."""
    update, finish = _progress_bar("verifying")
    differences = services.runner.verify(progress=update)
    finish()
    chain = check.result()
    if as_json:
        _print_json({"ok": chain.ok and not differences, "chain": chain.to_dict(),
                     "differences": [d.to_dict() for d in differences],
                     "truncated": differences.truncated})
    else:
        if differences:
            shown = (f" (the first {len(differences)}; there are more)"
                     if differences.truncated else "")
            click.echo(f"{counted(len(differences), 'difference')}{shown} between the live "
                       "views and a rebuild from the log:")
            for d in differences:
                click.echo(f"  {d.line()}")
        else:
            click.echo(f"ok: {', '.join(VIEWS)} match a rebuild from the log"
                       + (f", and its hash chain holds ({counted(chain.checked, 'event')})"
                          if chain.ok else ""))
        if not chain.ok:
            click.echo(f"the log FAILS its hash chain after "
                       f"{counted(chain.checked, 'good event')}: {chain.problem}. The log "
                       "is at fault, not the views: the rebuild folded the altered log; do "
                       "not rebuild before the log is restored from a backup")
        elif differences:
            click.echo(f"the log's hash chain holds ({counted(chain.checked, 'event')}): "
                       "the live views are at fault; `tracker rebuild` replaces them")
    if differences or not chain.ok:
        sys.exit(1)


@main.command()
@click.option("--follow", is_flag=True, help="Keep following the log until interrupted.")
@click.option("--poll", default=1.0, show_default=True,
              help="Seconds between checks when no notification arrives.")
@click.option("--batch-size", default=1000, show_default=True,
              help="Events folded per view transaction while the views keep up.")
# projections.runner.LARGE_BATCH, written out: the command line does not import the read side
# to show its help (tests/projections/test_batches.py holds the two equal).
@click.option("--max-batch", default=20_000, show_default=True,
              help="Events per transaction while far behind (a long catch-up commits less "
                   "often, and writes far less); the --batch-size value keeps batches fixed.")
@click.option("--exit-with-parent", type=int, default=None, hidden=True,
              help="Stop when the process with this pid is gone (helper processes).")
def project(follow: bool, poll: float, batch_size: int, max_batch: int,
            exit_with_parent: int | None) -> None:
    """Catch the views up with the log, or follow it (LISTEN/NOTIFY on PostgreSQL)."""
    from api.follower import follow as follow_log

    services = _services(batch_work=True, connect=not follow)
    services.batch_size, services.max_batch = batch_size, max_batch
    if not follow:
        done = services.runner.catch_up()
        click.echo(f"caught up: {counted(done, 'event')} folded, views at position "
                   f"{services.tracker.max_position()}")
        return
    try:
        follow_log(services, poll, exit_with_parent,
                   say=lambda line: click.echo(line, err=True))
    finally:
        services.close()
    if exit_with_parent is not None:
        # A helper: everything is committed and closed; skip the interpreter's teardown,
        # which frees the cached documents object by object (time an import waits for).
        sys.stderr.flush()
        os._exit(0)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
def serve(host: str, port: int) -> None:
    """Serve the dashboard and the HTTP API (development server; use gunicorn in
    production). A port in use is one line and exit 1, before anything is loaded."""
    from werkzeug.serving import make_server

    from api import create_app

    listening = _listen(host, port)
    app = create_app()
    services = app.extensions["tracker"]
    if services.settings.inline_projection:
        # The views of a store that has never been folded (or was folded by an older
        # version) are caught up before the first request, with a progress bar.
        update, finish = _progress_bar("folding the log into the views")
        services.runner.catch_up(progress=update)
        finish()
    server = make_server(host, port, app, threaded=True, fd=listening.fileno())
    listening.close()  # the server holds its own copy of the socket
    base = f"http://{host if ':' not in host else f'[{host}]'}:{server.port}"
    click.echo(f"dashboard: {base}/\nAPI:       {base}/api/v1\n"
               f"API docs:  {base}/api/v1/docs\n(Ctrl-C to stop)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _listen(host: str, port: int) -> Any:
    """A socket bound to HOST:PORT and listening, or one line and exit 1 (a port in use,
    an address this machine does not have)."""
    import errno
    import socket

    from werkzeug.serving import get_sockaddr, select_address_family

    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(128)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            why = (f"port {port} is in use by another program; stop it, or serve on "
                   "another port (--port)")
        else:
            why = f"{e.strerror or e}"
        click.echo(f"tracker: cannot serve on {host}:{port}: {why}", err=True)
        sys.exit(1)
    return sock


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


@main.command()
@click.argument("positions", nargs=-1, required=True)
@click.option("--reason", required=True, help="Why the events are set aside (recorded).")
def quarantine(positions: tuple[str, ...], reason: str) -> None:
    """Set the events at log POSITIONS (N or N-M) aside: the views stop folding them.

    The way out of an event the views cannot fold (`tracker verify` and /healthz name it):
    the decision is an event in the log, with its reason and who made it; the events stay
    in the log and in `tracker history`. Rebuild afterwards if the views had already
    folded them."""
    wanted: list[int] = []
    for item in positions:
        first, _, last = item.partition("-")
        try:
            lo, hi = int(first), int(last or first)
        except ValueError:
            _fail(ValueError(f"{item!r} is not a position (N) or a range (N-M)"))
        if hi < lo or hi - lo > 100_000:
            _fail(ValueError(f"{item!r}: a range runs from a lower to a higher position "
                             "(at most 100,000)"))
        wanted.extend(range(lo, hi + 1))
    services = _services()
    try:
        new = services.tracker.quarantine(wanted, reason)
    except TrackerError as e:
        _fail(e)
    click.echo(f"set aside {counted(len(new), 'event')}" + (f": {_spans(new)}" if new else
                                                           " (all were already)"))
    services.after_write()
    if not services.settings.inline_projection:
        click.echo("the follower folds past them at its next try", err=True)
        return
    stuck = services.store.failure()
    if stuck:
        from tracker.exceptions import describe_failure

        click.echo(f"the views are still stuck: {describe_failure(stuck)}", err=True)
        sys.exit(1)

