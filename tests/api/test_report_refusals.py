"""POST /reports: what a report may say given what is recorded, and how refusals and
repeats read over HTTP."""

from __future__ import annotations

from tests.conftest import base_report


def test_a_retracted_report_sent_again_is_200_saying_by_which_report(admin):
    assert admin.report(base_report()).status_code == 201
    retraction = {"report": "r-retract", "source": {"name": "Desk", "kind": "analyst"},
                  "facts": [{"fact": "retraction", "target": {"report": "r-base"},
                             "reason": "wrong place"}]}
    assert admin.report(retraction).status_code == 201
    again = admin.report(base_report())
    assert again.status_code == 200
    assert again.json["recorded"] is False
    assert again.json["retracted"] == {"by": "r-retract", "reason": "wrong place"}
    live = admin.report(retraction)
    assert live.status_code == 200 and "retracted" not in live.json


def test_fields_cleared_by_null_corrections_read_back_everywhere(admin, public):
    """A correction to null (docs/report-format.md, `correction`) clears an optional field:
    every view, export and lookup reads the entity without it."""
    desk = {"name": "Desk", "kind": "analyst"}
    first = base_report()
    first["facts"] += [
        {"fact": "operation", "id": "op", "name": "Op", "lead": "france",
         "started": "2020-01-01", "notes": "n"},
        {"fact": "actor", "id": "ghali", "name": "Iyad Ag Ghali", "kind": "person",
         "country": "Mali", "title": "emir"},
    ]
    first["facts"][2].update(operation="op", date_end="2020-11-13", subtype="Armed clash",
                             attributes={"interaction": 12}, notes="n")
    first["facts"][2]["location"].update(latitude=15.0, longitude=-4.0, admin2="Mopti",
                                         admin3="Niaki", region="Western Africa",
                                         geo_precision=1)
    assert admin.report(first).status_code == 201
    from tracker.facts import CLEARABLE

    fixes = [{"fact": "correction", "target": {kind: key}, "field": name, "value": None,
              "reason": "not known after all"}
             for kind, key in (("incident", "niaki"), ("actor", "ghali"), ("operation", "op"))
             for name in CLEARABLE[kind]]
    posted = admin.report({"report": "r-clear", "source": desk, "facts": fixes})
    assert posted.status_code == 201, posted.json
    at = f"min_position={posted.json['positions'][-1]}"
    incident = public.get(f"/incidents/niaki?{at}").json
    assert incident["operation"] is None and incident["date_end"] is None
    assert incident["location"].get("latitude") is None
    assert incident["location"].get("admin1") is None
    assert incident["killed"]["best"] == 30
    listed = public.get(f"/incidents?{at}").json["incidents"]
    assert [i["id"] for i in listed] == ["niaki"]
    csv = public.get(f"/incidents.csv?{at}")
    assert csv.status_code == 200 and "niaki" in csv.data.decode()
    geojson = public.get(f"/incidents.geojson?{at}")
    assert geojson.status_code == 200
    [feature] = geojson.json["features"]
    assert feature["geometry"] is None
    for by in ("admin1", "admin2", "operation", "country", "type", "month", "actor"):
        tally = public.get(f"/casualties?by={by}&{at}")
        assert tally.status_code == 200, (by, tally.json)
        # No longer under an operation: the tally by operation has nothing to count.
        assert tally.json["total"]["best"] == (0 if by == "operation" else 30), by
    operation = public.get(f"/operations/op?{at}").json
    assert operation["started"] is None
    actor = public.get(f"/actors/ghali?{at}").json
    assert actor.get("country") is None and actor.get("title") is None
    assert public.client.get("/").status_code == 200  # the dashboard
