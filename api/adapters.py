"""The one place where the API relies on a private method of flask-smorest (0.47).

`TrackerApi._register_error_handlers`: flask-smorest registers its own error handlers in
`Api.init_app` (an HTML-free but differently shaped JSON); the tracker has one error shape
for every error (api.errors), so the library's registration is turned off here.
tests/test_adapters.py checks `init_app` still calls it, so an upgrade that renames it
fails there instead of silently answering errors in two shapes.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Api
from marshmallow import fields

from api.schemas import ErrorSchema
from tracker.facts import FACT_TYPES
from tracker.reports import FactField


class TrackerApi(Api):
    """flask-smorest's Api with our error shape: our handlers, our ErrorSchema."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        """Ours are registered by api.errors (one shape for every error)."""


def document_facts(api: Api) -> None:
    """Shows each fact of a report as a `oneOf` of the fact catalogue's schemas, chosen by
    the `fact` field (an OpenAPI discriminator), so that clients and code generators see
    every fact type's fields. Uses apispec's public attribute-function hook."""

    def fact_alternatives(converter: Any, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
        if not isinstance(field, FactField):
            return {}
        refs = {name: converter.resolve_nested_schema(fact_type.schema)
                for name, fact_type in FACT_TYPES.items()}
        return {"oneOf": list(refs.values()), "discriminator": {
            "propertyName": "fact", "mapping": {n: r["$ref"] for n, r in refs.items()}}}

    api.ma_plugin.converter.add_attribute_function(fact_alternatives)
