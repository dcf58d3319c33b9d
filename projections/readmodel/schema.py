"""The read model's tables: one set per generation (blue/green rebuilds), the same on SQLite
and PostgreSQL (SQLAlchemy Core writes each dialect's DDL). Each view declares its own
tables in its module (projections.views); this module holds the store's own (generations,
layout version, stuck folds) and the limits the views' columns follow.

Every queryable row is a version: it held from log position `valid_from` (inclusive) to
`valid_to` (exclusive; NULL while it is the present). Versions start and end at the end of
a unit (the events one report recorded, which always commit together), so "as of T" is the
rows valid at the last unit end recorded by T, read from the `units` table.

- incidents: an incident per version, with the columns lists filter and sort on and its
  whole document (sources, figures, corrections, materiel) for the detail page;
- links: an incident's actors ('a', with the actor's figures) and sources ('s'), versioned
  apart from the incident, for the actor and source filters and actor tallies;
- tallies: one row per (dimension, key) per version: best, low, high, civilians, wounded,
  incidents; tally_keys lists every key ever tallied, for "as of" seeks;
- docs: versioned documents: ("group", key) leadership, ("actor", id) the actor register,
  ("operation", id) status and history;
- units: each unit's end position, first position, knowledge time (monotone, microseconds
  since the epoch), report and source.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

META_TABLE = "rm_generations"
SCHEMA_TABLE = "rm_schema"
FAILURES_TABLE = "rm_failures"
VERSIONS_TABLE = "rm_view_versions"


def meta_metadata() -> MetaData:
    md = MetaData()
    Table(META_TABLE, md,
          Column("gen", Integer, primary_key=True, autoincrement=False),
          Column("position", BigInteger, nullable=False, default=0),
          Column("status", String(16), nullable=False),
          Column("created", String(40), nullable=False))
    # The layout the generations' tables have (SCHEMA_VERSION; no row: version 1).
    Table(SCHEMA_TABLE, md, Column("version", Integer, nullable=False))
    # Where a generation's fold is stuck: the unit (first..last position) it cannot fold,
    # and why. Cleared when the generation's position moves past it.
    Table(FAILURES_TABLE, md,
          Column("gen", Integer, primary_key=True, autoincrement=False),
          Column("position", BigInteger, nullable=False),
          Column("last", BigInteger, nullable=False),
          Column("report", Text),
          Column("events", Text, nullable=False),
          Column("reason", Text, nullable=False),
          Column("first_seen", String(40), nullable=False),
          Column("last_seen", String(40), nullable=False),
          Column("attempts", Integer, nullable=False))
    # The version of each view (View.version) a generation was folded by: a view whose
    # rows change meaning without a column changing (e.g. its keys) bumps its version, and
    # a generation folded by an older one is folded again. No row: version 1.
    Table(VERSIONS_TABLE, md,
          Column("gen", Integer, primary_key=True, autoincrement=False),
          Column("view", String(32), primary_key=True),
          Column("version", Integer, nullable=False))
    return md


def view_versions() -> dict[str, int]:
    """{view name: version} of the views as this code declares them."""
    from projections.views import VIEWS

    return {view.name: view.version for view in VIEWS}


# What the read model's columns hold follows the limits of the report format
# (tracker.fields): figures are 64-bit (a figure is at most 10,000,000, so no sum of them
# overflows), a name at most MAX_NAME characters; a case-folded name may grow (German ß ->
# ss; at most three characters for one), so the columns holding folded text are wider.
# SCHEMA_VERSION names this layout; stores made by an older one are migrated (store.py).
SCHEMA_VERSION = 2
NAME = 200        # tracker.fields.MAX_NAME
FOLDED = 3 * NAME
FIGURE = BigInteger


def generation_metadata(gen: int) -> MetaData:
    """The tables of generation `gen`, as the views declare them (projections.views)."""
    from projections.views import VIEWS

    p = f"g{gen}_"
    md = MetaData()
    for view in VIEWS:
        view.tables(md, p)
    return md


def generation_indexes(gen: int, md: MetaData) -> list[Index]:
    """The secondary indexes of a generation: made after a rebuild's bulk load (faster
    than keeping them up to date row by row), at once for a new empty generation."""
    from projections.views import VIEWS

    p = f"g{gen}_"
    return [index for view in VIEWS for index in view.indexes(md.tables, p)]
