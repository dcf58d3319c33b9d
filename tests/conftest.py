"""Shared fixtures. Real servers come from the environment:

- TRACKER_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test)
- TRACKER_TEST_REDIS_URL (default redis://127.0.0.1:6379/15)
- TRACKER_SHARED_DATA (default ../shared/data beside the clone: the real exports)

A test that needs a server skips when it is unreachable, except under CI=true, where
it fails: CI must never pass by skipping the production path.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tracker.application import ConflictTracker
from tracker.config import Settings

SHARED_DATA = Path(os.environ.get("TRACKER_SHARED_DATA")
                   or Path(__file__).resolve().parents[2] / "shared" / "data")


def postgres_url() -> str:
    return os.environ.get("TRACKER_TEST_POSTGRES_URL",
                          "postgresql://postgres@127.0.0.1:5432/test")


def redis_url() -> str:
    return os.environ.get("TRACKER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def need(service: str, check: Callable[[], Any]) -> None:
    """Skips (or under CI=true fails) when `service` is unreachable."""
    try:
        check()
    except Exception as e:  # noqa: BLE001 - any failure means "not reachable"
        message = f"{service} is not reachable: {e}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (mandatory under CI=true)")
        pytest.skip(message)


def _pg_check() -> None:
    import psycopg

    from tracker.config import eventsourcing_env

    env = eventsourcing_env(postgres_url())
    psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                    port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                    password=env["POSTGRES_PASSWORD"] or None, connect_timeout=3).close()


def drop_pg_schema(schema: str) -> None:
    import psycopg
    from psycopg import sql

    from tracker.config import eventsourcing_env

    env = eventsourcing_env(postgres_url())
    with psycopg.connect(dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
                         port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
                         password=env["POSTGRES_PASSWORD"] or None, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _own_schema(prefix: str) -> Iterator[str]:
    """A PostgreSQL URL with a schema of its own (and its `_views` one), dropped after."""
    need("PostgreSQL", _pg_check)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    base = postgres_url()
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}schema={schema}"
    drop_pg_schema(schema)
    drop_pg_schema(f"{schema}_views")


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    """A PostgreSQL URL with a schema of its own, dropped after the test."""
    yield from _own_schema("t")


@pytest.fixture
def sqlite_database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.sqlite'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs on the embedded SQLite store and on real PostgreSQL."""
    name = "sqlite_database_url" if request.param == "sqlite" else "pg_database_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def make_tracker() -> Iterator[Callable[[str], ConflictTracker]]:
    made: list[ConflictTracker] = []

    def make(url: str) -> ConflictTracker:
        tracker = ConflictTracker.from_settings(Settings(database_url=url))
        made.append(tracker)
        return tracker

    yield make
    for t in made:
        t.close()


@pytest.fixture
def tracker(database_url: str, make_tracker: Callable[[str], ConflictTracker]) -> ConflictTracker:
    return make_tracker(database_url)


@pytest.fixture
def sqlite_tracker(sqlite_database_url: str,
                   make_tracker: Callable[[str], ConflictTracker]) -> ConflictTracker:
    return make_tracker(sqlite_database_url)


def base_report(report_id: str = "r-base", **source: Any) -> dict[str, Any]:
    """A small valid report: two actors, one incident, one casualty figure."""
    return {
        "report": report_id,
        "source": {"name": "Ministry", "kind": "official", "published": "2020-11-13", **source},
        "facts": [
            {"fact": "actor", "id": "jnim", "name": "JNIM", "kind": "armed_group"},
            {"fact": "actor", "id": "france", "name": "French Armed Forces",
             "kind": "state_force"},
            {"fact": "incident", "id": "niaki", "date": "2020-11-12", "type": "battle",
             "location": {"name": "Niaki", "admin1": "Mopti", "country": "Mali"},
             "actors": [{"actor": "france", "side": "a"}, {"actor": "jnim", "side": "b"}]},
            {"fact": "casualties", "incident": "niaki", "actor": "jnim", "killed": 30},
        ],
    }


def _redis_check() -> None:
    import redis

    redis.Redis.from_url(redis_url(), socket_connect_timeout=3).ping()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A unique key prefix on the real Redis server, deleted after the test."""
    need("Redis", _redis_check)
    prefix = f"test:{uuid.uuid4().hex[:12]}"
    yield prefix
    import redis

    client = redis.Redis.from_url(redis_url())
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def pg_views_url() -> Iterator[str]:
    """A PostgreSQL read model URL with a schema of its own, dropped after the test."""
    yield from _own_schema("v")


@pytest.fixture(params=["sqlite", "postgres"])
def read_model(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Each test using it runs against SQLite views and against real PostgreSQL views."""
    from projections.readmodel.store import ReadModelStore

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'views.sqlite'}"
    else:
        url = request.getfixturevalue("pg_views_url")
    store = ReadModelStore(url)
    yield store
    store.close()


@pytest.fixture
def seeded(sqlite_tracker: ConflictTracker) -> ConflictTracker:
    from seeds import load_seeds

    load_seeds(sqlite_tracker)
    return sqlite_tracker


@pytest.fixture
def shared_data() -> Path:
    """../shared/data with the real exports: skipped when absent, mandatory under CI=true."""
    def check() -> None:
        for name in ("acled_Burkina_Faso.csv", "ucdp_ged_CAR_sample.csv"):
            if not (SHARED_DATA / name).is_file():
                raise FileNotFoundError(SHARED_DATA / name)

    need("../shared/data", check)
    return SHARED_DATA
