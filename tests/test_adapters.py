"""Contract tests of the adapters: the private parts of eventsourcing and flask-smorest the
project relies on (tracker/adapters.py, api/adapters.py) are still there, with the same
parameters, and still behave as assumed. An upgrade of either library fails here."""

import inspect

import pytest
from eventsourcing.application import Application
from eventsourcing.utils import resolve_topic

from tracker.adapters import PRIVATE_METHODS, on_new_sqlite_connection, save_aggregates
from tracker.domain.actor import Actor


@pytest.mark.parametrize("owner, name, positional", PRIVATE_METHODS,
                         ids=[f"{o.rsplit(':', 1)[1]}.{n}" for o, n, _ in PRIVATE_METHODS])
def test_the_private_methods_used_are_still_there_with_the_same_parameters(owner, name,
                                                                           positional):
    method = getattr(resolve_topic(owner), name, None)
    assert callable(method), f"{owner}.{name} is gone: see tracker/adapters.py"
    params = inspect.signature(method).parameters.values()
    assert tuple(p.name for p in params if p.kind in (p.POSITIONAL_ONLY,
                                                      p.POSITIONAL_OR_KEYWORD)) == positional


def test_save_aggregates_records_what_the_librarys_save_records(sqlite_tracker, make_tracker,
                                                                tmp_path):
    plain = Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                             "SQLITE_DBNAME": str(tmp_path / "plain.sqlite")})
    prov = {"report": "r", "source": {"name": "S", "kind": "media"}}

    def actor() -> Actor:
        made = Actor(key="a", details={"name": "A", "kind": "armed_group"}, provenance=prov)
        made.add_alias("Alias", prov)
        return made

    ours = save_aggregates(sqlite_tracker, (actor(),), {})
    theirs = plain.save(actor())
    assert [(r.notification.id, r.notification.topic, r.notification.originator_version)
            for r in ours] == [(r.notification.id, r.notification.topic,
                                r.notification.originator_version) for r in theirs]
    loaded = sqlite_tracker.repository.get(actor().id)
    assert loaded.aliases == ["Alias"]


def test_every_new_sqlite_connection_gets_its_setup(sqlite_tracker):
    pool = sqlite_tracker.recorder.datastore.pool
    seen = []
    on_new_sqlite_connection(pool, seen.append)
    connection = pool._create_connection()
    assert seen == [connection._sqlite_conn]
    # The event store's own setup ran too: its WAL checkpoints every 32 MB.
    assert connection._sqlite_conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 8192


def test_flask_smorest_still_registers_its_error_handlers_through_the_method_we_turn_off():
    from flask_smorest import Api

    from api.adapters import TrackerApi

    assert "self._register_error_handlers()" in inspect.getsource(Api.init_app)
    assert TrackerApi._register_error_handlers is not Api._register_error_handlers
