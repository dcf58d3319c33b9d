"""Exactly once under concurrency: several projectors (threads with their own connections,
and separate processes) folding the same log at once, while reports keep arriving, end
with views identical to a single-process rebuild."""

import os
import subprocess
import sys
import threading
from pathlib import Path

from bench.synthetic import synthetic_reports
from projections.readmodel.queries import open_views
from projections.readmodel.store import ReadModelStore
from projections.runner import Projector
from tracker.application import ConflictTracker
from tracker.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def snapshot(store):
    with open_views(store) as views:
        return ({by: views.casualties(by) for by in ("country", "admin1", "actor", "month")},
                views.incidents(limit=1000), views.operations(),
                views.leadership("syn-group-0") if _has_group(views) else None)


def _has_group(views):
    try:
        views.leadership("syn-group-0")
        return True
    except Exception:  # noqa: BLE001
        return False


def test_projectors_in_threads_while_reports_arrive_land_each_event_once(
        sqlite_database_url, read_model):
    reports = list(synthetic_reports(3000, seed=11, facts_per_report=40))
    setup = ConflictTracker.from_settings(Settings(database_url=sqlite_database_url))
    for report in reports[:30]:
        setup.record_report(report)
    errors: list[BaseException] = []
    writing = threading.Event()
    writing.set()

    def write() -> None:
        try:
            for report in reports[30:]:
                setup.record_report(report)
        except BaseException as e:  # noqa: BLE001 - asserted below
            errors.append(e)
        finally:
            writing.clear()

    def project(batch_size: int) -> None:
        tracker = ConflictTracker.from_settings(Settings(database_url=sqlite_database_url))
        store = ReadModelStore(read_model.url)
        try:
            projector = Projector(tracker, store, batch_size=batch_size)
            while writing.is_set():
                projector.catch_up()
            projector.catch_up()
        except BaseException as e:  # noqa: BLE001 - asserted below
            errors.append(e)
        finally:
            store.close()
            tracker.close()

    threads = [threading.Thread(target=write)] + [
        threading.Thread(target=project, args=(size,)) for size in (7, 23, 50, 200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    final = Projector(setup, read_model)
    assert final.catch_up() == 0  # the projectors got everything
    assert read_model.active_and_position()[1] == setup.max_position()
    assert final.verify() == []
    live = snapshot(read_model)
    final.rebuild()
    assert snapshot(read_model) == live
    setup.close()


def test_projector_processes_started_together_land_each_event_once(sqlite_database_url,
                                                                   read_model):
    tracker = ConflictTracker.from_settings(Settings(database_url=sqlite_database_url))
    for report in synthetic_reports(2500, seed=5, facts_per_report=60):
        tracker.record_report(report)
    env = {**os.environ, "TRACKER_DATABASE_URL": sqlite_database_url,
           "TRACKER_VIEWS_URL": read_model.url}
    env.pop("TRACKER_REDIS_URL", None)
    # Fixed batches (--max-batch too) of different sizes, so the processes interleave.
    procs = [subprocess.Popen([sys.executable, "-m", "api.cli", "project", "--batch-size",
                               str(size), "--max-batch", str(size)], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for size in (13, 40, 150)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    projector = Projector(tracker, read_model)
    assert read_model.active_and_position()[1] == tracker.max_position()
    assert projector.verify() == []
    tracker.close()


def test_processes_opening_a_new_sqlite_read_model_together_all_succeed(tmp_path):
    # The first switch of a new file to WAL takes a lock SQLite refuses at once, without
    # waiting, to a second connection opening the file at that moment.
    errors: list[BaseException] = []

    def open_it(url: str, barrier: threading.Barrier) -> None:
        barrier.wait()
        store = ReadModelStore(url)
        try:
            store.ensure_active()
        except BaseException as e:  # noqa: BLE001 - asserted below
            errors.append(e)
        finally:
            store.close()

    for n in range(40):
        url = f"sqlite:///{tmp_path / f'views-{n}.sqlite'}"
        barrier = threading.Barrier(6)
        threads = [threading.Thread(target=open_it, args=(url, barrier)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert errors == []
