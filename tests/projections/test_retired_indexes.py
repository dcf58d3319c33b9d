"""Indexes a view retired (`View.retired`) are dropped from read models made before, when
they are opened, on both backends; the views answer as before, and no view declares again
an index it retired."""

from __future__ import annotations

from sqlalchemy import inspect

from projections.readmodel.queries import open_views
from projections.readmodel.schema import generation_indexes, generation_metadata
from projections.readmodel.store import ReadModelStore
from projections.runner import Projector
from projections.views import VIEWS
from tests.conftest import base_report
from tracker.config import Settings


def index_names(store: ReadModelStore, table: str) -> set[str]:
    with store.engine.connect() as conn:
        return {i["name"] for i in inspect(conn).get_indexes(table, schema=store.schema)}


def listed(store: ReadModelStore) -> list[tuple[str, int]]:
    with open_views(store) as views:
        return [(i["id"], i["killed"]["best"]) for i in views.incidents()["incidents"]]


def test_an_index_retired_by_a_view_is_dropped_from_an_older_read_model(database_url,
                                                                          make_tracker):
    tracker = make_tracker(database_url)
    tracker.record_report(base_report())
    url = Settings(database_url=database_url).read_model_url()
    store = ReadModelStore(url)
    gen = store.ensure_active()
    Projector(tracker, store).catch_up()
    before = listed(store)
    assert before == [("niaki", 30)]
    # The read model as an older version made it: with the index on incidents' keys.
    with store.engine.begin() as conn:
        # Driver SQL: the older layout's own DDL, made by hand.
        conn.exec_driver_sql(f"CREATE INDEX g{gen}_ix_inc_key ON g{gen}_incidents (key)")
    assert f"g{gen}_ix_inc_key" in index_names(store, f"g{gen}_incidents")
    store.close()

    store = ReadModelStore(url)
    try:
        store.setup()
        names = index_names(store, f"g{gen}_incidents")
        assert f"g{gen}_ix_inc_key" not in names
        assert f"g{gen}_ix_inc_date" in names  # the declared ones stay
        assert listed(store) == before
        store.close()
        store = ReadModelStore(url)
        store.setup()  # once gone, opening again is a no-op
        assert listed(store) == before
    finally:
        store.close()


def test_no_view_declares_an_index_it_retired():
    md = generation_metadata(1)
    declared = {index.name for index in generation_indexes(1, md)}
    retired = {f"g1_{index}" for view in VIEWS for _, index in view.retired}
    assert retired, "the incidents view retired ix_inc_key"
    assert not declared & retired
    for view in VIEWS:
        for table, _ in view.retired:
            assert f"g1_{table}" in md.tables  # each names a table the view has
