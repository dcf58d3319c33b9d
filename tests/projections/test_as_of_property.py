"""Property: for random logs folded in random batches, every view "as of" T equals the
oracle, a fresh read model folded from only the events recorded by T."""

import contextlib
import json
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.readmodel.queries import open_views
from projections.readmodel.store import ReadModelStore
from projections.runner import Projector
from tracker.application import ConflictTracker
from tracker.config import Settings
from tracker.exceptions import EntityNotFoundError, TrackerError

SOURCES = [("Reuters", "media"), ("MINUSMA", "official"), ("AFP", "media")]
INCIDENTS = ["x", "y", "z"]
PLACES = [("Mali", "Mopti"), ("Mali", "Gao"), ("Niger", "Tahoua")]


def setup_report() -> dict:
    return {"report": "setup", "source": {"name": "Desk", "kind": "analyst"}, "facts": [
        {"fact": "actor", "id": "g", "name": "Group", "kind": "armed_group"},
        {"fact": "actor", "id": "f", "name": "Force", "kind": "state_force"},
        {"fact": "actor", "id": "p", "name": "Person", "kind": "person"},
        {"fact": "operation", "id": "op", "name": "Op", "lead": "f"},
        *[{"fact": "incident", "id": key, "date": f"2021-0{i + 1}-10", "type": "battle",
           "location": {"name": key, "country": PLACES[i][0], "admin1": PLACES[i][1]},
           "actors": [{"actor": "f", "side": "a"}, {"actor": "g", "side": "b"}]}
          for i, key in enumerate(INCIDENTS)]]}


fact = st.one_of(
    st.builds(lambda inc, killed, actor: {"fact": "casualties", "incident": inc,
                                          "killed": killed, **({"actor": actor} if actor else {})},
              st.sampled_from(INCIDENTS), st.integers(0, 50), st.sampled_from([None, "g"])),
    st.builds(lambda inc, place: {"fact": "correction", "target": {"incident": inc},
                                  "field": "location.admin1", "value": place[1],
                                  "reason": "moved"},
              st.sampled_from(INCIDENTS), st.sampled_from(PLACES)),
    st.builds(lambda inc: {"fact": "correction", "target": {"incident": inc},
                           "field": "operation", "value": "op", "reason": "linked"},
              st.sampled_from(INCIDENTS)),
    st.builds(lambda role: {"fact": "role", "person": "p", "group": "g", "role": role},
              st.sampled_from(["leader", "deputy"])),
    st.just({"fact": "operation_status", "operation": "op", "status": "suspended"}),
)


@st.composite
def logs(draw):
    reports = []
    for i in range(draw(st.integers(1, 7))):
        source = draw(st.sampled_from(SOURCES))
        if reports and draw(st.integers(0, 5)) == 0:
            target = draw(st.sampled_from([r["report"] for r in reports]))
            facts = [{"fact": "retraction", "target": {"report": target}, "reason": "wrong"}]
        else:
            facts = draw(st.lists(fact, min_size=1, max_size=3))
        reports.append({"report": f"r{i}", "source": {"name": source[0], "kind": source[1]},
                        "facts": facts})
    pauses = draw(st.lists(st.booleans(), min_size=len(reports), max_size=len(reports)))
    return reports, pauses, draw(st.integers(1, 9))


def snapshot(store, as_of=None) -> str:
    with open_views(store, as_of) as views:
        out = {"casualties": {by: views.casualties(by)["rows"] for by in
                              ("country", "admin1", "actor", "month", "operation")},
               "operations": views.operations()["operations"],
               "incidents": views.incidents(limit=1000)["incidents"]}
        try:
            out["leadership"] = {k: v for k, v in views.leadership("g").items()
                                 if k != "as_of"}
        except EntityNotFoundError:
            out["leadership"] = None
        for key in INCIDENTS:
            try:
                detail = views.incident(key)
                detail.pop("as_of")
                out[key] = detail
            except EntityNotFoundError:
                out[key] = None
    return json.dumps(out, sort_keys=True)


@settings(max_examples=25, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(log=logs())
def test_every_view_as_of_any_moment_equals_a_fold_of_what_was_known_then(log):
    reports, pauses, batch_size = log
    with tempfile.TemporaryDirectory() as tmp:
        tracker = ConflictTracker.from_settings(
            Settings(database_url=f"sqlite:///{Path(tmp) / 'events.sqlite'}"))
        store = ReadModelStore(f"sqlite:///{Path(tmp) / 'views.sqlite'}")
        live = Projector(tracker, store, batch_size=batch_size)
        try:
            tracker.record_report(setup_report())
            for report, pause in zip(reports, pauses, strict=True):
                with contextlib.suppress(TrackerError):  # a refused report records nothing
                    tracker.record_report(report)
                if pause:  # fold part-way, so batches fall differently each example
                    live.catch_up()
            live.catch_up()
            known = [(pos, datetime.fromisoformat(e.provenance["recorded_at"]))
                     for pos, e in tracker.iter_events()]
            moments = sorted({t for _, t in known})
            probes = [moments[0] - timedelta(seconds=1)]
            for t in moments:
                probes += [t - timedelta(microseconds=1), t]
            for i, moment in enumerate(probes):
                upto = max([pos for pos, t in known if t <= moment], default=0)
                oracle = ReadModelStore(f"sqlite:///{Path(tmp) / f'oracle-{i}.sqlite'}")
                try:
                    Projector(tracker, oracle, batch_size=1000).catch_up(until_position=upto)
                    assert snapshot(store, moment) == snapshot(oracle), (moment, upto)
                finally:
                    oracle.close()
        finally:
            store.close()
            tracker.close()
