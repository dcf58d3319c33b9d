"""The API's blueprints, one module per group of resources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_smorest import Blueprint
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser

F = TypeVar("F", bound=Callable[..., Any])


class QueryParser(FlaskParser):
    """webargs' parser, refusing unknown query parameters (422) as our schemas say
    (webargs ignores them in the query string by default)."""

    DEFAULT_UNKNOWN_BY_LOCATION: dict[str, str | None] = {"query": RAISE}


class TrackerBlueprint(Blueprint):
    """flask-smorest's Blueprint, parsing arguments with QueryParser."""

    ARGUMENTS_PARSER = QueryParser()

    def errors(self, *codes: int) -> Callable[[F], F]:
        """Documents a view's error responses: the one error shape (ErrorSchema)."""
        from api.schemas import ErrorSchema

        def decorate(f: F) -> F:
            for code in codes:
                f = self.alt_response(code, schema=ErrorSchema, description="Error")(f)
            return f
        return decorate
