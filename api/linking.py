"""Link candidates at the edge: their CSV, reading a reviewed suggest output (JSON or CSV),
and the one report that records accepted pairs as `same_incident` facts (docs/linking.md).
Shared by `tracker link …` and `GET /links/candidates.csv`."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from projections.linking import METHOD, VERSION
from tracker import jsontext
from tracker.application import RecordResult
from tracker.exceptions import EntityNotFoundError, ReportValidationError, TrackerError
from tracker.reports import MAX_FACTS
from tracker.wording import counted

if TYPE_CHECKING:
    from api.services import Services

LINK_COLUMNS = ("incident", "other", "score", "days", "km", "type", "actors", "killed",
                "margin")
SOURCE_NAME = "tracker link suggest"


class LinkFileError(TrackerError):
    """A reviewed file that cannot be read as link candidates; names what is wrong."""

    code = "invalid_link_file"


def candidate_record(c: dict[str, Any]) -> dict[str, Any]:
    """A candidate as one CSV row: the reasons flattened beside the pair and score."""
    r = c["reasons"]
    return {"incident": c["incident"], "other": c["other"], "score": c["score"],
            "days": r.get("days"), "km": r.get("km"), "type": r.get("type"),
            "actors": r.get("actors"), "killed": r.get("killed"), "margin": c.get("margin")}


def read_pairs(text: str, name: str = "FILE") -> tuple[list[dict[str, Any]], str | None]:
    """The pairs of a (reviewed, possibly edited) suggest output: JSON (`--json`, or a list
    of candidates) or CSV (`--csv`, rows removed or not). Returns (pairs, method); each
    pair says where it is (`where`: `file:line` of a CSV row, `file: candidate N` of a
    JSON one), and so does every error."""
    stripped = text.lstrip()
    method: str | None = None
    rows: list[Any]
    lines: list[int] | None = None
    if stripped.startswith(("{", "[")):
        try:
            data = jsontext.loads(text)
        except jsontext.TooDeepError as e:
            raise LinkFileError(f"{name}: {e}; a suggest output is a few levels deep"
                                ) from None
        except ValueError as e:  # not JSON, or a key given twice
            raise LinkFileError(f"{name}: not valid JSON: {e}") from e
        if isinstance(data, dict):
            method = data.get("method") if isinstance(data.get("method"), str) else None
            if not isinstance(data.get("candidates"), list):
                raise LinkFileError(f"{name}: a JSON object needs a 'candidates' list (the "
                                    "output of tracker link suggest --json)")
            rows = data["candidates"]
        else:
            rows = data
    else:
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in ("incident", "other") if c not in (reader.fieldnames or ())]
        if missing:
            raise LinkFileError(f"{name}: the CSV header lacks {', '.join(missing)} (the "
                                "output of tracker link suggest --csv)")
        rows, lines = [], []
        for row in reader:
            rows.append(row)
            lines.append(reader.line_num)  # the line the row ends on (the header is 1)
    pairs = []
    seen: set[frozenset[str]] = set()
    for n, row in enumerate(rows, start=1):
        where = f"{name}:{lines[n - 1]}" if lines is not None else f"{name}: candidate {n}"
        if not isinstance(row, dict):
            raise LinkFileError(f"{where}: not an object with 'incident' and 'other'")
        a, b = row.get("incident"), row.get("other")
        if not isinstance(a, str) or not a.strip() or not isinstance(b, str) or not b.strip():
            raise LinkFileError(f"{where}: 'incident' and 'other' must both be record ids")
        a, b = a.strip(), b.strip()
        if a == b:
            raise LinkFileError(f"{where}: 'incident' and 'other' name the same record {a!r}")
        score = row.get("score")
        if score in (None, ""):
            score = None
        else:
            try:
                score = float(score)
            except (TypeError, ValueError):
                raise LinkFileError(f"{where}: score {score!r} is not a number") from None
            if not 0 <= score <= 1:
                raise LinkFileError(f"{where}: score {score} is not within 0..1")
        if frozenset((a, b)) in seen:
            continue
        seen.add(frozenset((a, b)))
        pairs.append({"incident": a, "other": b, "score": score, "where": where})
    if not pairs:
        raise LinkFileError(f"{name}: no candidate pairs to accept")
    return pairs, method


def link_report(pairs: Iterable[dict[str, Any]], method: str | None, notes: str = "",
                recording: int = 1) -> dict[str, Any]:
    """One report recording `pairs` as `same_incident` facts (source kind `analyst`), its id
    a digest of the method and the pairs, so recording the same choice twice records
    nothing the second time; `recording` > 1 suffixes it (`-2`, …): the same choice
    recorded again after its earlier reports were retracted (`record_links`)."""
    method = method or f"{METHOD}/{VERSION} reviewed"
    facts = []
    for p in pairs:
        fact: dict[str, Any] = {"fact": "same_incident", "incident": p["incident"],
                                "same_as": p["other"], "method": method}
        if p.get("score") is not None:
            fact["score"] = round(float(p["score"]), 3)
        facts.append(fact)
    if len(facts) > MAX_FACTS:
        raise LinkFileError(f"{len(facts)} pairs are more than one report holds "
                            f"({MAX_FACTS}); accept them in parts (narrow the filters, "
                            "e.g. --from/--to)")
    digest = hashlib.sha256(json.dumps(
        [method, sorted(sorted((f["incident"], f["same_as"])) for f in facts)]).encode()
    ).hexdigest()[:24]
    suffix = f"-{recording}" if recording > 1 else ""
    return {"report": f"links-{digest}{suffix}",
            "source": {"name": SOURCE_NAME, "kind": "analyst"},
            "notes": (f"{counted(len(facts), 'same_incident link')} accepted; method {method}"
                      + (f"; {notes}" if notes else "")),
            "facts": facts}


def record_links(services: Services, pairs: list[dict[str, Any]], method: str | None,
                 notes: str, recorded_by: str) -> tuple[RecordResult, str | None]:
    """Records `pairs` as one link report (`link_report`) and returns what it did, with the
    retracted report of the same pairs it records again (None: none).

    The report id is the digest of the method and the pairs. While the report of that id is
    live, accepting the same pairs again records nothing (whatever the notes say: the
    same links). Once it is retracted (the batch undone), the same pairs are recorded again
    under the next id (`-2`, then `-3`, …): a retracted id stays taken, and a link holds
    only while its report is live. A fact refused (an unknown record, a pair recorded
    distinct) is named by its pair's place (`where`: `file:line`, or `candidate N`)."""
    retracted = None
    for recording in itertools.count(1):
        report = link_report(pairs, method, notes, recording)
        try:
            earlier = services.tracker.get_entity("report", report["report"])
        except EntityNotFoundError:
            break
        if not earlier.get("retracted"):
            return RecordResult(report["report"], recorded=False), retracted
        retracted = report["report"]
    try:
        return services.record_report(report, recorded_by=recorded_by), retracted
    except ReportValidationError as e:
        raise LinkFileError(refused(e, pairs)) from None


def refused(error: ReportValidationError, pairs: list[dict[str, Any]]) -> str:
    """A refused link report's errors as `tracker report` prints a refused report's, but
    each named by its pair's place (the facts are the pairs, in order) and column
    (`incident`, `other`) rather than by its fact's index and field."""
    lines = []
    for e in error.errors:
        if e.index is None or not 0 <= e.index < len(pairs):
            lines.append(f"report, field '{e.field}': {e.message}")
            continue
        pair = pairs[e.index]
        column = "other" if e.field == "same_as" else e.field
        lines.append(f"{pair.get('where') or f'candidate {e.index + 1}'}: '{column}': "
                     f"{e.message}")
    return "\n  ".join(["report refused, nothing recorded:", *lines])
