"""The fact catalogue: each fact type's schema (the declaration the OpenAPI document shows)
and the compiled checker reports are validated with agree on every input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields

from tracker import fields as tf
from tracker.facts import CORRECTABLE, CORRECTABLE_FIELDS, FACT_TYPES

JUNK = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(), st.text(max_size=3),
                 st.lists(st.integers(), max_size=2),
                 st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3),
                    st.floats(allow_nan=False, allow_infinity=False))
DROP = object()


def valid(field: fields.Field) -> st.SearchStrategy[Any]:
    """Values the field's declaration allows."""
    if isinstance(field, tf.Text):
        return st.sampled_from(["x", " padded ", "name", "date", "actors", "location.latitude",
                                "kind", "fate.date", "partners", "lead", "operation", "Niaki"])
    if isinstance(field, tf.Ident):
        return st.sampled_from(["jnim", "a.b:c/1", "niaki", "op-1"])
    if isinstance(field, tf.Day):
        return st.dates().map(lambda d: d.isoformat())
    if isinstance(field, tf.Count):
        return st.integers(0, 40)
    if isinstance(field, tf.Between):
        low, high = field.validators[0].min, field.validators[0].max
        return st.floats(low, high) | st.integers(int(low), int(high))
    if isinstance(field, tf.Choice):
        return st.sampled_from(field.validators[0].choices)
    if isinstance(field, (tf.Flag, tf.AnyValue)):
        return JUNK | st.sampled_from(["2021-01-02", "jnim", 12.5, [{"actor": "jnim"}],
                                       ["jnim"], "armed_group"])
    if isinstance(field, tf.Counts):
        return st.dictionaries(st.sampled_from(["civilians", "n"]), st.integers(0, 9), max_size=2)
    if isinstance(field, tf.ScalarMap):
        return st.dictionaries(st.sampled_from(["row", "n", "x"]), SCALARS, max_size=3)
    if isinstance(field, fields.List):
        return st.lists(valid(field.inner), max_size=3)
    if isinstance(field, fields.Nested):
        return objects(type(field.schema))
    raise AssertionError(f"no strategy for {type(field).__name__}")


def wrong(field: fields.Field) -> st.SearchStrategy[Any]:
    """Values a little or very wrong for the field (and some right ones)."""
    near = {tf.Text: ["", "  ", "\ud800"], tf.Ident: ["-bad", "x y", ""],
            tf.Day: ["2020-02-30", "2020-1-2", "12/11/2020"], tf.Count: [-1, True, 2.0, "3"],
            tf.Between: [float("nan"), 400, "1", True], tf.Choice: ["nope", ""]}
    for kind, examples in near.items():
        if isinstance(field, kind):
            return st.sampled_from(examples) | JUNK | valid(field)
    if isinstance(field, fields.List):
        return st.lists(wrong(field.inner), max_size=2) | JUNK
    if isinstance(field, fields.Nested):
        return objects(type(field.schema), mutations=2) | JUNK
    return valid(field) | JUNK


def objects(schema: type[Schema], tag: str | None = None,
            mutations: int = 1) -> st.SearchStrategy[Any]:
    """Objects of a schema: valid ones, then up to `mutations` fields made wrong, dropped,
    or an unknown field added."""
    declared = {n: f for n, f in schema._declared_fields.items() if n != "fact"}
    required = {n: valid(f) for n, f in declared.items() if f.required}
    optional = {n: valid(f) for n, f in declared.items() if not f.required}
    changes = st.one_of(*[st.tuples(st.just(n), wrong(f)) for n, f in declared.items()],
                        st.tuples(st.sampled_from(list(declared)), st.just(DROP)),
                        st.just(("colour", "red")))

    def assemble(parts: tuple[dict, dict, list]) -> dict:
        out = {"fact": tag} if tag else {}
        out.update(parts[0])
        out.update(parts[1])
        for name, value in parts[2]:
            if value is DROP:
                out.pop(name, None)
            else:
                out[name] = value
        return out

    return st.tuples(st.fixed_dictionaries(required), st.fixed_dictionaries({}, optional=optional),
                     st.lists(changes, max_size=mutations)).map(assemble)


@st.composite
def corrections(draw: st.DrawFn) -> dict[str, Any]:
    """Correction facts whose field is correctable, with new values right and wrong."""
    kind = draw(st.sampled_from(sorted(CORRECTABLE_FIELDS)))
    name = draw(st.sampled_from(sorted(CORRECTABLE_FIELDS[kind])))
    value = draw(valid(CORRECTABLE_FIELDS[kind][name]) | wrong(CORRECTABLE_FIELDS[kind][name]))
    return {"fact": "correction", "target": {kind: "x1"}, "field": name, "value": value,
            "reason": draw(st.sampled_from(["typo", " ", "new source"]))}


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None and k != "fact"}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


@pytest.mark.parametrize("name", list(FACT_TYPES))
def test_the_compiled_checker_agrees_with_the_schema(name):
    fact_type = FACT_TYPES[name]
    facts = objects(fact_type.schema, tag=name)
    if name == "correction":
        facts = facts | corrections()

    @settings(max_examples=300, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(raw=facts)
    def agree(raw):
        try:
            checked = fact_type.check(raw)
        except tf.NestedInvalid:
            checked = None
        try:
            loaded = fact_type.schema().load(raw)
        except ValidationError:
            loaded = None
        assert (checked is None) == (loaded is None), (raw, checked, loaded)
        if checked is not None:
            assert without_nulls(checked) == without_nulls(loaded)

    agree()


def test_every_fact_type_is_declared_whole():
    for name, fact_type in FACT_TYPES.items():
        tag = fact_type.schema._declared_fields["fact"]
        assert tag.required and list(tag.validators[0].choices) == [name], name
        assert callable(fact_type.apply)
        # every field a reference names is a declared field of the fact
        assert {f for f, _ in fact_type.refers} <= set(fact_type.schema._declared_fields)
    assert set(CORRECTABLE) == {"incident", "actor", "operation"}


def test_a_correction_value_is_checked_as_the_field_it_changes():
    check = FACT_TYPES["correction"].check
    ok = check({"fact": "correction", "target": {"incident": "x"}, "field": "date",
                "value": "2021-02-03", "reason": "typo"})
    assert str(ok["value"]) == "2021-02-03"
    with pytest.raises(tf.NestedInvalid) as info:
        check({"fact": "correction", "target": {"incident": "x"},
               "field": "location.latitude", "value": 95, "reason": "typo"})
    assert info.value.problems == [("value", "for 'location.latitude' must be between -90 and 90")]
