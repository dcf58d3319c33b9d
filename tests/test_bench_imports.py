"""bench.imports' figures at scale: the rates over the first and last rows recorded."""

from __future__ import annotations

import pytest

from bench.imports import windows


def test_first_and_last_rates_come_from_the_rows_recorded_at_each_end():
    # 10 batches of 100 rows: 1 s each (CPU 0.5 s), but the last two take 2 s (CPU 1 s).
    marks = [[0, 0.0, 0.0]]
    for batch in range(1, 11):
        slow = batch > 8
        marks.append([batch * 100, marks[-1][1] + (2.0 if slow else 1.0),
                      marks[-1][2] + (1.0 if slow else 0.5)])
    rates = windows(marks, 1000)
    assert rates["span"] == 100  # a tenth of a file under 200,000 rows
    assert rates["first"] == pytest.approx(100.0)
    assert rates["last"] == pytest.approx(50.0)
    assert rates["first_cpu"] == pytest.approx(200.0)
    assert rates["last_cpu"] == pytest.approx(100.0)


def test_the_windows_are_100k_rows_in_a_file_with_room_for_both():
    marks = [[0, 0.0, 0.0], [100_000, 10.0, 5.0], [406_600, 200.0, 100.0],
             [506_600, 220.0, 110.0]]
    rates = windows(marks, 506_600)
    assert rates["span"] == 100_000
    assert rates["first"] == pytest.approx(10_000.0)
    assert rates["last"] == pytest.approx(5_000.0)
