"""Commands of the signed log: keygen, checkpoint, proof, cite, verify-citation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from api.cli.common import _fail, _print_json, _services, main
from api.cli.reads import AS_OF, _filter, _filter_options
from tracker import jsontext
from tracker.exceptions import TrackerError
from tracker.transparency import (
    DEFAULT_ORIGIN,
    MAX_SIZE,
    Transparency,
    checkpoint_of,
    generate_signer,
    load_signer,
    write_keys,
)
from tracker.wording import counted


def _transparency() -> Transparency:
    """The tree of this command's event store (the services stay open with the process)."""
    services = _services()
    _OPEN.append(services)
    return Transparency(services.tracker.recorder)


_OPEN: list[Any] = []


@main.command()
@click.option("--out", "out", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Directory for tracker.key and tracker.key.pub.")
@click.option("--name", default=DEFAULT_ORIGIN, show_default=True,
              help="The log's name (its checkpoints' origin), e.g. tracker.example.org.")
def keygen(out: str, name: str) -> None:
    """Make the log's Ed25519 signing key: DIR/tracker.key (secret, mode 0600) and
    DIR/tracker.key.pub (publish it: readers check citations with it)."""
    try:
        private, public = write_keys(generate_signer(name), Path(out))
    except TrackerError as e:
        _fail(e)
    click.echo(f"signing key: {private} (keep it secret; TRACKER_SIGNING_KEY={private})")
    click.echo(f"public key:  {public} (publish it)")


@main.command()
@click.option("--key", "key", default=None, help="The signing key (default: "
              "$TRACKER_SIGNING_KEY).")
@click.option("--json", "as_json", is_flag=True, help="Print the checkpoint as JSON.")
@click.option("--every", "every", type=click.FloatRange(min=1), default=None,
              help="Keep running: sign every SECONDS when the log has grown (e.g. 3600).")
def checkpoint(key: str | None, as_json: bool, every: float | None) -> None:
    """Sign the log as it stands (size, Merkle root, time) and record the checkpoint;
    prints its text (C2SP tlog-checkpoint). The first run on an older store builds the
    tree (reads the log once). With --every, a schedule: signs whenever the log has grown
    since the last checkpoint, until stopped."""
    import time

    from api.services import is_outage

    try:
        signer = load_signer(key)
        tp = _transparency()
        while True:
            try:
                latest = tp.latest()
                if every is None or latest is None or tp.head()[0] > latest["size"]:
                    found = tp.checkpoint(signer)
                    if as_json:
                        _print_json(found)
                    else:
                        click.echo(found["text"], nl=False)
            except Exception as e:
                if every is None or not is_outage(e):
                    raise
                # On a schedule, an outage of the event store waits for the next round.
                click.echo(f"checkpoint skipped: the event store is unavailable "
                           f"({type(e).__name__}); next try in {every:g} s", err=True)
            if every is None:
                return
            time.sleep(every)
    except TrackerError as e:
        _fail(e)


@main.group()
def proof() -> None:
    """RFC 9162 proofs of the log (the JSON of GET /api/v1/proof/...)."""


@proof.command("inclusion")
@click.option("--position", required=True, type=click.IntRange(1, MAX_SIZE))
@click.option("--size", type=click.IntRange(1, MAX_SIZE), default=None,
              help="Tree size (a checkpoint's); default the current.")
def proof_inclusion(position: int, size: int | None) -> None:
    """The event at POSITION is in the tree of SIZE leaves."""
    try:
        _print_json(_transparency().inclusion(position, size))
    except TrackerError as e:
        _fail(e)


@proof.command("consistency")
@click.option("--from", "first", required=True, type=click.IntRange(0, MAX_SIZE))
@click.option("--to", "second", type=click.IntRange(0, MAX_SIZE), default=None)
def proof_consistency(first: int, second: int | None) -> None:
    """The tree of FROM leaves is a prefix of the tree of TO leaves."""
    try:
        _print_json(_transparency().consistency(first, second))
    except TrackerError as e:
        _fail(e)


def _since_size(path: str | None) -> int | None:
    if path is None:
        return None
    try:
        return int(checkpoint_of(_read(path))["size"])
    except ValueError as e:
        _fail(TrackerError(f"--since {path}: {e}"))


def _read(path: str, dash: bool = False) -> str:
    """A file the user named (`dash`: '-' is stdin), or one line naming it and why it
    cannot be read (exit 1)."""
    try:
        if dash and path == "-":
            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        _fail(TrackerError(f"cannot read {path}: {e.strerror or e}"))
    except UnicodeDecodeError as e:
        _fail(TrackerError(f"cannot read {path}: not UTF-8 text (byte at offset {e.start})"))


def _cite(args: dict[str, Any], since: str | None, key: str | None) -> None:
    from api.citations import cite

    size = _since_size(since)
    try:
        signer = load_signer(key) if key else None
        _print_json(cite(_services(), args, since=size, signer=signer))
    except TrackerError as e:
        _fail(e)


SINCE = click.option("--since", "since", default=None, type=click.Path(dir_okay=False),
                     help="A checkpoint file you kept: adds a consistency proof from it.")
KEY = click.option("--key", "key", default=None,
                   help="Sign a checkpoint now if none covers the answer.")
JSON = click.option("--json", "as_json", is_flag=True, default=True,
                    help="Print the citation JSON (the default).")


@main.group()
def cite() -> None:
    """Cite a view's answer: the JSON of GET /api/v1/cite (checkpoint, proofs)."""


@cite.command("casualties")
@click.option("--by", "by", required=True,
              type=click.Choice(["country", "admin1", "admin2", "actor", "month", "type",
                                 "operation"]))
@click.option("--row", "row", default=None, help="Cite this row only (its key).")
@_filter_options
@AS_OF
@SINCE
@KEY
@JSON
def cite_casualties(by: str, row: str | None, as_of: str | None, since: str | None,
                    key: str | None, as_json: bool, **kw: Any) -> None:
    """Casualty tallies (or one row: --row) with their proofs.

    For example: `tracker cite casualties --by country --row Mali > mali.citation.json`
    """
    from projections.views.incidents import ATTRIBUTE_FILTERS

    filters = _filter(kw)
    args = {"view": "casualties", "by": by, "key": row, "as_of": as_of,
            "country": filters.country, "admin1": filters.admin1, "type": filters.type,
            "subtype": filters.subtype, "actor": filters.actor,
            "operation": filters.operation, "source": filters.source,
            "from_": filters.date_from, "to": filters.date_to,
            "min_killed": filters.min_killed, "bbox": filters.bbox, "admin2": filters.admin2,
            "figures_from": filters.figures_from,
            **{name: getattr(filters, name) for name in ATTRIBUTE_FILTERS}}
    _cite({k: v for k, v in args.items() if v is not None}, since, key)


@cite.command("incident")
@click.argument("incident_id")
@AS_OF
@SINCE
@KEY
@JSON
def cite_incident(incident_id: str, as_of: str | None, since: str | None, key: str | None,
                  as_json: bool) -> None:
    """One incident's killed figure, with its events' proofs."""
    args = {"view": "incident", "id": incident_id, "as_of": as_of}
    _cite({k: v for k, v in args.items() if v is not None}, since, key)


@main.command("verify-citation")
@click.argument("citation", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--key", "key", required=True, type=click.Path(dir_okay=False),
              help="The log's public key (tracker.key.pub).")
@click.option("--since", "since", default=None, type=click.Path(dir_okay=False),
              help="A checkpoint you kept: the cited log must extend it.")
@click.option("--json", "as_json", is_flag=True, help="Print what was checked as JSON.")
def verify_citation(citation: str, key: str, since: str | None, as_json: bool) -> None:
    """Check a citation offline: signature, inclusion proofs, consistency (--since) and
    each figure recomputed by the evidence rules. Exit 0 only if everything holds. The
    same check runs without the tracker: python tracker/citation_verify.py FILE --key PUB"""
    from tracker.citation_verify import verify_citation as check

    text = _read(citation, dash=True)
    key_text = _read(key)
    since_text = _read(since) if since else None
    try:
        data = jsontext.loads(text)
    except jsontext.TooDeepError as e:
        _fail(TrackerError(f"{citation}: {e}; a citation is a few levels deep"))
    except ValueError as e:
        _fail(TrackerError(f"{citation}: not JSON: {e}"))
    if not isinstance(data, dict):
        _fail(TrackerError(f"{citation}: the citation is not a JSON object"))
    result = check(data, key_text, since_text)
    if as_json:
        _print_json({"ok": result.ok, "checked": result.checked, "failures": result.failures,
                     "uncovered": result.uncovered})
    else:
        from tracker.citation_verify import uncovered_note, verdict

        for line in result.checked:
            click.echo(f"ok: {line}")
        for line in result.failures:
            click.echo(f"FAILED: {line}", err=True)
        note = uncovered_note(result)
        if note:
            click.echo(note)
        click.echo(verdict(result) if result.ok else
                   f"citation NOT verified: {counted(len(result.failures), 'problem')}",
                   err=not result.ok)
    if not result.ok:
        sys.exit(1)
