"""Hypothesis strategies for reports the tracker ACCEPTS, built from the fact catalogue
(tracker.facts): every fact type but the amendments, each field drawn from its declaration
(its type, choices, ranges and lengths), every reference pointed at an entity the same
report registers. For driving the write path (POST /reports, `tracker report`) with
reports that are recorded, not only refused.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import strategies as st
from marshmallow import fields, validate

from tracker import fields as tf
from tracker.facts import FACT_TYPES

# Text as people type it: letters of several scripts, digits, punctuation, inner spaces.
TEXT = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs"),
                             exclude_characters="\u2028\u2029"),
               min_size=1, max_size=40).filter(lambda s: s.strip() != "")
IDENT = st.from_regex(r"[a-z0-9][a-z0-9._:/+-]{0,20}", fullmatch=True)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), TEXT,
                   st.floats(-1e6, 1e6, allow_nan=False))
# Facts whose fields name other entities only through `refers` / `refers_more`.
# Identity facts name two distinct records of one kind, and a generated report has one
# incident (tests/projections/test_clusters.py covers them).
SKIPPED = {"correction", "retraction", "same_incident", "distinct_incidents", "same_actor"}


def _bounds(field: fields.Field, low: float, high: float) -> tuple[float, float]:
    for v in field.validators:
        if isinstance(v, validate.Range):
            low = v.min if v.min is not None else low
            high = v.max if v.max is not None else high
    return low, high


def value(field: fields.Field) -> st.SearchStrategy[Any]:
    """A value the field's declaration allows (references are set afterwards)."""
    if isinstance(field, tf.Text):
        longest = min((v.max for v in field.validators
                       if isinstance(v, validate.Length) and v.max), default=40)
        return TEXT.map(lambda s: s[:longest]).filter(lambda s: s.strip() != "")
    if isinstance(field, tf.Ident):
        return IDENT
    if isinstance(field, tf.Day):
        return st.dates(date(1990, 1, 1), date(2025, 12, 31)).map(date.isoformat)
    if isinstance(field, tf.Count):
        low, high = _bounds(field, 0, 10_000_000)
        return st.integers(int(low), int(high)) | st.integers(0, 50)
    if isinstance(field, tf.Between):
        low, high = _bounds(field, -1e6, 1e6)
        return st.floats(low, high, allow_nan=False)
    if isinstance(field, tf.Choice):
        return st.sampled_from(field.validators[0].choices)
    if isinstance(field, tf.Flag):
        return st.booleans()
    if isinstance(field, tf.Counts):
        return st.dictionaries(st.sampled_from(["civilians", "children", "fighters"]),
                               st.integers(0, 500), max_size=2)
    if isinstance(field, tf.ScalarMap):
        return st.dictionaries(st.sampled_from(["row", "source_id", "tag"]), SCALAR,
                               max_size=3)
    if isinstance(field, fields.List):
        shortest = max((v.min or 0 for v in field.validators
                        if isinstance(v, validate.Length)), default=0)
        return st.lists(value(field.inner), min_size=shortest, max_size=3)
    if isinstance(field, fields.Nested):
        return obj(type(field.schema))
    raise AssertionError(f"no strategy for {type(field).__name__}: extend tests/"
                         "reports_strategy.py with the new field type")


def obj(schema: Any, tag: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """An object of a schema: its required fields and some optional ones."""
    declared = {n: f for n, f in schema._declared_fields.items() if n != "fact"}
    required = {f.data_key or n: value(f) for n, f in declared.items() if f.required}
    optional = {f.data_key or n: value(f) for n, f in declared.items() if not f.required}
    return st.fixed_dictionaries(required, optional=optional).map(
        lambda d: {"fact": tag, **d} if tag else d)


FACTS = {name: obj(fact_type.schema, tag=name) for name, fact_type in FACT_TYPES.items()
         if name not in SKIPPED}


@st.composite
def reports(draw: st.DrawFn, number: int) -> dict[str, Any]:
    """A report registering a group, a person, an incident and an operation (all with ids
    of their own, `number` keeping them apart from other reports'), and facts of every other
    kind naming them."""
    ids = {"group": f"g{number}", "person": f"p{number}", "incident": f"i{number}",
           "operation": f"o{number}"}
    group = {**draw(FACTS["actor"]), "id": ids["group"], "kind": "armed_group"}
    person = {**draw(FACTS["actor"]), "id": ids["person"], "kind": "person"}
    operation = {**draw(FACTS["operation"]), "id": ids["operation"], "lead": ids["group"]}
    if "partners" in operation:
        operation["partners"] = [ids["person"]][:len(operation["partners"])]
    incident = {**draw(FACTS["incident"]), "id": ids["incident"]}
    incident.pop("date_end", None)
    incident["location"].pop("latitude", None), incident["location"].pop("longitude", None)
    if draw(st.booleans()):
        incident["location"].update(latitude=draw(st.floats(-90, 90)),
                                    longitude=draw(st.floats(-180, 180)))
    if "actors" in incident:
        incident["actors"] = [{**a, "actor": ids["group"]} for a in incident["actors"][:1]]
    if "operation" in incident:
        incident["operation"] = ids["operation"]
    others = draw(st.lists(st.sampled_from(sorted(set(FACTS) - {"actor", "incident",
                                                                  "operation"})),
                           max_size=6))
    facts = [group, person, operation, incident]
    for name in others:
        fact = draw(FACTS[name])
        for field, kind in FACT_TYPES[name].refers:
            if field in fact:
                fact[field] = ids["person"] if field == "person" else ids[
                    "group" if kind == "actor" else kind]
        facts.append(fact)
    keep_to_the_rules(facts)
    return {"report": f"fuzz-{number}",
            "source": {"name": draw(TEXT), "kind": draw(st.sampled_from(
                ["official", "media", "ngo", "dataset", "analyst", "local_partner", "other"])),
                       **({"published": draw(value(tf.Day()))} if draw(st.booleans())
                          else {})},
            "facts": facts}


def keep_to_the_rules(facts: list[dict[str, Any]]) -> None:
    """What the fields' declarations cannot say and docs/report-format.md's rules do: each
    generated value is moved just far enough to keep to them (the values stay drawn)."""
    # Dates do not contradict each other: a person's death, capture or role's end is not
    # before a role began, an operation's status does not change before it started.
    since = max((f["since"] for f in facts if f["fact"] == "role" and "since" in f),
                default=None)
    started = next((f.get("started") for f in facts if f["fact"] == "operation"), None)
    for fact in facts:
        floor = {"death": since, "capture": since, "role_ended": since,
                 "operation_status": started}.get(fact["fact"])
        if floor is not None and fact.get("date") is not None and fact["date"] < floor:
            fact["date"] = floor
    for fact in facts:
        # A figure written by hand holds low <= killed <= high (a dataset's may not, but
        # the source kind is drawn apart from the facts): the range is widened to hold it.
        if fact["fact"] in ("casualties", "assessment"):
            if fact.get("low") is not None:
                fact["low"] = min(fact["low"], fact["killed"])
            if fact.get("high") is not None:
                fact["high"] = max(fact["high"], fact["killed"])
    for fact in facts:
        # An alias may find one actor only (docs/report-format.md, `alias`): each is made
        # its actor's own by a tail no generated name or id can hold ("~" is not in TEXT).
        if fact["fact"] == "actor" and "aliases" in fact:
            fact["aliases"] = [f"{a} ~{fact['id']}" for a in fact["aliases"]]
        elif fact["fact"] == "alias":
            fact["alias"] = f"{fact['alias']} ~{fact['actor']}"
