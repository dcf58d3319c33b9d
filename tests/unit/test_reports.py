"""The report format: every way a report can be wrong is named by fact index and field."""

import copy

import pytest

from tests.conftest import base_report
from tracker.exceptions import ReportValidationError
from tracker.reports import parse_report


def errors_of(report: dict) -> list[tuple]:
    with pytest.raises(ReportValidationError) as info:
        parse_report(report)
    return [(e.index, e.field) for e in info.value.errors]


def with_fact(index: int, **changes) -> dict:
    report = copy.deepcopy(base_report())
    report["facts"][index].update(changes)
    return report


def test_a_valid_report_is_normalized():
    report = parse_report(base_report())
    assert [f.type for f in report.facts] == ["actor", "actor", "incident", "casualties"]
    assert str(report.facts[2].data["date"]) == "2020-11-12"


def test_the_content_hash_ignores_key_order_but_not_content():
    a = parse_report(base_report())
    reordered = dict(reversed(list(base_report().items())))
    assert parse_report(reordered).content_hash == a.content_hash
    assert parse_report(with_fact(3, killed=31)).content_hash != a.content_hash


@pytest.mark.parametrize("change, expected", [
    ({"fact": "rumour"}, (1, "fact")),
    ({"name": None}, (1, "name")),
    ({"kind": "militia"}, (1, "kind")),
    ({"name": 42}, (1, "name")),
    ({"colour": "red"}, (1, "colour")),
])
def test_actor_fact_errors_name_index_and_field(change, expected):
    assert errors_of(with_fact(1, **change)) == [expected]


@pytest.mark.parametrize("change, expected", [
    ({"killed": -1}, (3, "killed")),
    ({"killed": "thirty"}, (3, "killed")),
    ({"killed": True}, (3, "killed")),
    ({"low": -1}, (3, "low")),
])
def test_casualty_fact_errors(change, expected):
    assert errors_of(with_fact(3, **change)) == [expected]


def test_nested_location_errors_name_the_nested_field():
    report = base_report()
    del report["facts"][2]["location"]["country"]
    report["facts"][2]["date"] = "2020-13-40"
    assert sorted(errors_of(report)) == [(2, "date"), (2, "location.country")]


def test_missing_required_field():
    report = base_report()
    del report["facts"][3]["killed"]
    assert errors_of(report) == [(3, "killed")]


def test_report_level_errors():
    report = base_report()
    report["source"]["kind"] = "blog"
    del report["report"]
    assert sorted(errors_of(report), key=str) == [(None, "report"), (None, "source.kind")]


def test_a_correction_of_an_unknown_field_is_refused():
    report = base_report()
    report["facts"].append({"fact": "correction", "target": {"incident": "niaki"},
                            "field": "colour", "value": "x", "reason": "r"})
    assert errors_of(report) == [(4, "field")]


def test_a_correction_value_is_checked_like_the_field():
    report = base_report()
    report["facts"].append({"fact": "correction", "target": {"incident": "niaki"},
                            "field": "date", "value": "yesterday", "reason": "r"})
    assert errors_of(report) == [(4, "value")]


def test_a_target_must_name_one_entity():
    report = base_report()
    report["facts"].append({"fact": "retraction", "target": {"incident": "a", "actor": "b"},
                            "reason": "r"})
    assert errors_of(report) == [(4, "target")]


def test_a_report_must_have_facts():
    report = base_report()
    report["facts"] = []
    assert errors_of(report) == [(None, "facts")]


def test_a_fact_type_that_is_not_a_string_is_an_unknown_fact_type():
    report = base_report()
    report["facts"].append({"fact": {"nested": 1}})
    assert errors_of(report) == [(4, "fact")]


def test_text_with_an_unpaired_surrogate_is_refused_not_stored():
    report = base_report()
    report["facts"][0]["name"] = "JNIM \ud800"
    assert errors_of(report) == [(0, "name")]


def test_a_range_that_does_not_bracket_best_is_kept_as_given():
    report = parse_report(with_fact(3, killed=30, low=40, high=20))
    assert (report.facts[3].data["low"], report.facts[3].data["high"]) == (40, 20)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_numbers_that_are_not_finite_are_refused(value):
    # Python's json module reads NaN and Infinity; JSON cannot hold them, so they are refused
    # before they reach an event.
    report = base_report()
    report["facts"][2]["location"]["latitude"] = value
    report["facts"][2]["attributes"] = {"score": value}
    assert sorted(errors_of(report)) == [(2, "attributes"), (2, "location.latitude")]


def test_the_fact_discriminator_is_not_kept_in_the_fact_data():
    report = parse_report(base_report())
    assert all("fact" not in f.data for f in report.facts)


def messages_of(report: dict) -> list[tuple]:
    with pytest.raises(ReportValidationError) as info:
        parse_report(report)
    return [(e.index, e.field, e.message) for e in info.value.errors]


def test_a_bad_item_of_a_list_is_named_by_its_dotted_path():
    # `actors.1.side`, as a nested object's field is named (`actors.0.actor`), not
    # `field 'actors': item 1 side …`; every bad item, not only the first.
    report = with_fact(2, actors=[{"actor": "france", "side": "a"},
                                  {"actor": "jnim", "side": "c"},
                                  {"actor": "-bad", "side": "b"}])
    found = messages_of(report)
    assert [(i, f) for i, f, _ in found] == [(2, "actors.1.side"), (2, "actors.2.actor")]
    assert found[0][2].startswith("must be one of: a, b, other")


def test_a_bad_item_of_a_list_of_ids_is_named_by_its_index():
    report = base_report()
    report["facts"].append({"fact": "operation", "id": "op", "name": "Op", "lead": "france",
                            "partners": ["jnim", "not an id"]})
    assert errors_of(report) == [(4, "partners.1")]


def test_a_correction_value_list_item_is_named_by_its_path():
    report = base_report()
    report["facts"].append({"fact": "correction", "target": {"incident": "niaki"},
                            "field": "actors", "value": [{"actor": "jnim", "side": "z"}],
                            "reason": "r"})
    assert errors_of(report) == [(4, "value.0.side")]


def test_a_fact_without_its_type_says_the_type_is_required():
    report = base_report()
    del report["facts"][3]["fact"]
    [(index, field, message)] = messages_of(report)
    assert (index, field) == (3, "fact")
    assert message.startswith("is required") and "casualties" in message
    assert "None" not in message
