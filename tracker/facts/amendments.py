"""Amendments: a correction changes one field of an incident, actor or operation (the old
value is kept in its history); a retraction withdraws an entity, or a whole report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracker.exceptions import FactError
from tracker.facts.base import (
    CLEARABLE,
    CORRECTABLE,
    FactSchema,
    FactType,
    Tag,
    as_left,
    register,
)
from tracker.fields import (
    AnyValue,
    FormatSchema,
    Ident,
    Invalid,
    LongText,
    NestedInvalid,
    Object,
    Text,
)
from tracker.wording import word_for

if TYPE_CHECKING:
    from tracker.facts.base import UnitOfWork
    from tracker.reports import Fact

TARGET_KINDS = ("incident", "actor", "operation")


class Target(FormatSchema):
    """What an amendment is about: exactly one of these."""

    incident = Ident()
    actor = Ident()
    operation = Ident()
    report = Ident(doc="retractions only: withdraw a whole report")


def _one_target(data: dict[str, Any], allowed: tuple[str, ...]) -> list[tuple[str, str]]:
    target = data["target"]
    if len(target) != 1 or next(iter(target)) not in allowed:
        return [("target", "must name exactly one of: " + ", ".join(allowed))]
    return []


class CorrectionFact(FactSchema):
    fact = Tag("correction")
    target = Object(Target, required=True)
    field = Text(required=True, doc="the field to change; what each kind allows is listed "
                                    "in docs/report-format.md")
    value = AnyValue(required=True, allow_none=True,
                     doc="the new value, checked as the field's own; null clears a field "
                         "the entity may lack (docs/report-format.md lists them)")
    reason = LongText(required=True)

    @staticmethod
    def check_whole(data: dict[str, Any]) -> list[tuple[str, str]]:
        problems = _one_target(data, TARGET_KINDS)
        if problems:
            return problems
        kind = next(iter(data["target"]))
        allowed = CORRECTABLE[kind]
        name = data["field"]
        if name not in allowed:
            return [("field", f"{kind} field {name!r} cannot be corrected; correctable: "
                     + ", ".join(allowed))]
        if data["value"] is None:
            if name in CLEARABLE[kind]:
                return []
            return [("value", f"for {name!r} must be given: every {kind} has one (null "
                     f"clears only {kind} fields {', '.join(CLEARABLE[kind])}; a list is "
                     "emptied with [])")]
        try:
            data["value"] = allowed[name](data["value"])
        except NestedInvalid as e:
            return [(f"value.{p}", m) for p, m in e.problems]
        except Invalid as e:
            return [("value", f"for {name!r} {e}")]
        return []


class RetractionFact(FactSchema):
    fact = Tag("retraction")
    target = Object(Target, required=True)
    reason = LongText(required=True)

    @staticmethod
    def check_whole(data: dict[str, Any]) -> list[tuple[str, str]]:
        return _one_target(data, (*TARGET_KINDS, "report"))


def apply_correction(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    kind, key = next(iter(d["target"].items()))
    agg = uow.require(fact, f"target.{kind}", kind, key)
    value = d["value"]
    refs = {("incident", "operation"): "operation", ("operation", "lead"): "actor"}
    if (kind, d["field"]) in refs:
        uow.require_known(fact, "value", refs[(kind, d["field"])], value)
    if d["field"] in ("actors", "partners"):
        for i, ref in enumerate(value):
            uow.require_known(fact, f"value.{i}", "actor",
                              ref["actor"] if isinstance(ref, dict) else ref)
    if kind == "incident" and d["field"] in ("date", "date_end"):
        # As the report leaves them: a report may move both dates (a dataset re-import).
        dates = as_left(uow, agg.details, kind, key, ("date", "date_end"))
        if dates["date"] is not None and dates["date_end"] is not None \
                and str(dates["date_end"]) < str(dates["date"]):
            raise FactError(fact.index, "value", f"would put the incident's date_end "
                            f"{dates['date_end']} before its date {dates['date']}")
    if kind == "incident" and d["field"] in COORDINATES:
        # Both or neither, as for an incident fact; as the report leaves them.
        where = as_left(uow, agg.details, kind, key, COORDINATES)
        given = [f.removeprefix("location.") for f in COORDINATES if where[f] is not None]
        if len(given) == 1:
            lacking = "longitude" if given == ["latitude"] else "latitude"
            raise FactError(fact.index, "value", f"would leave the incident with a "
                            f"{given[0]} and no {lacking}: coordinates are given both or "
                            f"neither (correct location.{lacking} in the same report, or "
                            "clear both with null)")
    if kind == "actor" and d["field"] == "aliases":
        from tracker.facts.actors import check_new_aliases

        check_new_aliases(uow, fact, "value", agg, key, value)
        uow.note_names(key, value)
    if kind == "actor" and d["field"] == "name":
        uow.check_name(fact, "value", key, value)
        uow.note_names(key, [value])
    if kind == "actor" and d["field"] == "kind" and value != "person" and agg.roles:
        held = ", ".join(f"{r['role']} in {r['group']}" for r in
                         sorted(agg.roles.values(), key=lambda r: (r["group"], r["role"])))
        raise FactError(fact.index, "value", f"actor '{key}' holds roles ({held}): only a "
                        "person holds roles, so it stays a person while it does (if they "
                        "ended, record that first with role_ended facts; if they were "
                        "recorded wrongly, retract the reports that gave them)")
    if kind == "actor" and d["field"].startswith("fate.") and agg.fate is None:
        raise FactError(fact.index, "field", f"actor '{key}' has no recorded death, capture "
                        "or release to correct")
    agg.correct(d["field"], value, d["reason"], uow.prov(fact, kind, key))
    uow.touch(kind, agg)


COORDINATES = ("location.latitude", "location.longitude")


def apply_retraction(uow: UnitOfWork, fact: Fact) -> None:
    d = fact.data
    kind, key = next(iter(d["target"].items()))
    agg = uow.require(fact, f"target.{kind}", kind, key)
    if kind != "report":
        agg.retract(d["reason"], uow.prov(fact, kind, key))
        uow.touch(kind, agg)
        return
    withdrawn = [k for kind_, k in agg.entities if kind_ == "report"]
    if withdrawn:
        # Undoing a retraction would bring back claims withdrawn for a reason; the facts
        # are sent again, in a new report, instead.
        raise FactError(fact.index, "target.report", f"report '{key}' retracted "
                        f"{word_for(len(withdrawn), 'report')} "
                        f"{', '.join(withdrawn)}; a retraction cannot be retracted: send "
                        "the withdrawn facts again in a new report")
    agg.retract(d["reason"], uow.prov(fact, "report", key))
    uow.touch("report", agg)
    for ref_kind, ref_key in agg.entities:
        entity = uow.find(ref_kind, ref_key)
        entity.retract_report(key, d["reason"], uow.prov(fact, ref_kind, ref_key))
        uow.touch(ref_kind, entity)


def _target(d: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in d["target"].items() if k != "report"]


register(
    FactType("correction", CorrectionFact, apply_correction, refers_more=_target, order=7),
    FactType("retraction", RetractionFact, apply_retraction, refers_more=_target, order=7),
)
