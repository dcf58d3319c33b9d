"""JSON as users write it: an object naming the same key twice is refused, not read as its
last value (the standard library, like most parsers, silently keeps the last one; RFC 8259
leaves the meaning open), and a document nesting deeper than MAX_NESTING levels is refused
in one line (TooDeepError), never with the parser's RecursionError. Reports (`POST
/reports`, `tracker report`, the seeds), the importers' JSON exports, reviewed link files
and citations are read with `loads`: the API and every command give the same answer.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

Path = tuple[str | int, ...]

# A report is about six levels deep (report, facts, fact, location/target, value, item); a
# dataset export (a list of pages of records, GeoJSON) or a citation fewer than a dozen.
MAX_NESTING = 32


class TooDeepError(ValueError):
    """The document nests lists and objects deeper than MAX_NESTING levels."""

    def __init__(self, limit: int = MAX_NESTING) -> None:
        self.limit = limit
        super().__init__(f"nests deeper than {limit} levels")


def nesting(value: Any, stop: int = MAX_NESTING) -> int:
    """How deeply lists and objects nest in a decoded JSON value (0 for a scalar; stops
    counting past `stop`). Visits each list and object once: linear in the document."""
    deepest = 0
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, level = stack.pop()
        if level > deepest:
            deepest = level
            if deepest > stop:
                break
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, level + 1) for child in children
                     if isinstance(child, dict | list))
    return deepest


class DuplicateKeyError(ValueError):
    """An object names `key` more than once; `path` leads to that object from the top."""

    def __init__(self, key: str, path: Path) -> None:
        self.key = key
        self.path = path
        where = dotted(path) or "the top-level object"
        super().__init__(f"duplicate key {key!r} in {where}: a JSON object may name each "
                         "key once (which value was meant?)")


def too_deep(what: str, error: TooDeepError) -> str:
    """The one line for a report nesting too deep: the API's 422 and `tracker report` say
    it alike (`what`: "the body", a file's name)."""
    return f"{what} {error}; a report is a few levels deep"


def dotted(path: Path) -> str:
    """facts[2].location as facts.2.location, the way field errors name fields."""
    return ".".join(str(p) for p in path)


def loads(text: str | bytes, max_nesting: int = MAX_NESTING) -> Any:
    """json.loads, refusing duplicate keys with DuplicateKeyError (the first one met, in
    document order) and a document nesting deeper than `max_nesting` levels with
    TooDeepError (json.JSONDecodeError: not JSON at all)."""
    seen: list[tuple[int, str]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) != len(items):
            key = next(k for k, n in Counter(k for k, _ in items).items() if n > 1)
            seen.append((id(obj), key))
        return obj

    try:
        document = json.loads(text, object_pairs_hook=pairs)
    except RecursionError:  # the parser recurses per level: ~1000 levels exhaust it
        raise TooDeepError(max_nesting) from None
    if nesting(document, max_nesting) > max_nesting:
        raise TooDeepError(max_nesting)
    if seen:
        key, path = _locate(document, dict(seen))
        raise DuplicateKeyError(key, path)
    return document


def _locate(document: Any, duplicated: dict[int, str]) -> tuple[str, Path]:
    """The first object (depth first, document order) holding a duplicate, and its path."""
    stack: list[tuple[Any, Path]] = [(document, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            if id(node) in duplicated:
                return duplicated[id(node)], path
            stack.extend((v, (*path, k)) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in reversed(list(enumerate(node))))
    raise AssertionError("a duplicate was seen but not found")  # pragma: no cover


def load_report(text: str | bytes) -> Any:
    """A report's JSON; a duplicate key is a ReportValidationError naming the fact (its
    index) and the field, as any other problem of a report is. json.JSONDecodeError (not
    JSON at all) and TooDeepError pass through."""
    from tracker.exceptions import FactError, ReportValidationError

    try:
        return loads(text)
    except DuplicateKeyError as e:
        path: Path = e.path
        index = None
        if len(path) >= 2 and path[0] == "facts" and isinstance(path[1], int):
            index, path = path[1], path[2:]
        field = dotted((*path, e.key))
        raise ReportValidationError([FactError(
            index, field, "is given twice in one JSON object (the report is refused rather "
                          "than keep either value)")]) from None


def fact_lines(text: str) -> list[int]:
    """The line (1-based) each item of a report's top-level "facts" list begins on, so a
    refusal can name `file:line` beside the fact's index; [] when the text is not an object
    with such a list. Reads the text again with the standard decoder (item by item), so it
    costs a parse."""
    decoder = json.JSONDecoder()
    ws = " \t\n\r"

    def skip(i: int) -> int:
        while i < len(text) and text[i] in ws:
            i += 1
        return i

    try:
        i = skip(1 if text.startswith("\ufeff") else 0)
        if text[i:i + 1] != "{":
            return []
        i = skip(i + 1)
        while i < len(text) and text[i] != "}":
            key, i = decoder.raw_decode(text, i)
            i = skip(skip(i) + 1)  # past ':'
            if key == "facts" and text[i:i + 1] == "[":
                starts = []
                i = skip(i + 1)
                while i < len(text) and text[i] != "]":
                    starts.append(i)
                    _, i = decoder.raw_decode(text, i)
                    i = skip(i)
                    if text[i:i + 1] == ",":
                        i = skip(i + 1)
                if text[i:i + 1] != "]":
                    return []  # the list never ends: not JSON
                lines, line, at = [], 1, 0
                for start in starts:  # counted once over the text, not once per fact
                    line += text.count("\n", at, start)
                    lines.append(line)
                    at = start
                return lines
            _, i = decoder.raw_decode(text, i)
            i = skip(i)
            if text[i:i + 1] == ",":
                i = skip(i + 1)
    except (ValueError, IndexError):
        return []
    return []
