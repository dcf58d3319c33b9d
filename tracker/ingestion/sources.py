"""Reading an export as analysts have it, before and while it is imported.

- `scan(path)`: one pass over the bytes for the file's sha256 and a strict UTF-8 check.
  A file that is not valid UTF-8 is refused before anything is recorded, naming the line
  of the first bad byte: nothing past that byte can be trusted, and nothing before it is
  worth half an import.
- `open_rows(path, …)`: the file's records as (line, row) pairs, or RowError for a row that
  cannot be read (a wrong number of values: a row cut short by an interrupted download, or
  a stray delimiter). CSV: any line ending, an optional byte-order mark, an HXL hashtag row
  (HDX files) skipped, an exact repeat of the row before counted once. JSON, detected by
  content: ACLED API responses (`{"status", "data": [...]}`, one or a list of pages), UCDP
  API pages (`{"Result": [...], "TotalCount", ...}`, one or a list) and UCDP GED GeoJSON
  (a FeatureCollection); their records carry the CSV's column names, so they map to the
  same incidents.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from tracker import jsontext
from tracker.ingestion.rows import IngestionError, RowError
from tracker.wording import article, word_for

Progress = Callable[[int, int], None]  # (bytes read, file size)
Row = tuple[int, dict[str, str]]

CHUNK = 1 << 20


@dataclass
class Reading:
    """What reading a file met, for the summary."""

    format: str = "csv"
    rows: int = 0  # data rows (CSV) or records (JSON) read
    duplicates: int = 0  # exact repeats of the row before, counted once
    hxl: bool = False  # an HXL hashtag row was skipped
    columns: list[str] = field(default_factory=list)
    unit: str = "line"


def scan(path: Path) -> str:
    """The file's sha256; raises IngestionError at the first byte that is not UTF-8."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    lines_before = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                data = cast(bytes, e.object)
                line = lines_before + data[:e.start].count(b"\n") + 1
                raise IngestionError(
                    f"{path}:{line}: not valid UTF-8 (byte 0x{data[e.start]:02x}); the file "
                    "is refused and nothing was imported: re-save it as UTF-8") from None
            lines_before += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise IngestionError(f"{path}:{lines_before + 1}: the file ends inside a "
                                 "character (cut short?); nothing was imported") from None
    return digest.hexdigest()


def first_character(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(4096).lstrip(codecs.BOM_UTF8).lstrip()
    return head[:1].decode("ascii", "replace")


def open_rows(path: Path, reading: Reading, required: Callable[[list[str]], list[str]],
              source_name: str, json_key: str, progress: Progress | None = None
              ) -> Iterator[Row | RowError]:
    """The records of a CSV or JSON export; see the module's doc."""
    if first_character(path) in ("{", "["):
        return _json_rows(path, reading, required, source_name, json_key)
    return _csv_rows(path, reading, required, source_name, progress)


def _csv_rows(path: Path, reading: Reading, required: Callable[[list[str]], list[str]],
              source_name: str, progress: Progress | None) -> Iterator[Row | RowError]:
    size = path.stat().st_size
    with path.open(newline="", encoding="utf-8-sig") as f:
        lines = _Lines(f)
        reader = csv.reader(lines)
        header = next(reader, None)
        if header is None:
            raise IngestionError(f"{path}: the file is empty")
        lines.take()
        header = [h.strip() for h in header]
        twice = [name for name, n in Counter(header).items() if n > 1 and name]
        if twice:
            raise IngestionError(f"{path}:1: {word_for(len(twice), 'column')} "
                                 f"{', '.join(twice)} "
                                 f"{word_for(len(twice), 'appears', 'appear')} more than "
                                 "once in the header (which one is meant?); nothing was "
                                 "imported")
        missing = required(header)
        if missing:
            raise IngestionError(f"{path}: not {article(source_name)} {source_name} export: "
                                 f"missing {word_for(len(missing), 'column')} "
                                 f"{', '.join(missing)}")
        reading.columns = header
        width = len(header)
        previous: list[str] | None = None
        while True:
            try:
                values = next(reader, None)
            except csv.Error as e:  # e.g. an open quote running past the field size limit
                values, problem = [], f"cannot be read as CSV ({e})"
            else:
                problem = ""
            line, taken = lines.take()
            if values is None:
                break
            if problem or (len(values) != width and len(taken) > 1):
                # A quote opened on this line and never closed (a row cut short, then the
                # file goes on): the reader ran into the next lines. This line is rejected
                # and the lines it swallowed are read again, on their own.
                reading.rows += 1
                yield RowError(line, problem or (
                    "a quoted value opened on this line is not closed on it: the row is "
                    "cut short (an interrupted download?) or a quote is stray; the lines "
                    "after it are read on their own"))
                lines.give_back(line + 1, taken[1:])
                reader = csv.reader(lines)
                continue
            if not values:
                continue  # a blank line
            if line == 2 and _is_hxl(values):
                reading.hxl = True
                continue
            reading.rows += 1
            if values == previous:
                reading.duplicates += 1
                continue
            previous = values
            if len(values) != width:
                yield RowError(line, _width_problem(len(values), width))
            else:
                yield line, dict(zip(header, values, strict=True))
            if progress is not None and reading.rows % 200 == 0:
                # The text layer refuses tell() while iterating; the byte layer's
                # position (read-ahead included) is close enough for a progress bar.
                progress(min(cast(Any, f).buffer.tell(), size), size)
        if progress is not None:
            progress(size, size)


class _Lines:
    """A file's physical lines as the csv reader takes them: the ones the last record took
    (`taken`, the first numbered `first`, from 1), and lines given back to be read again."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.number = 0
        self.first = 1
        self.taken: list[str] = []
        self.back: list[tuple[int, str]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.back:
            number, text = self.back.pop()
        else:
            text = next(self.f)
            self.number += 1
            number = self.number
        if not self.taken:
            self.first = number
        self.taken.append(text)
        return text

    def take(self) -> tuple[int, list[str]]:
        """The lines the last record took: the first one's number, and their text."""
        taken, self.taken = self.taken, []
        return self.first, taken

    def give_back(self, first: int, texts: list[str]) -> None:
        """Lines to be read again, the first of them numbered `first`."""
        self.back.extend(reversed(list(enumerate(texts, start=first))))


def _width_problem(got: int, width: int) -> str:
    if got < width:
        return (f"only {got} of the header's {width} columns: the row is cut short (an "
                "interrupted download?) or a delimiter is missing")
    return f"{got} values where the header has {width} columns (a stray delimiter or quote?)"


def _is_hxl(values: list[str]) -> bool:
    """An HXL hashtag row (#date+year, #affected+killed …), as HDX files carry on line 2."""
    tags = [v.strip() for v in values if v.strip()]
    return bool(tags) and all(t.startswith("#") for t in tags)


def _json_rows(path: Path, reading: Reading, required: Callable[[list[str]], list[str]],
               source_name: str, json_key: str) -> Iterator[Row | RowError]:
    reading.format, reading.unit = "json", "record"
    try:
        document = jsontext.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as e:
        raise IngestionError(f"{path}:{e.lineno}: not valid JSON ({e.msg}); nothing was "
                             "imported") from None
    except (jsontext.DuplicateKeyError, jsontext.TooDeepError) as e:
        raise IngestionError(f"{path}: {e}; nothing was imported") from None
    records = _records(document, path, source_name, json_key)
    keys: dict[str, None] = {}
    for record in records[:1000]:
        if isinstance(record, dict):
            keys.update(dict.fromkeys(record))
    missing = required(list(keys))
    if missing:
        raise IngestionError(f"{path}: not {article(source_name)} {source_name} export: "
                             f"its records lack {', '.join(missing)}")
    reading.columns = list(keys)
    return _json_records(records, reading)


def _json_records(records: list[Any], reading: Reading) -> Iterator[Row | RowError]:
    for number, record in enumerate(records, start=1):
        reading.rows += 1
        if not isinstance(record, dict):
            yield RowError(number, "is not a JSON object", "record")
            continue
        yield number, {k: _text(v) for k, v in record.items()}


def _records(document: Any, path: Path, source_name: str, json_key: str) -> list[Any]:
    """The records of one page, of a list of pages, or of a GeoJSON FeatureCollection."""
    pages = document if isinstance(document, list) and document and all(
        isinstance(p, dict) and (json_key in p or p.get("type") == "FeatureCollection")
        for p in document) else [document]
    records: list[Any] = []
    for page in pages:
        if isinstance(page, dict) and page.get("type") == "FeatureCollection":
            records.extend(_feature_record(f) for f in page.get("features") or [])
        elif isinstance(page, dict) and isinstance(page.get(json_key), list):
            if page.get("success") is False or page.get("error"):
                raise IngestionError(f"{path}: the saved API response is an error: "
                                     f"{page.get('error') or page.get('message') or page}")
            records.extend(page[json_key])
        else:
            raise IngestionError(
                f"{path}: JSON, but not {article(source_name)} {source_name} export: expected "
                + ("an API response with a 'data' list" if json_key == "data" else
                   "an API page with a 'Result' list, or GeoJSON features"))
    return records


def _feature_record(feature: Any) -> Any:
    if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
        return feature
    record = dict(feature["properties"])
    geometry = feature.get("geometry") or {}
    coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if geometry.get("type") == "Point" and isinstance(coordinates, list) \
            and len(coordinates) >= 2:
        record.setdefault("longitude", coordinates[0])
        record.setdefault("latitude", coordinates[1])
    return record


def _text(value: Any) -> str:
    """A JSON value as the CSV would have written it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)
