"""An import paces itself to the views (embedded mode, a helper folding alongside): between
its batches it waits while they are too far behind, so readers see its rows within seconds
and it ends with the views nearly current; it never waits on views that do not move."""

import api.services as services_module
from api.services import Services, wait_for_views
from tracker.config import Settings
from tracker.ingestion.importer import Importer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def test_the_writer_waits_until_the_views_are_within_reach():
    clock = Clock()
    positions = iter([100, 400, 700, 950])
    seen = []

    def position() -> int:
        seen.append(next(positions))
        return seen[-1]

    wait_for_views(1000, position, lambda: True, ahead=100, stalled=30, poll=0.1,
                   clock=lambda: clock.now, sleep=clock.sleep)
    assert seen == [100, 400, 700, 950]
    assert round(clock.slept, 1) == 0.3


def test_the_writer_does_not_wait_on_views_that_are_close_stuck_or_without_a_folder():
    clock = Clock()
    calls = []

    def stuck() -> int:
        calls.append(clock.now)
        return 10

    wait_for_views(1000, stuck, lambda: True, ahead=100, stalled=5, poll=1,
                   clock=lambda: clock.now, sleep=clock.sleep)
    assert 5 <= clock.slept <= 7  # gave up once they had not moved for `stalled` seconds

    clock = Clock()
    wait_for_views(1000, lambda: 950, lambda: True, ahead=100, clock=lambda: clock.now,
                   sleep=clock.sleep)
    wait_for_views(1000, lambda: 0, lambda: False, ahead=100, clock=lambda: clock.now,
                   sleep=clock.sleep)
    assert clock.slept == 0


def test_a_paced_import_keeps_the_views_within_reach_of_what_it_wrote(
        shared_data, tmp_path, monkeypatch):
    real = services_module.wait_for_views  # with a short reach, for a small file
    monkeypatch.setattr(services_module, "wait_for_views",
                        lambda head, position, alive: real(head, position, alive, ahead=400))
    services = Services.from_settings(Settings(
        database_url=f"sqlite:///{tmp_path / 'events.sqlite'}"))
    behind: list[int] = []
    with services.projecting_alongside() as pace:
        def paced() -> None:
            pace()
            behind.append(services.tracker.max_position()
                          - services.store.active_and_position()[1])

        summary = Importer(services.tracker, "acled", batch_size=100).run(
            shared_data / "acled_Burkina_Faso.csv", pace=paced)
    assert summary.incidents == 2980 and len(behind) >= 25
    # After each batch the writer went on only with the views at most 400 events behind.
    assert max(behind) <= 400, behind
    assert max(services.runner.lag().values()) == 0
    services.close()


def test_the_writer_does_not_wait_when_the_views_cannot_be_read(tmp_path):
    """The views are derived: a read model whose position cannot be read (here: the read
    raises) is no reason to stop an import; it writes on, and logs why."""
    services = Services.from_settings(Settings(
        database_url=f"sqlite:///{tmp_path / 'events.sqlite'}"))
    failing = []

    def broken() -> tuple[int, int]:
        failing.append(1)
        raise OSError("the read model is unreadable")

    with services.projecting_alongside() as pace:
        services.store.active_and_position = broken  # type: ignore[method-assign]
        pace()  # returns: no wait, no error
        assert failing
        del services.store.active_and_position
    services.close()
