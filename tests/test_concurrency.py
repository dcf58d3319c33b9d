"""Two writers changing the same entity at once: one wins, the other retries; nothing lost."""

import threading

from tests.conftest import base_report


def run_together(*calls):
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, errors


def test_concurrent_reports_on_one_incident_both_land(database_url, make_tracker):
    setup = make_tracker(database_url)
    setup.record_report(base_report())
    writers = [make_tracker(database_url) for _ in range(4)]

    reports = [{"report": f"r-{i}", "source": {"name": f"Source {i}", "kind": "media"},
                "facts": [{"fact": "casualties", "incident": "niaki", "killed": 10 + i}]}
               for i in range(4)]
    results, errors = run_together(*[
        (lambda w=w, r=r: w.record_report(r)) for w, r in zip(writers, reports, strict=True)])

    assert errors == []
    assert all(r.recorded for r in results)
    incident = setup.get_entity("incident", "niaki")
    assert sorted(f["killed"] for f in incident["figures"].values()) == [10, 11, 12, 13, 30]
    assert incident["version"] == 6
    assert setup.verify().ok


def test_the_same_report_id_sent_twice_at_once_lands_once(database_url, make_tracker):
    setup = make_tracker(database_url)
    setup.record_report(base_report())
    a, b = make_tracker(database_url), make_tracker(database_url)
    report = {"report": "r-dup", "source": {"name": "S", "kind": "media"},
              "facts": [{"fact": "casualties", "incident": "niaki", "killed": 12}]}

    results, errors = run_together(lambda: a.record_report(report),
                                   lambda: b.record_report(report))

    assert errors == []
    assert sorted(r.recorded for r in results) == [False, True]
    assert len(setup.list_events(limit=100)["events"]) == 7


def test_a_report_recorded_by_another_writer_while_checked_is_nothing_new(
        database_url, make_tracker, monkeypatch):
    """Two `tracker seed` at once: one writer looks for the first seed report, finds none,
    and checks its facts while the other records it and the corrections after it. Its
    incident facts then differ from the corrected incidents: that is the same report,
    recorded already ("nothing new"), not a refusal (it failed the six-process start)."""
    from seeds import seed_reports
    from tracker.application import ConflictTracker, ReportAggregate

    first, late = make_tracker(database_url), make_tracker(database_url)
    seeds = seed_reports()
    for report in seeds:
        first.record_report(report)
    repeating = seeds[0]  # registers the incidents the last seed report corrects
    real_find = ConflictTracker._find
    looked: list[str] = []

    def stale_find(self, cls, kind, key):  # the look-up made before the other's save
        if cls is ReportAggregate and key == repeating["report"] and not looked:
            looked.append(key)
            return None
        return real_find(self, cls, kind, key)

    monkeypatch.setattr(ConflictTracker, "_find", stale_find)
    result = late.record_report(repeating)
    assert looked and result.recorded is False
