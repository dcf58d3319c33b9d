"""The incident filters are named once (projections.filters): every layer — the command
line's options, the API's argument and echo schemas, IncidentFilter — has exactly those, and
a value given on the command line reaches the query under its name."""

import dataclasses
import json

from click.testing import CliRunner

from api.cli import main
from api.schemas import CasualtyFiltersSchema, FilterArgsSchema, ViewArgsSchema
from projections.filters import FILTER_PARAMS
from projections.readmodel.queries import IncidentFilter
from tests.conftest import base_report

NAMES = [p.name for p in FILTER_PARAMS]


def keys(schema: type) -> list[str]:
    return [f.data_key or name for name, f in schema().fields.items()]


def test_every_layer_has_the_declared_filters_and_no_other():
    assert [f.name for f in dataclasses.fields(IncidentFilter)] == [p.field for p in FILTER_PARAMS]
    own = set(keys(ViewArgsSchema))
    assert sorted(k for k in keys(FilterArgsSchema) if k not in own) == sorted(NAMES)
    assert sorted(keys(CasualtyFiltersSchema)) == sorted(NAMES)
    for command in (["query", "incidents"], ["query", "casualties"]):
        shown = CliRunner().invoke(main, [*command, "--help"]).output
        missing = [p.option for p in FILTER_PARAMS if f"{p.option} " not in shown]
        assert not missing, (command, missing)


def test_each_filter_given_on_the_command_line_reaches_the_query_by_its_name(
        tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'events.sqlite'}")
    monkeypatch.delenv("TRACKER_REDIS_URL", raising=False)
    report = tmp_path / "report.json"
    recorded = base_report()
    # A place filter names a place some incident was recorded at (else a 422 naming it).
    recorded["facts"][2]["location"]["admin2"] = "Djenne"
    report.write_text(json.dumps(recorded))
    assert CliRunner().invoke(main, ["report", str(report)]).exit_code == 0
    given = {"country": "Mali", "admin1": "Mopti", "type": "battle", "subtype": "ambush",
             "actor": "jnim", "operation": "serval", "source": "Ministry",
             "from": "2020-01-01", "to": "2020-12-31", "min_killed": "1",
             "bbox": "-10,10,5,20", "admin2": "Djenne", "interaction": "17",
             "disorder_type": "Political violence",
             "civilian_targeting": "Civilian targeting", "type_of_violence": "1",
             "dyad": "411", "conflict_name": "Mali: Government", "figures_from": "Ministry"}
    assert sorted(given) == sorted(NAMES)
    args = [x for p in FILTER_PARAMS for x in (p.option, given[p.name])]
    result = CliRunner().invoke(main, ["query", "casualties", "--by", "country", "--json",
                                       *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    echoed = json.loads(result.output)["filters"]
    assert [k for k in NAMES if echoed.get(k) is None] == []
    assert echoed["from"] == "2020-01-01" and echoed["min_killed"] == 1
    assert echoed["bbox"] == [-10.0, 10.0, 5.0, 20.0]
