"""The API's blueprints, one module per group of resources."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser


class QueryParser(FlaskParser):
    """webargs' parser, refusing unknown query parameters (422) as our schemas say
    (webargs ignores them in the query string by default)."""

    DEFAULT_UNKNOWN_BY_LOCATION: dict[str, str | None] = {"query": RAISE}


class TrackerBlueprint(Blueprint):
    """flask-smorest's Blueprint, parsing arguments with QueryParser."""

    ARGUMENTS_PARSER = QueryParser()
