"""Batch sizes: far behind the log, a projector of batch work folds in larger batches (fewer
commits, each writing the pages its rows touched once), into the same rows; the command
line's default matches the projector's."""

from click.testing import CliRunner

from api.cli import main
from bench.synthetic import synthetic_reports
from projections.readmodel.store import ReadModelStore
from projections.runner import LARGE_BATCH, Projector


def test_far_behind_a_projector_folds_larger_batches_into_the_same_rows(
        sqlite_tracker, read_model, tmp_path):
    for report in synthetic_reports(2000, seed=11, facts_per_report=5):
        sqlite_tracker.record_report(report)
    head = sqlite_tracker.max_position()
    # The generator's first report (its actors, ~670 events) is one unit, never split.
    rest = head - 700
    assert rest > 1000

    batches: list[int] = []
    growing = Projector(sqlite_tracker, read_model, batch_size=10, max_batch=200)
    growing.catch_up(progress=lambda position, target: batches.append(position))
    assert batches[-1] == head
    # Each batch is up to 200 events (whole units: a report's events are never split).
    assert len(batches) <= 2 + rest / 150, batches

    fixed = ReadModelStore(f"sqlite:///{tmp_path / 'fixed.sqlite'}")
    steps: list[int] = []
    Projector(sqlite_tracker, fixed, batch_size=10).catch_up(
        progress=lambda position, target: steps.append(position))
    assert len(steps) >= rest / 20, steps  # without max_batch: batches of batch_size
    fixed.close()

    # The rows are those of a fold aside (verify compares every table row by row).
    assert growing.verify() == []


def test_a_projector_keeps_its_batch_size_when_the_views_keep_up(sqlite_tracker, read_model):
    p = Projector(sqlite_tracker, read_model, batch_size=50, max_batch=5000)
    assert p.batch_for(10) == 50
    assert p.batch_for(3000) == 3000
    assert p.batch_for(10**6) == 5000
    assert Projector(sqlite_tracker, read_model, batch_size=50).batch_for(10**6) == 50


def test_the_command_lines_default_is_the_projectors():
    out = CliRunner().invoke(main, ["project", "--help"]).output
    assert f"{LARGE_BATCH}]" in out.replace(",", "").replace("_", ""), out
