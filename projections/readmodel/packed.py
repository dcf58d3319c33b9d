"""Incident documents as the read model stores them: JSON compressed by zstd against a
dictionary of what documents have in common.

Every version of an incident row holds the whole document (sources, figures, corrections,
notes), and most of its bytes are the same keys and structure in every row: stored as
text, the documents alone outweighed the event store they are folded from. Compressed with
a shared dictionary they take about a third of the bytes of real dataset rows (ACLED, UCDP)
and a seventh of the synthetic benchmark's, for ~3 us to write and ~1.5 us to read one.

The dictionary is raw content (zstd's "raw content" dictionary: any bytes the compressor
may refer back to): three typical documents — an analyst's report, a UCDP GED row and an
ACLED row — as the fold writes them, so it is reviewable text, not a trained binary. It
must never change under a stored row: a change goes with a new `version` of the incidents
view (projections/views/incidents.py), which folds every read model again when it is
opened; tests/projections/test_packed.py pins the two together.

Readers through SQLAlchemy get the JSON back as UTF-8 bytes, what orjson reads (`PackedJSON`,
a TypeDecorator; the fold's preloads are Core statements too); the fold writes rows with
compiled statements and COPY, so it packs with `pack`.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import zstandard
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

DICTIONARY = (
    b'{"assessments":[],"corrections":[],"details":{"actors":[{"actor":"france","side":"'
    b'a"},{"actor":"jnim","side":"b"}],"date":"2020-11-13","date_precision":"day","locat'
    b'ion":{"admin1":"Mopti","country":"Mali","name":"Niaki"},"notes":"","operation":"ba'
    b'rkhane","subtype":"Armed clash","type":"battle"},"details_withdrawn":null,"figures'
    b'":{"Ministry\\u001f\\u001fr-1":{"actor":null,"high":null,"killed":30,"low":null,"p'
    b'ublished":"2020-11-13","report":"r-1","seq":10,"source":"Ministry"}},"first_positi'
    b'on":9,"id":"niaki","materiel":[],"recorded":"2026-01-01T00:00:00.000000+00:00","re'
    b'port":"r-1","reports":["r-1"],"retracted":null,"sources":["Ministry"],"withdrawn":'
    b'[]}{"assessments":[],"cited":{"UCDP GED\\u001fucdp-import-0000000000000000-000000"'
    b':{"report":"ucdp-import-0000000000000000-000000","seq":1,"sources":""}},"correctio'
    b'ns":[],"details":{"actors":[{"actor":"ucdp:government-of-central-african-republic-'
    b'000000","side":"a"},{"actor":"ucdp:civilians-000000","side":"b"}],"attributes":{"c'
    b'ode_status":"Clear","conflict_name":"Government of - Civilians","conflict_new_id":'
    b'"1","dyad_name":"Government of - Civilians","dyad_new_id":"1","event_clarity":"1",'
    b'"number_of_sources":"1","priogrid_gid":"1","relid":"0","where_description":""},"da'
    b'te":"2020-01-01","date_precision":"day","location":{"admin1":" province","admin2":'
    b'" region","country":"Central African Republic","geo_precision":1,"latitude":4.0,"l'
    b'ongitude":18.0,"name":"","region":"Africa"},"subtype":"one-sided violence","type":'
    b'"violence_against_civilians"},"details_withdrawn":null,"figures":{"UCDP GED\\u001f'
    b'\\u001fucdp-import-0000000000000000-000000":{"actor":null,"breakdown":{"civilians"'
    b':0,"side_a":0,"side_b":0,"unknown":0},"civilians":0,"high":0,"killed":0,"low":0,"p'
    b'ublished":"2020-01-01","report":"ucdp-import-0000000000000000-000000","seq":1,"sou'
    b'rce":"UCDP GED"}},"first_position":1,"id":"ucdp-ged:1","materiel":[],"recorded":"2'
    b'026-01-01T00:00:00.000000+00:00","report":"ucdp-import-0000000000000000-000000","r'
    b'eports":["ucdp-import-0000000000000000-000000"],"retracted":null,"sources":["UCDP '
    b'GED"],"withdrawn":[]}{"assessments":[],"cited":{"ACLED\\u001facled-import-00000000'
    b'00000000-000000":{"report":"acled-import-0000000000000000-000000","seq":1,"sources'
    b'":"Undisclosed Source"}},"corrections":[],"details":{"actors":[{"actor":"acled:mil'
    b'itary-forces-of-000000","inter":1,"side":"a"},{"actor":"acled:unidentified-armed-g'
    b'roup-000000","inter":3,"side":"b"}],"attributes":{"civilian_targeting":"Civilian t'
    b'argeting","data_id":"1","disorder_type":"Political violence","event_id_no_cnty":"1'
    b'","interaction":"13","iso3":"BFA","source_scale":"National"},"date":"2020-01-01","'
    b'date_precision":"day","location":{"admin1":"","admin2":"","admin3":"","country":"B'
    b'urkina Faso","geo_precision":1,"latitude":12.0,"longitude":-1.0,"name":"","region"'
    b':"Western Africa"},"notes":"On 1 January 2020, unidentified armed men attacked and'
    b' killed civilians in the village of . Fatalities unknown.","subtype":"Attack","typ'
    b'e":"violence_against_civilians"},"details_withdrawn":null,"figures":{"ACLED\\u001f'
    b'\\u001facled-import-0000000000000000-000000":{"actor":null,"high":null,"killed":0,'
    b'"low":null,"published":"2020-01-01","report":"acled-import-0000000000000000-000000'
    b'","seq":1,"source":"ACLED"}},"first_position":1,"id":"acled:BFO1","materiel":[],"r'
    b'ecorded":"2026-01-01T00:00:00.000000+00:00","report":"acled-import-000000000000000'
    b'0-000000","reports":["acled-import-0000000000000000-000000"],"retracted":null,"sou'
    b'rces":["ACLED"],"withdrawn":[]}'
)
LEVEL = 3

_DICT = zstandard.ZstdCompressionDict(DICTIONARY, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
# zstd's compressor and decompressor objects are not for concurrent use: one per thread.
_local = threading.local()


def _codecs() -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    codecs: tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor] | None = getattr(
        _local, "codecs", None)
    if codecs is None:
        codecs = _local.codecs = (
            zstandard.ZstdCompressor(level=LEVEL, dict_data=_DICT, write_checksum=False,
                                     write_content_size=True, write_dict_id=False),
            zstandard.ZstdDecompressor(dict_data=_DICT))
    return codecs


def pack(json: bytes) -> bytes:
    """A document's JSON (UTF-8 bytes, as orjson writes it) as the row stores it."""
    return _codecs()[0].compress(json)


def unpack(blob: bytes) -> bytes:
    """The JSON (UTF-8 bytes, as orjson reads it) a row stores."""
    return _codecs()[1].decompress(blob)


def json_of(value: bytes | memoryview) -> bytes:
    """The JSON of a stored document as the driver hands the row over."""
    return unpack(value if isinstance(value, bytes) else bytes(value))


class PackedJSON(TypeDecorator[bytes]):
    """A document column: its JSON (UTF-8 bytes, for orjson) in Python, zstd-packed in
    the database."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Any) -> bytes | None:
        return None if value is None else pack(value)

    def process_result_value(self, value: Any, dialect: Any) -> bytes | None:
        return None if value is None else json_of(value)


def dictionary_digest() -> str:
    return hashlib.sha256(DICTIONARY).hexdigest()
