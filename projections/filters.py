"""The incident filters, named once: the parameter each is in the API's query strings and in
the `filters` its answers echo, the option it is on the command line, the field of
`IncidentFilter` it sets, and what it filters.

The layers read their names from here: the command line builds its options (`api/cli/reads.py`)
and `IncidentFilter` reads parsed arguments and echoes itself by them; the API's argument
schema (`api.schemas.FilterArgsSchema`, which validates each value) and its echo schema
declare one field per filter, and tests/test_filters_declared.py holds every layer to this
list. Adding a filter: a line here, its field in `IncidentFilter` and its condition in
`IncidentQueries._incident_filter` (projections/views/incidents.py), its field in the two API
schemas, and its line in docs/api.md.

Kept free of heavy imports: `tracker --help` reads it.
"""

from __future__ import annotations

from typing import NamedTuple


class FilterParam(NamedTuple):
    name: str    # the API's query parameter and echoed key; the CLI's --option (dashes)
    field: str   # the IncidentFilter field it sets
    help: str    # what it keeps, for the command line's help
    number: bool = False  # a whole number (else text, checked by the API's schema)

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def attribute(self) -> str:
        """Where the API's schema loads it (a Python keyword gets a trailing underscore)."""
        return "from_" if self.name == "from" else self.name


FILTER_PARAMS: tuple[FilterParam, ...] = (
    FilterParam("country", "country", "A country's name (any case)."),
    FilterParam("admin1", "admin1", "An admin1 name (every country's), or "
                "'Mali / Mopti'."),
    FilterParam("type", "type", "An incident type, or a dataset's label for one (ACLED's "
                "event_type, UCDP's type of violence), any case."),
    FilterParam("subtype", "subtype", "An incident subtype (any case)."),
    FilterParam("actor", "actor", "An actor's id, name or alias."),
    FilterParam("operation", "operation", "An operation's id."),
    FilterParam("source", "source", "A source's name: the incidents it reported on."),
    FilterParam("from", "date_from", "Event date, from: YYYY-MM-DD."),
    FilterParam("to", "date_to", "Event date, to (inclusive): YYYY-MM-DD."),
    FilterParam("min_killed", "min_killed", "Only incidents with at least this many killed "
                "(best).", number=True),
    FilterParam("bbox", "bbox", "minlon,minlat,maxlon,maxlat (WGS84 degrees)."),
    FilterParam("admin2", "admin2", "An admin2 name, or 'Mali / Mopti / Djenné'."),
    FilterParam("interaction", "interaction", "ACLED interaction: a code (28) or labels "
                "('State forces-Rebel group')."),
    FilterParam("disorder_type", "disorder_type", "ACLED disorder_type."),
    FilterParam("civilian_targeting", "civilian_targeting", "ACLED civilian_targeting."),
    FilterParam("type_of_violence", "type_of_violence",
                "UCDP type_of_violence: 1, 2, 3 or its label."),
    FilterParam("dyad", "dyad", "UCDP dyad: dyad_new_id or dyad_name."),
    FilterParam("conflict_name", "conflict_name",
                "UCDP conflict: conflict_new_id or conflict_name."),
    FilterParam("figures_from", "figures_from",
                "A source: the incidents it reported on, with its own figures."),
)
