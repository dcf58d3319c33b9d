"""Incident documents are stored zstd-packed against a fixed dictionary
(projections.readmodel.packed): what is read back is the JSON the fold wrote."""

import threading

import orjson
from sqlalchemy import select

from projections.readmodel.packed import (
    DICTIONARY,
    dictionary_digest,
    json_of,
    pack,
    unpack,
)
from projections.readmodel.queries import open_views
from projections.runner import Projector
from projections.views import incidents as incidents_view
from tests.conftest import base_report

# The dictionary every stored incident row was packed with, and the incidents view's
# version that goes with it. A new dictionary cannot read the rows packed with the old
# one: change it only with a new view version (a read model folded before is then folded
# again when opened), and record both here.
PINNED = ("2d44921e6b66602eb81efefd877539a97cdc4018edbf4f8a5f6ac0f160fe5b36", 5)


def test_the_dictionary_changes_only_with_the_views_version():
    assert (dictionary_digest(), incidents_view.VIEW.version) == PINNED


def test_a_document_comes_back_as_written_and_smaller():
    doc = orjson.loads(DICTIONARY[:DICTIONARY.index(b"}{") + 1])
    doc["details"]["notes"] = "Étienne's \x1f note — ünïcode, quotes \" and \\ kept"
    text = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    blob = pack(text)
    assert unpack(blob) == text and json_of(blob) == text
    assert json_of(memoryview(blob)) == text
    assert len(blob) < len(text) / 4


def test_packing_from_many_threads_at_once():
    texts = [orjson.dumps({"id": f"i-{n}", "notes": "x" * n}) for n in range(200)]
    failures = []

    def work():
        for _ in range(20):
            for t in texts:
                if unpack(pack(t)) != t:
                    failures.append(t)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_the_read_model_stores_bytes_and_reads_text(sqlite_tracker, read_model):
    """The row holds packed bytes; a Core read gets the document's JSON, and the fold's
    own read (a new projector folding on) and the detail see the document."""
    sqlite_tracker.record_report(base_report())
    Projector(sqlite_tracker, read_model).catch_up()
    gen = read_model.ensure_active()
    table = read_model.tables(gen)["incidents"]
    with read_model.reading() as conn:
        raw = conn.exec_driver_sql(f"SELECT doc FROM {table.name}").fetchall()
        typed = conn.execute(select(table.c.doc)).fetchall()
    assert raw and all(isinstance(r[0], (bytes, memoryview)) for r in raw)
    assert len(bytes(raw[0][0])) < len(typed[0][0]) / 2
    assert unpack(bytes(raw[0][0])) == typed[0][0]
    assert orjson.loads(typed[0][0])["id"] == "niaki"
    # A second projector (its working set empty) reads the packed row back to fold on.
    sqlite_tracker.record_report({"report": "r-two", "source": {"name": "Wire", "kind": "media"},
                                  "facts": [{"fact": "casualties", "incident": "niaki",
                                             "killed": 31}]})
    Projector(sqlite_tracker, read_model).catch_up()
    with open_views(read_model) as views:
        detail = views.incident("niaki")
    assert detail["killed"]["best"] == 31 and sorted(detail["sources"]) == ["Ministry", "Wire"]
