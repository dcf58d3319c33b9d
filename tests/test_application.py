"""The application service, on the embedded SQLite store and on real PostgreSQL."""

import copy

import pytest

from tests.conftest import base_report
from tracker.exceptions import ReportConflictError, ReportValidationError


def log_size(tracker) -> int:
    return tracker.max_position()


def test_a_report_records_all_its_facts_in_one_save(tracker):
    # Record a report of two actors, an incident and a figure.
    result = tracker.record_report(base_report(), recorded_by="analyst-1")

    # One event per fact, plus the report itself, at consecutive positions.
    assert result.recorded
    assert result.positions == list(range(1, 6))
    events = tracker.list_events()["events"]
    assert [e["type"] for e in events] == [
        "ReportRecorded", "ActorRegistered", "ActorRegistered", "IncidentReported",
        "CasualtiesReported"]
    # Every event carries its provenance.
    for e in events:
        assert e["provenance"]["report"] == "r-base"
        assert e["provenance"]["source"]["name"] == "Ministry"
        assert e["provenance"]["recorded_by"] == "analyst-1"
        assert e["provenance"]["recorded_at"]


def test_the_same_report_twice_records_one_set_of_events(tracker):
    tracker.record_report(base_report())
    again = tracker.record_report(base_report())
    assert not again.recorded and again.positions == []
    assert log_size(tracker) == 5


def test_the_same_id_with_other_content_is_refused(tracker):
    tracker.record_report(base_report())
    changed = base_report()
    changed["facts"][3]["killed"] = 31
    with pytest.raises(ReportConflictError, match="r-base"):
        tracker.record_report(changed)
    assert log_size(tracker) == 5


@pytest.mark.parametrize("fact, field", [
    ({"fact": "casualties", "incident": "nowhere", "killed": 3}, "incident"),
    ({"fact": "role", "person": "ghost", "group": "jnim", "role": "leader"}, "person"),
    ({"fact": "role", "person": "jnim", "group": "jnim", "role": "leader"}, "person"),
    ({"fact": "incident", "id": "x", "date": "2020-01-01", "type": "battle",
      "location": {"name": "X", "country": "Mali"}, "actors": [{"actor": "ghost"}]},
     "actors.0.actor"),
    ({"fact": "correction", "target": {"incident": "nowhere"}, "field": "date",
      "value": "2020-01-01", "reason": "r"}, "target.incident"),
    ({"fact": "rumour", "text": "x"}, "fact"),
    ({"fact": "casualties", "incident": "niaki"}, "killed"),
    ({"fact": "casualties", "incident": "niaki", "killed": "many"}, "killed"),
])
def test_an_invalid_fact_refuses_the_whole_report(tracker, fact, field):
    tracker.record_report(base_report())
    before = tracker.list_events(limit=1000)
    report = {"report": "r-bad", "source": {"name": "S", "kind": "media"},
              "facts": [{"fact": "alias", "actor": "jnim", "alias": "Nusrat"}, fact]}

    with pytest.raises(ReportValidationError) as info:
        tracker.record_report(report)

    assert [(e.index, e.field) for e in info.value.errors] == [(1, field)]
    assert tracker.list_events(limit=1000) == before


def test_a_correction_changes_the_value_and_keeps_the_old_one_in_history(tracker):
    tracker.record_report(base_report())
    tracker.record_report({"report": "r-fix", "source": {"name": "Desk", "kind": "analyst"},
                           "facts": [{"fact": "correction", "target": {"incident": "niaki"},
                                      "field": "date", "value": "2020-11-13",
                                      "reason": "announcement date"}]})

    assert str(tracker.get_entity("incident", "niaki")["details"]["date"]) == "2020-11-13"
    history = tracker.get_history("incident", "niaki")
    corrected = history[-1]
    assert corrected["type"] == "IncidentCorrected"
    assert corrected["payload"]["previous"] == "2020-11-12"
    assert corrected["payload"]["value"] == "2020-11-13"
    assert corrected["provenance"]["report"] == "r-fix"
    assert corrected["position"] == tracker.max_position()
    assert history[0]["payload"]["details"]["date"] == "2020-11-12"


def test_a_correction_to_the_current_value_records_only_the_report(tracker):
    tracker.record_report(base_report())
    result = tracker.record_report({
        "report": "r-same", "source": {"name": "Desk", "kind": "analyst"},
        "facts": [{"fact": "correction", "target": {"incident": "niaki"}, "field": "date",
                   "value": "2020-11-12", "reason": "check"}]})
    assert len(result.positions) == 1


def test_retracting_a_report_withdraws_its_facts_but_keeps_them_in_history(tracker):
    tracker.record_report(base_report())
    second = {"report": "r-second", "source": {"name": "Blog", "kind": "media"},
              "facts": [{"fact": "casualties", "incident": "niaki", "killed": 300}]}
    tracker.record_report(second)

    tracker.record_report({"report": "r-retract", "source": {"name": "Desk", "kind": "analyst"},
                           "facts": [{"fact": "retraction", "target": {"report": "r-second"},
                                      "reason": "fabricated figure"}]})

    incident = tracker.get_entity("incident", "niaki")
    assert [f["killed"] for f in incident["figures"].values()] == [30]
    assert tracker.get_entity("report", "r-second")["retracted"] == "fabricated figure"
    types = [e["type"] for e in tracker.get_history("incident", "niaki")]
    assert types == ["IncidentReported", "CasualtiesReported", "CasualtiesReported",
                     "IncidentReportRetracted"]


def test_a_death_ends_the_roles_in_the_same_save(tracker):
    report = copy.deepcopy(base_report())
    report["facts"] += [
        {"fact": "actor", "id": "moussa", "name": "Bah ag Moussa", "kind": "person"},
        {"fact": "death", "person": "moussa", "date": "2020-11-10", "incident": "niaki"},
        {"fact": "role", "person": "moussa", "group": "jnim", "role": "deputy"},
    ]
    tracker.record_report(report)
    types = [e["type"] for e in tracker.get_history("actor", "moussa")]
    assert types == ["ActorRegistered", "RoleAssumed", "DeathReported", "RoleEnded"]
    ended = tracker.get_history("actor", "moussa")[-1]["payload"]
    assert (ended["reason"], ended["incident"], ended["cause"]) == ("killed", "niaki", "death")


def test_re_registering_an_actor_with_other_details_is_refused(tracker):
    tracker.record_report(base_report())
    report = {"report": "r-2", "source": {"name": "S", "kind": "media"},
              "facts": [{"fact": "actor", "id": "jnim", "name": "Other", "kind": "armed_group"}]}
    with pytest.raises(ReportValidationError, match="fact 0, field 'id'"):
        tracker.record_report(report)


def test_re_registering_an_actor_with_a_new_alias_adds_only_the_alias(tracker):
    tracker.record_report(base_report())
    result = tracker.record_report({"report": "r-2", "source": {"name": "S", "kind": "media"},
                                    "facts": [{"fact": "actor", "id": "jnim", "name": "JNIM",
                                               "kind": "armed_group", "aliases": ["GSIM"]}]})
    assert len(result.positions) == 2
    assert tracker.get_entity("actor", "jnim")["details"]["aliases"] == ["GSIM"]


def test_stored_events_keep_what_was_first_reported(tracker):
    # One report registers an actor and an incident, then records more about both.
    tracker.record_report(base_report())
    tracker.record_report({
        "report": "r-same-save", "source": {"name": "S", "kind": "media"},
        "facts": [
            {"fact": "actor", "id": "ghali", "name": "Iyad Ag Ghali", "kind": "person"},
            {"fact": "sanction", "actor": "ghali", "authority": "United Nations"},
            {"fact": "alias", "actor": "ghali", "alias": "Abu al-Fadl"},
            {"fact": "incident", "id": "x", "date": "2015-11-13", "type": "battle",
             "location": {"name": "X", "country": "Mali"}},
            {"fact": "correction", "target": {"incident": "x"}, "field": "date",
             "value": "2020-11-13", "reason": "typo"},
        ]})

    # The registration events say only what the facts that made them said...
    registered = tracker.get_history("actor", "ghali")[0]["payload"]["details"]
    assert registered == {"name": "Iyad Ag Ghali", "kind": "person", "aliases": []}
    reported = tracker.get_history("incident", "x")[0]["payload"]["details"]
    assert reported["date"] == "2015-11-13"
    # ...and replaying them gives each later fact once.
    ghali = tracker.get_entity("actor", "ghali")["details"]
    assert ghali["sanctions"] == [{"authority": "United Nations", "listed": None}]
    assert ghali["aliases"] == ["Abu al-Fadl"]
    assert str(tracker.get_entity("incident", "x")["details"]["date"]) == "2020-11-13"


def test_entities_a_fact_only_refers_to_are_checked_not_loaded(tracker, monkeypatch):
    # A large import names the same actors in thousands of facts: their existence is
    # asked once per report, and only entities a fact changes are read in full.
    tracker.record_report(base_report())
    loaded = []
    get = tracker.repository.get
    monkeypatch.setattr(tracker.repository, "get",
                        lambda agg_id, *a, **kw: loaded.append(agg_id) or get(agg_id, *a, **kw))
    report = {"report": "r-refs", "source": {"name": "S", "kind": "media"}, "facts": [
        {"fact": "incident", "id": "y", "date": "2020-11-14", "type": "battle",
         "location": {"name": "Y", "country": "Mali"},
         "actors": [{"actor": "france", "side": "a"}, {"actor": "jnim", "side": "b"}]},
        {"fact": "casualties", "incident": "y", "actor": "jnim", "killed": 2},
        {"fact": "alias", "actor": "jnim", "alias": "GSIM"},
    ]}
    assert tracker.record_report(report).recorded
    from tracker.domain.base import entity_id
    assert loaded == [entity_id("report", "r-refs"), entity_id("actor", "jnim")]
    # An unknown reference is still refused, naming the field.
    bad = copy.deepcopy(report)
    bad["report"] = "r-refs-2"
    bad["facts"][1]["actor"] = "nobody"
    bad["facts"][0]["id"] = bad["facts"][1]["incident"] = "z"
    with pytest.raises(ReportValidationError) as info:
        tracker.record_report(bad)
    assert [(e.index, e.field) for e in info.value.errors] == [(1, "actor")]


def test_returned_positions_are_where_the_events_are_in_the_log(tracker):
    first = tracker.record_report(base_report())
    report = base_report("r-second")
    report["facts"] = [{"fact": "casualties", "incident": "niaki", "killed": n}
                       for n in (31, 32)] + [{"fact": "alias", "actor": "jnim", "alias": "GSIM"}]
    second = tracker.record_report(report)
    events = tracker.list_events()["events"]
    by_position = {e["position"]: e for e in events}
    assert sorted(by_position) == first.positions + second.positions
    assert {by_position[p]["provenance"]["report"] for p in second.positions} == {"r-second"}
    assert tracker.verify().ok


def test_a_retraction_cannot_be_retracted_and_nothing_is_recorded(sqlite_tracker):
    from tracker.exceptions import ReportValidationError

    desk = {"name": "Desk", "kind": "analyst"}
    sqlite_tracker.record_report(base_report())
    sqlite_tracker.record_report({"report": "r-retract", "source": desk, "facts": [
        {"fact": "retraction", "target": {"report": "r-base"}, "reason": "wrong"}]})
    head = sqlite_tracker.max_position()
    with pytest.raises(ReportValidationError) as refused:
        sqlite_tracker.record_report({"report": "r-undo", "source": desk, "facts": [
            {"fact": "retraction", "target": {"report": "r-retract"}, "reason": "oops"}]})
    [error] = refused.value.errors
    assert (error.index, error.field) == (0, "target.report")
    assert "cannot be retracted" in error.message
    assert error.message.startswith("report 'r-retract' retracted report r-base; ")
    assert sqlite_tracker.max_position() == head


def test_quarantine_names_the_positions_not_in_the_log_singular_for_one(sqlite_tracker):
    from tracker.exceptions import QuarantineError

    sqlite_tracker.record_report(base_report())
    head = sqlite_tracker.max_position()
    with pytest.raises(QuarantineError) as one:
        sqlite_tracker.quarantine([head + 5], "nope")
    assert str(one.value) == f"position {head + 5} is not in the log (1..{head})"
    with pytest.raises(QuarantineError) as two:
        sqlite_tracker.quarantine([0, head + 1], "nope")
    assert str(two.value) == f"positions 0, {head + 1} are not in the log (1..{head})"
    assert sqlite_tracker.quarantined() == {}


def test_a_revoked_token_name_can_be_issued_again_an_active_one_not(tracker):
    """Revoking X and creating X again gives a new token (one more event on X: the
    revocation stays in the log); the old secret stays refused; an active X is refused."""
    from tracker.exceptions import TokenError

    old = tracker.issue_token("analyst", "reader")
    with pytest.raises(TokenError, match="already exists and is active"):
        tracker.issue_token("analyst", "reporter")
    tracker.revoke_token("analyst", "left the team")
    assert tracker.authenticate(old) is None
    new = tracker.issue_token("analyst", "reporter")
    assert new != old
    assert tracker.authenticate(old) is None
    token = tracker.authenticate(new)
    assert token is not None and token.allows("reporter") and not token.allows("admin")
    assert [(t["name"], t["role"], t["revoked"]) for t in tracker.list_tokens()] == [
        ("analyst", "reporter", None)]
    events = tracker.list_events(limit=10)["events"]
    assert [e["type"] for e in events] == ["TokenIssued", "TokenRevoked", "TokenReissued"]
    assert "secret_hash" not in events[2]["payload"] and events[2]["payload"]["role"] == \
        "reporter"
    with pytest.raises(TokenError, match="already exists and is active"):
        tracker.issue_token("analyst", "admin")
