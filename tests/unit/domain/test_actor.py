"""Actor aggregate, given-when-then."""

from datetime import date

from tracker.domain.actor import Actor

PROV = {"report": "r1", "source": {"name": "S", "kind": "media"}}


def person(key: str = "moussa") -> Actor:
    actor = Actor(key=key, details={"name": "Bah ag Moussa", "kind": "person", "aliases": []},
                  provenance=PROV)
    actor.collect_events()
    return actor


def test_a_death_ends_every_role_held_citing_the_death_and_incident():
    moussa = person()
    moussa.assume_role("jnim", "deputy", None, PROV)
    moussa.assume_role("jnim", "military_commander", None, PROV)
    moussa.collect_events()

    moussa.report_fate("death", date(2020, 11, 13), "menaka-raid", PROV)

    death, *ended = moussa.collect_events()
    assert type(death).__name__ == "DeathReported"
    assert [(e.role, e.reason, e.cause, e.incident) for e in ended] == [
        ("deputy", "killed", "death", "menaka-raid"),
        ("military_commander", "killed", "death", "menaka-raid"),
    ]
    assert moussa.roles == {}


def test_a_release_ends_no_role():
    cisse = person("cisse")
    cisse.assume_role("urd", "leader", None, PROV)
    cisse.collect_events()

    cisse.report_fate("release", date(2020, 10, 8), None, PROV)

    [release] = cisse.collect_events()
    assert type(release).__name__ == "ReleaseReported"
    assert "urd/leader" in cisse.roles


def test_a_role_reported_after_the_death_is_ended_by_it():
    moussa = person()
    moussa.report_fate("capture", date(2020, 1, 1), None, PROV)
    moussa.collect_events()

    moussa.assume_role("jnim", "deputy", None, PROV)

    assumed, ended = moussa.collect_events()
    assert (assumed.role, ended.role, ended.reason) == ("deputy", "deputy", "captured")
    assert moussa.roles == {}


def test_adding_a_known_alias_records_nothing():
    moussa = person()
    moussa.add_alias("Bamoussa Diarra", PROV)
    moussa.collect_events()

    moussa.add_alias("Bamoussa Diarra", PROV)
    moussa.add_alias("Bah ag Moussa", PROV)

    assert moussa.collect_events() == []


def test_correcting_keeps_the_previous_value_in_the_event():
    barbry = Actor(key="barbry", details={"name": "F. Barbry", "kind": "person",
                                          "aliases": ["Barby"]}, provenance=PROV)
    barbry.collect_events()

    barbry.correct("aliases", [], "misspelling", PROV)

    [corrected] = barbry.collect_events()
    assert (corrected.field, corrected.previous, corrected.value) == ("aliases", ["Barby"], [])
    assert barbry.aliases == []


def test_correcting_to_the_same_value_records_nothing():
    moussa = person()
    moussa.correct("name", "Bah ag Moussa", "no change", PROV)
    assert moussa.collect_events() == []
