"""The read model's tables: one set per generation (blue/green rebuilds), the same on SQLite
and PostgreSQL (SQLAlchemy Core writes each dialect's DDL).

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
    Float,
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
    return md


# What the read model's columns hold follows the limits of the report format
# (tracker.fields): figures are 64-bit (a figure is at most 10,000,000, so no sum of them
# overflows), a name at most MAX_NAME characters; a case-folded name may grow (German ß ->
# ss; at most three characters for one), so the columns holding folded text are wider.
# SCHEMA_VERSION names this layout; stores made by an older one are migrated (store.py).
SCHEMA_VERSION = 2
NAME = 200        # tracker.fields.MAX_NAME
FOLDED = 3 * NAME
FIGURE = BigInteger


def _fig_columns() -> list[Column]:  # type: ignore[type-arg]
    return [Column("best", FIGURE, nullable=False), Column("low", FIGURE, nullable=False),
            Column("high", FIGURE, nullable=False)]


def generation_metadata(gen: int) -> MetaData:
    """The tables of generation `gen`, with their primary keys (what folding needs)."""
    p = f"g{gen}_"
    md = MetaData()
    Table(f"{p}incidents", md,
          Column("oid", String(32), primary_key=True),
          Column("valid_from", BigInteger, primary_key=True, autoincrement=False),
          Column("valid_to", BigInteger),
          Column("key", String(200), nullable=False),
          Column("live", Integer, nullable=False),
          Column("date", String(10)),
          Column("type", String(64)),
          Column("subtype", String(200)),
          Column("country", String(200)),
          Column("country_k", String(FOLDED)),
          Column("admin1", String(200)),
          Column("admin1_k", String(FOLDED)),
          Column("operation", String(200)),
          Column("latitude", Float),
          Column("longitude", Float),
          *_fig_columns(),
          Column("civilians", FIGURE),
          Column("wounded", FIGURE),
          Column("doc", Text, nullable=False))
    Table(f"{p}links", md,
          Column("oid", String(32), primary_key=True),
          Column("kind", String(1), primary_key=True),
          Column("ref", String(FOLDED), primary_key=True),
          Column("valid_from", BigInteger, primary_key=True, autoincrement=False),
          Column("valid_to", BigInteger),
          Column("key", String(200), nullable=False),
          Column("date", String(10)),
          # The actor's own figures; NULL: the incident's (see casualty_tallies).
          Column("best", FIGURE), Column("low", FIGURE), Column("high", FIGURE))
    Table(f"{p}tallies", md,
          Column("dim", String(16), primary_key=True),
          Column("key", String(FOLDED), primary_key=True),
          Column("valid_from", BigInteger, primary_key=True, autoincrement=False),
          Column("valid_to", BigInteger),
          *_fig_columns(),
          Column("civilians", FIGURE, nullable=False),
          Column("wounded", FIGURE, nullable=False),
          Column("incidents", FIGURE, nullable=False))
    Table(f"{p}tally_keys", md,
          Column("dim", String(16), primary_key=True),
          Column("key", String(FOLDED), primary_key=True))
    Table(f"{p}docs", md,
          Column("kind", String(16), primary_key=True),
          Column("id", String(200), primary_key=True),
          Column("valid_from", BigInteger, primary_key=True, autoincrement=False),
          Column("valid_to", BigInteger),
          Column("search", Text),
          Column("doc", Text, nullable=False))
    Table(f"{p}units", md,
          Column("position", BigInteger, primary_key=True, autoincrement=False),
          Column("first", BigInteger, nullable=False),
          Column("known_at", BigInteger, nullable=False),
          Column("report", String(200)),
          Column("source", String(400)))
    return md


def generation_indexes(gen: int, md: MetaData) -> list[Index]:
    """The secondary indexes of a generation: made after a rebuild's bulk load (faster
    than keeping them up to date row by row), at once for a new empty generation."""
    p = f"g{gen}_"
    t = md.tables
    inc, links, tallies = t[f"{p}incidents"], t[f"{p}links"], t[f"{p}tallies"]
    docs, units = t[f"{p}docs"], t[f"{p}units"]
    return [
        Index(f"{p}ix_inc_date", inc.c.date.desc(), inc.c.key),
        Index(f"{p}ix_inc_country", inc.c.country_k, inc.c.date.desc(), inc.c.key),
        Index(f"{p}ix_inc_admin1", inc.c.admin1_k, inc.c.date.desc(), inc.c.key),
        Index(f"{p}ix_inc_operation", inc.c.operation, inc.c.date.desc(), inc.c.key),
        Index(f"{p}ix_inc_key", inc.c.key),
        Index(f"{p}ix_links_ref", links.c.kind, links.c.ref, links.c.date.desc(), links.c.key),
        Index(f"{p}ix_tallies_to", tallies.c.dim, tallies.c.valid_to),
        Index(f"{p}ix_tallies_from", tallies.c.dim, tallies.c.valid_from),
        Index(f"{p}ix_docs_to", docs.c.kind, docs.c.valid_to),
        Index(f"{p}ix_units_known", units.c.known_at, units.c.position),
    ]
